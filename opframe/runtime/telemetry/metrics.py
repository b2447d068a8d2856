"""OperatorMetrics: the Prometheus series an operator exports on /metrics.

Names follow controller-runtime where one exists (workqueue_*, leader_election_master_status),
opframe_* otherwise. Counters and histograms are updated as things happen (through the
hooks of the API layer, the work queues and the controllers); the gauges that describe
"now" (unfinished work, longest running item, watch state) are computed at scrape time
by a collector, so nothing polls.

Series:
  opframe_handler_invocations_total{resource,handler}
  opframe_handler_errors_total{resource,handler}
  opframe_handler_duration_seconds{resource,handler}            histogram
  workqueue_depth{name}, workqueue_adds_total{name}, workqueue_retries_total{name}
  workqueue_queue_duration_seconds{name}, workqueue_work_duration_seconds{name}   histograms
  workqueue_unfinished_work_seconds{name}, workqueue_longest_running_processor_seconds{name}
  opframe_watch_restarts_total{resource}, opframe_relists_total{resource},
  opframe_watch_stalls_total{resource}, opframe_watch_events_total{resource}
  opframe_api_requests_total{verb,code}, opframe_api_request_duration_seconds{verb}   histogram
  leader_election_master_status{name}
  opframe_admission_requests_total{handler,outcome}, opframe_admission_duration_seconds{handler}   histogram
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from opframe.cache.reflector import ReflectorStats
from opframe.queue.backlog import Backlog
from opframe.queue.backlog import State as BacklogState
from opframe.queue.metrics import QueueMetricsRecorder

#: Handler and API latencies span milliseconds (a status patch) to minutes (a slow handler).
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _QueueSink:
    def __init__(self, metrics: OperatorMetrics, name: str) -> None:
        self._depth = metrics.queue_depth.labels(name)
        self._adds = metrics.queue_adds.labels(name)
        self._latency = metrics.queue_latency.labels(name)
        self._work = metrics.queue_work.labels(name)
        self._retries = metrics.queue_retries.labels(name)

    def depth(self, value: int) -> None:
        self._depth.set(value)

    def add(self) -> None:
        self._adds.inc()

    def queue_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def work_duration(self, seconds: float) -> None:
        self._work.observe(seconds)

    def retry(self) -> None:
        self._retries.inc()


class _LiveCollector(Collector):
    """Gauges and counters read from live objects at scrape time."""

    def __init__(self, metrics: OperatorMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        unfinished = GaugeMetricFamily("workqueue_unfinished_work_seconds",
                                       "Seconds of work in progress not yet observed by work_duration.",
                                       labels=["name"])
        longest = GaugeMetricFamily("workqueue_longest_running_processor_seconds",
                                    "Seconds the longest running item has been processed.", labels=["name"])
        behind = GaugeMetricFamily("opframe_workqueue_falling_behind", "1 while the work queue's depth has grown "
                                   "for a backlog window without it emptying (the workers cannot keep up), else 0.",
                                   labels=["name"])
        for name, recorder in self._metrics.queue_recorders():
            unfinished.add_metric([name], recorder.unfinished_work_seconds())
            longest.add_metric([name], recorder.longest_running_processor_seconds())
            if recorder.backlog is not None:
                behind.add_metric([name], 1.0 if recorder.backlog.state is BacklogState.BEHIND else 0.0)
        yield unfinished
        yield longest
        yield behind
        families = {
            "watches": CounterMetricFamily("opframe_watch_restarts", "Watches re-opened without a relist.",
                                           labels=["resource"]),
            "relists": CounterMetricFamily("opframe_relists", "LISTs after the first, per watched resource.",
                                           labels=["resource"]),
            "stalls": CounterMetricFamily("opframe_watch_stalls", "Watches closed after their inactivity timeout.",
                                          labels=["resource"]),
            "events": CounterMetricFamily("opframe_watch_events", "Watch events applied to the cache.",
                                          labels=["resource"]),
        }
        for name, stats in self._metrics.reflector_stats():
            families["watches"].add_metric([name], stats.rewatches)
            families["relists"].add_metric([name], stats.relists)
            families["stalls"].add_metric([name], stats.stalls)
            families["events"].add_metric([name], stats.events)
        yield from families.values()


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.handler_calls = Counter("opframe_handler_invocations", "Handler invocations.",
                                     ["resource", "handler"], registry=r)
        self.handler_errors = Counter("opframe_handler_errors", "Handler invocations that raised.",
                                      ["resource", "handler"], registry=r)
        self.events_dropped = Counter("opframe_watch_events_dropped", "Watch events not given to on.event "
                                      "handlers: more than the per-object bound arrived while its worker was busy.",
                                      ["resource"], registry=r)
        self.handler_duration = Histogram("opframe_handler_duration_seconds", "Handler run time.",
                                          ["resource", "handler"], buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("workqueue_depth", "Items waiting in the work queue.", ["name"], registry=r)
        self.queue_adds = Counter("workqueue_adds", "Adds to the work queue.", ["name"], registry=r)
        self.queue_retries = Counter("workqueue_retries", "Rate-limited re-adds (retries).", ["name"], registry=r)
        self.queue_latency = Histogram("workqueue_queue_duration_seconds", "Seconds an item waits before a worker "
                                       "takes it.", ["name"], buckets=LATENCY_BUCKETS, registry=r)
        self.queue_work = Histogram("workqueue_work_duration_seconds", "Seconds a worker spends on an item.",
                                    ["name"], buckets=LATENCY_BUCKETS, registry=r)
        self.api_requests = Counter("opframe_api_requests", "Requests to the API server by verb and HTTP code "
                                    "(0: no answer).", ["verb", "code"], registry=r)
        self.api_duration = Histogram("opframe_api_request_duration_seconds", "API request latency (for a watch: "
                                      "until its headers).", ["verb"], buckets=LATENCY_BUCKETS, registry=r)
        self.leader = Gauge("leader_election_master_status", "1 while this replica leads, else 0.", ["name"],
                            registry=r)
        self.admission_requests = Counter("opframe_admission_requests", "Admission reviews answered, by the "
                                          "handlers they ran and outcome (allowed, denied, timeout).",
                                          ["handler", "outcome"], registry=r)
        self.admission_duration = Histogram("opframe_admission_duration_seconds", "Time to answer an admission "
                                            "review.", ["handler"], buckets=LATENCY_BUCKETS, registry=r)
        self._lock = threading.Lock()
        self._queues: list[tuple[str, QueueMetricsRecorder]] = []
        self._reflectors: list[tuple[str, Callable[[], ReflectorStats]]] = []
        r.register(_LiveCollector(self))

    def observe_admission(self, handlers: str, outcome: str, seconds: float) -> None:
        self.admission_requests.labels(handlers, outcome).inc()
        self.admission_duration.labels(handlers).observe(seconds)

    def queue_recorder(self, name: str, backlog: Backlog | None = None) -> QueueMetricsRecorder:
        recorder = QueueMetricsRecorder(sink=_QueueSink(self, name), name=name, backlog=backlog)
        with self._lock:
            self._queues.append((name, recorder))
        return recorder

    def watch_reflector(self, name: str, stats: Callable[[], ReflectorStats]) -> None:
        with self._lock:
            self._reflectors.append((name, stats))

    def queue_recorders(self) -> list[tuple[str, QueueMetricsRecorder]]:
        with self._lock:
            return list(self._queues)

    def reflector_stats(self) -> list[tuple[str, ReflectorStats]]:
        with self._lock:
            return [(name, stats()) for name, stats in self._reflectors]

    def observe_request(self, method: str, code: int, seconds: float) -> None:
        self.api_requests.labels(method, str(code)).inc()
        self.api_duration.labels(method).observe(seconds)

    def observe_handler(self, resource: str, handler: str, seconds: float, failed: bool) -> None:
        self.handler_calls.labels(resource, handler).inc()
        self.handler_duration.labels(resource, handler).observe(seconds)
        if failed:
            self.handler_errors.labels(resource, handler).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
