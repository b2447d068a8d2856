"""Work-queue metrics (client-go semantics 5.9, controller-runtime 7.4).

A queue calls its ``QueueMetrics`` hooks on add, get, done and retry.
``QueueMetricsRecorder`` turns those calls into the figures controller-runtime
exports: depth, adds, queue latency (add -> get), work duration (get -> done),
unfinished work seconds, longest running processor, retries. A ``sink`` receives
each observation as it happens, so an exporter (Prometheus, in the runtime) needs
no polling for counters and histograms; the two "unfinished" gauges are computed
on read.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Hashable
from typing import Protocol

from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.queue.backlog import Backlog, State, Transition

logger = logging.getLogger("opframe.queue")

#: The recorder keeps the most recent latencies for tests and reports; older ones live
#: only in the sink's histograms, so a long-running operator's memory stays flat.
RECENT_OBSERVATIONS = 10_000


class QueueMetrics(Protocol):
    def on_add(self, item: Hashable) -> None: ...
    def on_get(self, item: Hashable) -> None: ...
    def on_done(self, item: Hashable) -> None: ...
    def on_retry(self) -> None: ...


class _NoMetrics:
    def on_add(self, item: Hashable) -> None:
        pass

    def on_get(self, item: Hashable) -> None:
        pass

    def on_done(self, item: Hashable) -> None:
        pass

    def on_retry(self) -> None:
        pass


NO_METRICS: QueueMetrics = _NoMetrics()


class QueueMetricsSink(Protocol):
    """Where a recorder sends each observation (for example Prometheus collectors)."""

    def depth(self, value: int) -> None: ...
    def add(self) -> None: ...
    def queue_latency(self, seconds: float) -> None: ...
    def work_duration(self, seconds: float) -> None: ...
    def retry(self) -> None: ...


class QueueMetricsRecorder:
    """Keeps per-item timestamps to compute latencies; totals are kept for tests and reports.

    Invariant: ``depth`` equals adds that reached the queue minus gets, as in client-go
    (an add that only marks an item dirty while it is queued is not counted).
    """

    def __init__(self, *, clock: Clock = REAL_CLOCK, sink: QueueMetricsSink | None = None, name: str = "",
                 backlog: Backlog | None = None) -> None:
        self._clock = clock
        self._sink = sink
        self.name = name
        #: Whether the queue falls behind (backlog.py), fed the depth at each add and get; logged once per change.
        self.backlog = backlog
        self._lock = threading.Lock()
        self._added_at: dict[Hashable, float] = {}
        self._started_at: dict[Hashable, float] = {}
        self.depth = 0
        self.adds = 0
        self.retries = 0
        self.queue_latencies: collections.deque[float] = collections.deque(maxlen=RECENT_OBSERVATIONS)
        self.work_durations: collections.deque[float] = collections.deque(maxlen=RECENT_OBSERVATIONS)

    def on_add(self, item: Hashable) -> None:
        with self._lock:
            self.adds += 1
            self.depth += 1
            self._added_at.setdefault(item, self._clock.now())
            depth = self.depth
        if self._sink is not None:
            self._sink.add()
            self._sink.depth(depth)
        self._observe_backlog(depth)

    def on_get(self, item: Hashable) -> None:
        with self._lock:
            now = self._clock.now()
            self.depth -= 1
            depth = self.depth
            latency = now - self._added_at.pop(item, now)
            self.queue_latencies.append(latency)
            self._started_at[item] = now
        if self._sink is not None:
            self._sink.depth(depth)
            self._sink.queue_latency(latency)
        self._observe_backlog(depth)

    def _observe_backlog(self, depth: int) -> None:
        if self.backlog is None:
            return
        transition = self.backlog.observe(depth)
        if transition is not None:
            log_backlog(self.name, transition, self.backlog.window)

    def on_done(self, item: Hashable) -> None:
        with self._lock:
            started = self._started_at.pop(item, None)
            if started is None:
                return
            duration = self._clock.now() - started
            self.work_durations.append(duration)
        if self._sink is not None:
            self._sink.work_duration(duration)

    def on_retry(self) -> None:
        with self._lock:
            self.retries += 1
        if self._sink is not None:
            self._sink.retry()

    def unfinished_work_seconds(self) -> float:
        """Sum over items being processed of how long they have been processed."""
        with self._lock:
            now = self._clock.now()
            return sum(now - started for started in self._started_at.values())

    def longest_running_processor_seconds(self) -> float:
        with self._lock:
            now = self._clock.now()
            return max((now - started for started in self._started_at.values()), default=0.0)


def log_backlog(name: str, transition: Transition, window: float) -> None:
    """The one log line of a queue's change of state, with its figures and the fix."""
    if transition.state is State.BEHIND:
        logger.warning("work queue %s is falling behind: %d keys waiting, %d %.0f s before, never empty for %.0f s; "
                       "the workers cannot keep up: raise workers (OPFRAME_WORKERS) or make the handlers faster "
                       "(workqueue_work_duration_seconds in /metrics)", name, transition.depth,
                       transition.depth_a_window_ago, window, transition.nonempty_for)
    else:
        logger.info("work queue %s caught up: %d keys waiting", name, transition.depth)
