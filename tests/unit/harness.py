"""The harness shared by the queue and kube tests: clocks that report waiters, threads that keep results, a drain,
a scripted rate limiter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from opframe.kube.clock import FakeClock
from opframe.queue.delaying import WAITING_LOOP_THREAD_PREFIX
from opframe.queue.workqueue import WorkQueue

#: Upper bound for a thread that should finish at once; only a failing test waits this long.
JOIN_SECONDS = 2.0


class WaitCountingClock(FakeClock):
    """A FakeClock that lets a test see that a thread has started waiting on the queue.

    ``wait`` is entered with the queue's lock held, so once the count has moved the
    waiting thread releases that lock before anything the test does next can run. The
    waits of a DelayingQueue's own waiting loop are not counted: they are not the test's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._entered = threading.Condition()
        self.waits = 0

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        if threading.current_thread().name.startswith(WAITING_LOOP_THREAD_PREFIX):
            super().wait(condition, timeout)
            return
        with self._entered:
            self.waits += 1
            self._entered.notify_all()
        super().wait(condition, timeout)

    def await_waits(self, count: int) -> None:
        with self._entered:
            assert self._entered.wait_for(lambda: self.waits >= count, JOIN_SECONDS), "nobody waited"

    def settle(self) -> None:
        """Return once a polling waiter has re-checked its condition after the last step()."""
        self.await_waits(self.waits + 2)


class SleepWatchingClock(FakeClock):
    """A FakeClock that tells the test when a thread has started sleeping on it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()

    def sleep(self, seconds: float) -> None:
        with self._moved:  # re-entrant: set before any step() can move the deadline
            self.sleeping.set()
            super().sleep(seconds)


class InThread(threading.Thread):
    """Runs ``call`` in a thread and keeps its result or exception."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._call()
        except BaseException as error:
            self.error = error

    def finish(self) -> InThread:
        self.join(JOIN_SECONDS)
        assert not self.is_alive(), "the thread is still blocked"
        return self


def soon(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (real time) until it holds: for what another thread does on its own."""
    deadline = time.monotonic() + JOIN_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def started(call: Callable[[], Any]) -> InThread:
    thread = InThread(call)
    thread.start()
    return thread


def queued(queue: WorkQueue[str]) -> list[str]:
    """Take everything queued now, without blocking, and mark it done.

    Serves the delaying and rate-limiting queues too (imported there as ``ready``): what
    they hand out at once is exactly what is ready now.
    """
    items: list[str] = []
    while True:
        try:
            item = queue.get(timeout=0)
        except TimeoutError:
            return items
        items.append(item)
        queue.done(item)


class ScriptedLimiter:
    """Answers ``when`` with a fixed delay and records every call."""

    def __init__(self, delay: float, requeues: int = 0) -> None:
        self.delay = delay
        self.requeues = requeues
        self.calls: list[tuple[str, Hashable]] = []

    def when(self, item: Hashable) -> float:
        self.calls.append(("when", item))
        return self.delay

    def forget(self, item: Hashable) -> None:
        self.calls.append(("forget", item))

    def num_requeues(self, item: Hashable) -> int:
        self.calls.append(("num_requeues", item))
        return self.requeues
