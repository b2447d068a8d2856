"""Work-queue metrics: client-go semantics 5.9, measured on a FakeClock."""

from __future__ import annotations

import pytest

from opframe.kube.clock import FakeClock
from opframe.queue.delaying import DelayingQueue
from opframe.queue.limiters import ItemExponentialFailureRateLimiter
from opframe.queue.metrics import NO_METRICS, QueueMetricsRecorder
from opframe.queue.ratelimiting import RateLimitingQueue
from opframe.queue.workqueue import WorkQueue


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []

    def depth(self, value: int) -> None:
        self.calls.append(("depth", value))

    def add(self) -> None:
        self.calls.append(("add", None))

    def queue_latency(self, seconds: float) -> None:
        self.calls.append(("queue_latency", seconds))

    def work_duration(self, seconds: float) -> None:
        self.calls.append(("work_duration", seconds))

    def retry(self) -> None:
        self.calls.append(("retry", None))


def measured_queue() -> tuple[FakeClock, QueueMetricsRecorder, RateLimitingQueue[str]]:
    clock = FakeClock()
    metrics = QueueMetricsRecorder(clock=clock)
    queue: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(), clock=clock,
                                                     metrics=metrics)
    return clock, metrics, queue


def test_5_9_adds_and_depth_follow_what_reaches_the_queue() -> None:
    _, metrics, queue = measured_queue()
    queue.add("a")
    queue.add("b")
    queue.add("a")  # already dirty: not an add
    assert (metrics.adds, metrics.depth) == (2, 2)
    queue.get()
    assert (metrics.adds, metrics.depth) == (2, 1)
    queue.shut_down()
    queue.add("c")  # ignored: not an add
    assert (metrics.adds, metrics.depth) == (2, 1)


def test_5_9_add_while_processing_is_an_add_and_counts_in_depth_until_its_get() -> None:
    _, metrics, queue = measured_queue()
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    assert (metrics.adds, metrics.depth) == (2, 1)
    queue.done("a")  # queues "a" again: no second add
    assert (metrics.adds, metrics.depth) == (2, 1)
    assert queue.get() == "a"
    assert (metrics.adds, metrics.depth) == (2, 0)


def test_5_9_queue_latency_is_from_add_to_get() -> None:
    clock, metrics, queue = measured_queue()
    queue.add("a")
    clock.step(1)
    queue.add("b")
    clock.step(2)
    queue.add("a")  # collapsed: the latency still counts from the first add
    queue.get()
    queue.get()
    assert list(metrics.queue_latencies) == [3, 2]


def test_5_9_recorder_keeps_the_first_add_time_until_the_get() -> None:
    clock = FakeClock()
    metrics = QueueMetricsRecorder(clock=clock)
    metrics.on_add("a")
    clock.step(1)
    metrics.on_add("a")
    clock.step(1)
    metrics.on_get("a")
    assert list(metrics.queue_latencies) == [2]


def test_5_9_delayed_item_is_added_and_its_latency_starts_when_it_is_ready() -> None:
    clock, metrics, queue = measured_queue()
    queue.add_after("a", 5)
    assert (metrics.adds, metrics.depth) == (0, 0)
    clock.step(7)
    assert queue.get() == "a"
    assert (metrics.adds, metrics.depth) == (1, 0)
    assert list(metrics.queue_latencies) == [0]


def test_5_9_work_duration_is_from_get_to_done() -> None:
    clock, metrics, queue = measured_queue()
    queue.add("a")
    clock.step(1)
    queue.get()
    clock.step(4)
    queue.done("a")
    assert list(metrics.work_durations) == [4]


def test_5_9_done_of_an_item_not_being_processed_records_no_work_duration() -> None:
    _, metrics, queue = measured_queue()
    queue.done("never-got")
    assert list(metrics.work_durations) == []


def test_5_9_unfinished_work_and_longest_running_processor() -> None:
    clock, metrics, queue = measured_queue()
    assert (metrics.unfinished_work_seconds(), metrics.longest_running_processor_seconds()) == (0, 0)
    queue.add("a")
    queue.add("b")
    queue.get()
    clock.step(2)
    queue.get()
    clock.step(3)
    assert metrics.unfinished_work_seconds() == 5 + 3
    assert metrics.longest_running_processor_seconds() == 5
    queue.done("a")
    assert metrics.unfinished_work_seconds() == 3
    assert metrics.longest_running_processor_seconds() == 3
    queue.done("b")
    assert (metrics.unfinished_work_seconds(), metrics.longest_running_processor_seconds()) == (0, 0)


def test_5_9_retries_count_rate_limited_adds() -> None:
    _, metrics, queue = measured_queue()
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    queue.add_rate_limited("b")
    assert metrics.retries == 3
    # The retries wait: they are not adds yet.
    assert (metrics.adds, metrics.depth) == (0, 0)


def test_5_9_sink_receives_each_observation_as_it_happens() -> None:
    clock = FakeClock()
    sink = RecordingSink()
    metrics = QueueMetricsRecorder(clock=clock, sink=sink)
    queue: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(), clock=clock,
                                                     metrics=metrics)
    queue.add("a")
    clock.step(1)
    queue.get()
    clock.step(2)
    queue.done("a")
    queue.add_rate_limited("a")
    assert sink.calls == [
        ("add", None), ("depth", 1),
        ("depth", 0), ("queue_latency", 1),
        ("work_duration", 2),
        ("retry", None),
    ]


@pytest.mark.parametrize("queue_type", [WorkQueue, DelayingQueue, RateLimitingQueue])
def test_5_9_queues_work_without_a_metrics_recorder(queue_type: type[WorkQueue[str]]) -> None:
    queue = queue_type()
    queue.add("a")
    assert queue.get() == "a"
    queue.done("a")
    assert queue.processing() == frozenset()


def test_5_9_no_metrics_accepts_every_hook() -> None:
    NO_METRICS.on_add("a")
    NO_METRICS.on_get("a")
    NO_METRICS.on_done("a")
    NO_METRICS.on_retry()
