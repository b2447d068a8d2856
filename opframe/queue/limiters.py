"""Rate limiters for retries (client-go default_rate_limiters.go, semantics 5.6-5.8).

A limiter answers "how long should this item wait before its next try?".
``when(item)`` counts a failure; ``forget(item)`` clears it after a success.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Protocol

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.kube.token_bucket import TokenBucket

#: client-go's DefaultControllerRateLimiter: the first retry after 5 ms, doubling...
DEFAULT_BASE_DELAY = 0.005
#: ...up to 1000 s (16 min 40 s), so a permanently failing item is still retried.
DEFAULT_MAX_DELAY = 1000.0
#: The overall bucket: 10 retries a second with bursts of 100, across all items,
#: so a mass failure cannot turn into a retry storm against the API server.
DEFAULT_OVERALL_QPS = 10.0
DEFAULT_OVERALL_BURST = 100


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Record a failure of ``item``; return the seconds it should wait."""
        ...

    def forget(self, item: Hashable) -> None:
        """Clear ``item``'s failures (it succeeded)."""
        ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """``base * 2**failures``, capped at ``max_delay``; per item."""

    def __init__(self, base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        with self._lock:
            exponent = self._failures.get(item, 0)
            self._failures[item] = exponent + 1
        # Past 2**1023 a float overflows; the cap is reached long before.
        if exponent > 64:
            return self.max_delay
        return min(self.base_delay * 2.0**exponent, self.max_delay)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class BucketRateLimiter:
    """One token bucket for all items; it keeps no per-item state."""

    def __init__(self, qps: float = DEFAULT_OVERALL_QPS, burst: int = DEFAULT_OVERALL_BURST, *,
                 clock: Clock = REAL_CLOCK) -> None:
        self._bucket = TokenBucket(qps, burst, clock=clock)

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait any of its limiters asks for; every limiter sees every call."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_rate_limiter(*, clock: Clock = REAL_CLOCK) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter (semantics 5.8)."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(), BucketRateLimiter(clock=clock))
