"""RateLimitingQueue (opframe.queue.ratelimiting): client-go semantics 5.6."""

from __future__ import annotations

import pytest

from opframe.kube.clock import FakeClock
from opframe.queue.metrics import QueueMetricsRecorder
from opframe.queue.ratelimiting import RateLimitingQueue

from ..harness import ScriptedLimiter
from ..harness import queued as ready

# 5.6 RateLimitingQueue


def test_5_6_add_rate_limited_adds_after_the_limiters_delay() -> None:
    clock = FakeClock()
    limiter = ScriptedLimiter(delay=3)
    queue: RateLimitingQueue[str] = RateLimitingQueue(limiter, clock=clock)
    assert queue.add_rate_limited("a") == 3
    assert limiter.calls == [("when", "a")]
    assert queue.waiting() == 1
    clock.step(2.5)
    assert ready(queue) == []
    clock.step(0.5)
    assert ready(queue) == ["a"]


def test_5_6_add_rate_limited_with_a_zero_delay_adds_at_once() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(ScriptedLimiter(delay=0), clock=FakeClock())
    assert queue.add_rate_limited("a") == 0
    assert queue.waiting() == 0
    assert ready(queue) == ["a"]


def test_5_6_forget_and_num_requeues_delegate_to_the_limiter() -> None:
    limiter = ScriptedLimiter(delay=1, requeues=7)
    queue: RateLimitingQueue[str] = RateLimitingQueue(limiter, clock=FakeClock())
    assert queue.num_requeues("a") == 7
    queue.forget("a")
    assert limiter.calls == [("num_requeues", "a"), ("forget", "a")]
    assert queue.rate_limiter is limiter


def test_5_6_add_rate_limited_counts_a_retry_in_the_metrics() -> None:
    clock = FakeClock()
    metrics = QueueMetricsRecorder(clock=clock)
    queue: RateLimitingQueue[str] = RateLimitingQueue(ScriptedLimiter(delay=1), clock=clock,
                                                     metrics=metrics)
    queue.add_rate_limited("a")
    queue.add_rate_limited("b")
    assert metrics.retries == 2
    queue.add("c")
    assert metrics.retries == 2


def test_5_6_queue_without_a_limiter_uses_the_default_controller_limiter() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    assert queue.add_rate_limited("a") == pytest.approx(0.005)
    assert queue.add_rate_limited("a") == pytest.approx(0.01)
    assert queue.num_requeues("a") == 2
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    assert queue.add_rate_limited("a") == pytest.approx(0.005)
    clock.step(0.005)
    assert ready(queue) == ["a"]
