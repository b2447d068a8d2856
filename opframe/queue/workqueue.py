"""WorkQueue: the de-duplicating queue of object keys between an informer and its workers.

Invariants (client-go util/workqueue, semantics 5.1-5.4):

* an item is in ``_queue`` only if it is in ``_dirty``, and at most once;
* an item is never handed to two workers at once: while it is in ``_processing``
  a re-add only marks it dirty, and ``done()`` queues it again;
* adding an item that is already dirty changes nothing, so a burst of adds of one
  key while it waits collapses into one ``get()``;
* after ``shut_down()`` adds are ignored; ``get()`` keeps handing out what is
  queued and reports shutdown only when the queue is empty (workers drain);
* ``shut_down_with_drain()`` also waits until no item is being processed.

Items must be hashable; they are usually "namespace/name" keys.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.queue.metrics import NO_METRICS, QueueMetrics

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """Raised by ``get()`` once the queue is shut down and empty."""


class WorkQueue(Generic[T]):
    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK,
                 metrics: QueueMetrics = NO_METRICS) -> None:
        self.name = name
        self._clock = clock
        self._metrics = metrics
        #: guards every field; subclasses may wait on conditions of their own over it
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._queue: collections.deque[T] = collections.deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._shutting_down = False
        self._drain = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def add(self, item: T) -> None:
        with self._cond:
            self._add_locked(item)

    def _add_locked(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._metrics.on_add(item)
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._cond.notify()

    def get(self, timeout: float | None = None) -> T:
        """Block until an item is ready and hand it to the caller, who must call ``done(item)``.

        Raises ShutDown when shut down and empty; TimeoutError if ``timeout`` passes first.
        """
        with self._cond:
            deadline = None if timeout is None else self._clock.now() + timeout
            while True:
                self._before_get_locked()
                if self._queue or self._shutting_down:
                    break
                if deadline is not None and deadline <= self._clock.now():
                    raise TimeoutError(f"no item in queue {self.name!r} within {timeout} s")
                self._clock.wait(self._cond, None if deadline is None else deadline - self._clock.now())
            if not self._queue:
                raise ShutDown(self.name)
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            self._metrics.on_get(item)
            return item

    def _before_get_locked(self) -> None:
        """Hook for subclasses to move due items into the queue after every wake-up."""

    def _on_shut_down_locked(self) -> None:
        """Hook for subclasses to wake threads of their own at shutdown."""

    def done(self, item: T) -> None:
        with self._cond:
            self._metrics.on_done(item)
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify()
            elif not self._processing and self._drain:
                self._cond.notify_all()  # shut_down_with_drain waits for this; no worker does

    def shut_down(self) -> None:
        """Stop accepting adds and wake every waiter; queued items are still handed out."""
        with self._cond:
            self._shutting_down = True
            # A plain shut_down ends a drain in progress, as in client-go.
            self._drain = False
            self._cond.notify_all()
            self._on_shut_down_locked()

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        """Shut down, then wait until no item is being processed. False if ``timeout`` passed.

        As client-go's ShutDownWithDrain: workers keep taking what is queued, and this
        returns once they have finished what they hold.
        """
        with self._cond:
            self._shutting_down = True
            self._drain = True
            self._cond.notify_all()
            self._on_shut_down_locked()
            deadline = None if timeout is None else self._clock.now() + timeout
            while self._processing and self._drain:
                remaining = None if deadline is None else deadline - self._clock.now()
                if remaining is not None and remaining <= 0:
                    return False
                self._clock.wait(self._cond, remaining)
            return not self._processing

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def processing(self) -> frozenset[T]:
        with self._cond:
            return frozenset(self._processing)
