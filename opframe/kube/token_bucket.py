"""A token bucket with reservations, as golang.org/x/time/rate's Limiter.Reserve.

The bucket holds up to ``burst`` tokens and refills at ``qps`` tokens a second.
``reserve()`` always takes a token, possibly one not yet refilled, and returns how
long the caller must wait before using it: 0 while the bucket has tokens, then
1/qps, 2/qps, ... for a run of reservations. So N callers reserving at once are
spread out at exactly ``qps``, and none of them is refused.

Used by the API layer's client-side throttle (blocking) and by the work queue's
overall rate limiter (as a delay).
"""

from __future__ import annotations

import threading

from opframe.kube.clock import REAL_CLOCK, Clock


class TokenBucket:
    """Invariant: ``tokens <= burst``; tokens may go negative (reservations in the future)."""

    def __init__(self, qps: float, burst: int, *, clock: Clock = REAL_CLOCK) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be > 0, got {qps}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock.now()

    def reserve(self) -> float:
        """Take one token; return the seconds to wait before it may be used (>= 0)."""
        with self._lock:
            now = self._clock.now()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def try_acquire(self) -> bool:
        """Take a token only if one is there now; never reserves a future one."""
        with self._lock:
            now = self._clock.now()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def acquire(self) -> float:
        """Take one token and sleep until it may be used. Returns the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            self._clock.sleep(delay)
        return delay
