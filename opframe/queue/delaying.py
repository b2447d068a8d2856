"""DelayingQueue: a WorkQueue whose items can be added after a delay (semantics 5.5).

Invariants:

* ``add_after(item, d)`` with ``d <= 0`` is an immediate ``add``;
* an item waits at most once: adding it again with an earlier ready time moves it
  earlier, a later ready time is ignored ("earlier ready time wins");
* waiting items are held in a min-heap by ready time and enter the work queue at their
  ready time, in ready-time order, as in client-go's waitingLoop: ``len()``, the order
  ``get()`` hands items out in and the depth metric are right from that moment, with no
  ``get()`` needed. A ``get()`` also moves whatever is due before it looks, so a worker
  never waits for an item that is due (and a test on a FakeClock needs no thread to race);
* no thread per item: one waiting-loop thread per queue, started by the first
  ``add_after`` with a positive delay (a queue that never delays has none). It sleeps on
  the queue's Clock until the earliest ready time, is woken by every ``add_after`` and by
  shutdown, ends at shutdown (items still waiting are dropped, as in client-go) or once the
  queue is garbage collected, and is a daemon: it never keeps the process alive;
* workers blocked in ``get()`` wait for the queue alone, never for a ready time: an
  ``add_after`` wakes the waiting loop only, and an item that comes due wakes one worker
  (the loop's ``add``), as client-go's workers wait on the queue's condition and only its
  waitingLoop watches the clock. (Waking every worker on each ``add_after``, and having each
  sleep until the earliest ready time, made 8 workers wait 3,194 times for 200 delayed items,
  where now they wait about once per item: tests/unit/queue/test_delaying.py.)
"""

from __future__ import annotations

import heapq
import itertools
import threading
import weakref
from collections.abc import Hashable
from typing import Any, TypeVar

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.queue.metrics import NO_METRICS, QueueMetrics
from opframe.queue.workqueue import WorkQueue

T = TypeVar("T", bound=Hashable)

#: Names of the waiting-loop threads start with this (a test clock may tell them apart by it).
WAITING_LOOP_THREAD_PREFIX = "waiting-loop"


class DelayingQueue(WorkQueue[T]):
    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK,
                 metrics: QueueMetrics = NO_METRICS) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self._heap: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._sequence = itertools.count()
        # The waiting loop sleeps on a condition of its own over the queue's lock, so that
        # the notify of an add, meant for a worker blocked in get(), never wakes it instead.
        self._timer = threading.Condition(self._lock)
        self._waiting_loop: threading.Thread | None = None

    def add_after(self, item: T, delay: float) -> None:
        if delay <= 0:
            self.add(item)
            return
        with self._cond:
            if self._shutting_down:
                return
            ready = self._clock.now() + delay
            known = self._ready_at.get(item)
            if known is not None and known <= ready:
                return
            self._ready_at[item] = ready
            # The old heap entry, if any, becomes stale: it no longer matches _ready_at.
            heapq.heappush(self._heap, (ready, next(self._sequence), item))
            self._timer.notify()  # only the waiting loop re-computes its wait; workers wait for the queue
            if self._waiting_loop is None:
                self._start_waiting_loop_locked()

    def waiting(self) -> int:
        """How many items wait for their ready time."""
        with self._cond:
            return len(self._ready_at)

    @property
    def waiting_loop(self) -> threading.Thread | None:
        """The thread that moves items into the queue at their ready time; None until the first delay."""
        with self._cond:
            return self._waiting_loop

    def _start_waiting_loop_locked(self) -> None:
        thread = threading.Thread(
            target=_waiting_loop, args=(weakref.ref(self), self._timer, self._clock),
            name=f"{WAITING_LOOP_THREAD_PREFIX}-{self.name or id(self)}", daemon=True)
        # Collecting a queue nobody shut down wakes its loop, which then ends (at interpreter
        # exit nothing is woken: the daemon thread just stops).
        weakref.finalize(self, _wake, self._timer).atexit = False
        thread.start()
        self._waiting_loop = thread

    def _next_ready_locked(self) -> float | None:
        """The earliest ready time of a waiting item, dropping stale heap entries on the way."""
        while self._heap and self._ready_at.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _move_due_locked(self) -> float | None:
        """Move every item whose ready time has come into the queue, earliest first.

        Returns the seconds until the next ready time, or None when nothing waits. Called
        by the waiting loop at each ready time and by ``get()`` before it looks.
        """
        now = self._clock.now()
        while (ready := self._next_ready_locked()) is not None:
            if ready > now:
                return ready - now
            _, _, item = heapq.heappop(self._heap)
            del self._ready_at[item]
            self._add_locked(item)  # ignored after shutdown: waiting items are dropped
        return None

    def _before_get_locked(self) -> None:
        self._move_due_locked()

    def _on_shut_down_locked(self) -> None:
        self._timer.notify_all()


def _waiting_loop(queue_ref: weakref.ReferenceType[DelayingQueue[Any]], timer: threading.Condition,
                  clock: Clock) -> None:
    """client-go's waitingLoop: move due items in, sleep until the next ready time, repeat.

    Holds the queue only weakly between rounds, so that a queue dropped without a
    shutdown is collected and its loop ends.
    """
    with timer:
        while True:
            queue = queue_ref()
            if queue is None or queue._shutting_down:
                return
            wait = queue._move_due_locked()
            del queue
            if queue_ref() is None:
                return
            clock.wait(timer, wait)


def _wake(timer: threading.Condition) -> None:
    with timer:
        timer.notify_all()
