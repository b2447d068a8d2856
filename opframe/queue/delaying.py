"""DelayingQueue: a WorkQueue whose items can be added after a delay (semantics 5.5).

Invariants:

* ``add_after(item, d)`` with ``d <= 0`` is an immediate ``add``;
* an item waits at most once: adding it again with an earlier ready time moves it
  earlier, a later ready time is ignored ("earlier ready time wins");
* waiting items are held in a min-heap by ready time, and are moved into the work
  queue by whichever ``get()`` wakes first after they are due; no thread per item
  and no background thread at all.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from typing import TypeVar

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.queue.metrics import NO_METRICS, QueueMetrics
from opframe.queue.workqueue import WorkQueue

T = TypeVar("T", bound=Hashable)


class DelayingQueue(WorkQueue[T]):
    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK,
                 metrics: QueueMetrics = NO_METRICS) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self._heap: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._sequence = itertools.count()

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
            self._cond.notify_all()

    def waiting(self) -> int:
        """How many items wait for their ready time."""
        with self._cond:
            return len(self._ready_at)

    def _before_get_locked(self) -> None:
        now = self._clock.now()
        while self._heap and self._heap[0][0] <= now:
            ready, _, item = heapq.heappop(self._heap)
            if self._ready_at.get(item) != ready:
                continue
            del self._ready_at[item]
            self._add_locked(item)

    def _next_wait_locked(self, deadline: float | None) -> float | None:
        waits = []
        if deadline is not None:
            waits.append(deadline)
        while self._heap and self._ready_at.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if self._heap:
            waits.append(self._heap[0][0])
        if not waits:
            return None
        return max(0.0, min(waits) - self._clock.now())
