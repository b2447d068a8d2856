"""Bursts: a key that changes again and again in quick succession is handled when the changes stop
(or a bounded time after they began), not once per change.

The WorkQueue coalesces the changes that arrive while a key waits or is being processed. In an
update storm (a client writing one object many times in a row) that still leaves one handler
call for nearly every change that lands while the previous call's write is on its way: the
storm of ``make bench`` (S2) made 10 calls per object for its 20 changes. A *burst* is a run of
changes to one key, each within ``window`` seconds of the one before:

* a lone change (none within ``window`` before it) is handled at once: a key that changes once
  a second never waits;
* a change within ``window`` of the previous one makes the key ready ``window`` after it, but
  never later than ``max_delay`` after the first change not yet handled: a key that never stops
  changing is still handled every ``max_delay``.

Only changes of what handlers react to count (the controller decides it before the queue:
a change of the essence); the operator's own writes coming back through the watch, status-only
changes and new resourceVersions alone neither start nor extend a burst.

Invariants:

* ``ready <= first_pending + max_delay`` and ``ready <= last_change + window`` for every key;
  so an entry whose last change is older than ``window`` is due, and is dropped: the state
  holds only the keys changed in the last ``window`` seconds;
* ``begin(key)`` says when a worker may handle the key: 0 when it is due (and the pending
  changes count as handled from then on), else the seconds left.
"""

from __future__ import annotations

import dataclasses
import threading

from opframe.kube.clock import REAL_CLOCK, Clock


@dataclasses.dataclass(frozen=True)
class Burst:
    """One key's recent changes: when the last one came, when the first one not yet handled came
    (None: every change so far is being or has been handled), and when the key is ready."""

    last_change: float
    first_pending: float | None
    ready: float


def settle(previous: Burst | None, now: float, *, window: float, max_delay: float) -> Burst:
    """A key's burst after a change at ``now`` (pure; tested as a table)."""
    if previous is None or now - previous.last_change > window:
        return Burst(last_change=now, first_pending=now, ready=now)
    first = previous.first_pending if previous.first_pending is not None else now
    return Burst(last_change=now, first_pending=first, ready=max(now, min(now + window, first + max_delay)))


class Bursts:
    """The bursts of one queue's keys (thread-safe). ``window`` 0 turns them off: every change is
    ready at once."""

    def __init__(self, *, window: float, max_delay: float, clock: Clock = REAL_CLOCK) -> None:
        if window < 0 or max_delay < 0:
            raise ValueError("a burst's window and max_delay are seconds, not negative")
        self.window = window
        self.max_delay = max_delay
        self._clock = clock
        self._lock = threading.Lock()
        #: In the order of their last change (re-inserted on each), so the stale ones are in front.
        self._bursts: dict[str, Burst] = {}

    def change(self, key: str) -> float:
        """A change to ``key`` arrived: seconds until the key is ready (0: at once)."""
        if not self.window:
            return 0.0
        now = self._clock.now()
        with self._lock:
            burst = settle(self._bursts.pop(key, None), now, window=self.window, max_delay=self.max_delay)
            self._bursts[key] = burst
            self._drop_stale(now)
            return burst.ready - now

    def begin(self, key: str) -> float:
        """A worker took ``key``: 0 if it may handle it now (its pending changes are then handled),
        else the seconds until it is ready."""
        if not self.window:
            return 0.0
        now = self._clock.now()
        with self._lock:
            burst = self._bursts.get(key)
            if burst is None:
                return 0.0
            if burst.ready > now:
                return burst.ready - now
            self._bursts[key] = dataclasses.replace(burst, first_pending=None)
            return 0.0

    def forget(self, key: str) -> None:
        with self._lock:
            self._bursts.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._bursts)

    def _drop_stale(self, now: float) -> None:
        """Drop the entries whose last change is older than ``window``: they are due (invariant)."""
        while self._bursts:
            key = next(iter(self._bursts))
            if now - self._bursts[key].last_change <= self.window:
                return
            del self._bursts[key]
