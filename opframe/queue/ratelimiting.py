"""RateLimitingQueue: a DelayingQueue whose retries are paced by a RateLimiter (semantics 5.6).

``add_rate_limited(item)`` is ``add_after(item, limiter.when(item))``; ``forget`` and
``num_requeues`` delegate to the limiter. A retry is thus a delayed re-add of the key:
no worker sleeps while an item waits.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.queue.delaying import DelayingQueue
from opframe.queue.limiters import RateLimiter, default_controller_rate_limiter
from opframe.queue.metrics import NO_METRICS, QueueMetrics

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    def __init__(self, rate_limiter: RateLimiter | None = None, *, name: str = "",
                 clock: Clock = REAL_CLOCK, metrics: QueueMetrics = NO_METRICS) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock=clock)

    def add_rate_limited(self, item: T) -> float:
        """Re-add ``item`` after the limiter's delay; returns that delay."""
        delay = self.rate_limiter.when(item)
        self._metrics.on_retry()
        self.add_after(item, delay)
        return delay

    def retry_after(self, item: T, delay: float) -> None:
        """Re-add ``item`` after a delay chosen by the caller (a handler's own retry policy),
        counted as a retry in the queue's metrics."""
        self._metrics.on_retry()
        self.add_after(item, delay)

    def forget(self, item: T) -> None:
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
