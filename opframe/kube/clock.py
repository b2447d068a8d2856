"""Clocks: the one place that reads time, so that tests can control it.

Every part that waits or measures takes a ``Clock``. ``RealClock`` reads the
monotonic clock; ``FakeClock`` moves only when a test calls ``step()``, so
time-dependent behaviour is tested without sleeping through real delays.

Callers always wait in a loop that re-checks its condition against ``now()``;
a ``Clock.wait`` may therefore return early (spuriously) but never late.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

#: How often a FakeClock waiter re-checks the fake time: short enough that a
#: test's ``step()`` is seen at once, long enough not to spin a core.
FAKE_CLOCK_POLL_SECONDS = 0.002


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (held by the caller) until notified or about ``timeout`` seconds pass."""
        ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        condition.wait(timeout)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


REAL_CLOCK = RealClock()


class FakeClock:
    """A clock that stands still until ``step()``."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._moved = threading.Condition()

    def now(self) -> float:
        with self._moved:
            return self._now

    def step(self, seconds: float) -> None:
        with self._moved:
            self._now += seconds
            self._moved.notify_all()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        if timeout is None:
            condition.wait()
        elif timeout > 0:
            condition.wait(FAKE_CLOCK_POLL_SECONDS)

    def sleep(self, seconds: float) -> None:
        with self._moved:
            deadline = self._now + seconds
            while self._now < deadline:
                self._moved.wait()
