"""The rate limiters (opframe.queue.limiters): client-go semantics 5.7 and 5.8."""

from __future__ import annotations

import pytest

from opframe.kube.clock import FakeClock
from opframe.queue.limiters import (
    DEFAULT_BASE_DELAY,
    DEFAULT_MAX_DELAY,
    DEFAULT_OVERALL_BURST,
    DEFAULT_OVERALL_QPS,
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)

from ..harness import ScriptedLimiter

# 5.7 Per-item exponential limiter


def test_5_7_exponential_limiter_doubles_from_5ms_to_cap_1000s() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    assert (DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY) == (0.005, 1000.0)
    delays = [limiter.when("a") for _ in range(22)]
    assert delays[:5] == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert delays[:18] == pytest.approx([0.005 * 2**failures for failures in range(18)])
    assert delays[17] == pytest.approx(655.36)  # the last doubling below the cap
    assert delays[18:] == [1000.0] * 4  # 1310.72 would exceed the cap
    assert limiter.num_requeues("a") == 22


def test_5_7_exponential_limiter_counts_failures_per_item() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    assert limiter.when("a") == pytest.approx(0.005)
    assert limiter.when("a") == pytest.approx(0.01)
    assert limiter.when("b") == pytest.approx(0.005)
    assert limiter.when("a") == pytest.approx(0.02)
    assert (limiter.num_requeues("a"), limiter.num_requeues("b"), limiter.num_requeues("c")) == (3, 1, 0)


def test_5_7_forget_resets_the_exponential_backoff() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    for _ in range(5):
        limiter.when("a")
    limiter.when("b")
    limiter.forget("a")
    limiter.forget("never-failed")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == pytest.approx(0.005)
    assert limiter.when("b") == pytest.approx(0.01)


def test_5_7_exponential_limiter_stays_at_the_cap_after_very_many_failures() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(2000)]  # 2**1024 would overflow a float
    assert delays[-1] == 1000.0
    assert limiter.num_requeues("a") == 2000


def test_5_7_exponential_limiter_takes_a_custom_base_and_cap() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=1, max_delay=5)
    assert [limiter.when("a") for _ in range(5)] == [1, 2, 4, 5, 5]


# 5.8 Overall bucket and the default controller limiter


def test_5_8_bucket_limiter_gives_0_for_the_first_100_then_0_1_0_2_at_10qps() -> None:
    assert (DEFAULT_OVERALL_QPS, DEFAULT_OVERALL_BURST) == (10.0, 100)
    limiter = BucketRateLimiter(clock=FakeClock())
    assert [limiter.when(f"item-{index}") for index in range(100)] == [0.0] * 100
    assert [limiter.when(f"more-{index}") for index in range(4)] == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_5_8_bucket_limiter_refills_at_10qps_on_the_clock() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(clock=clock)
    for index in range(100):
        limiter.when(index)
    clock.step(1)  # ten tokens back
    assert [limiter.when(index) for index in range(10)] == [0.0] * 10
    assert limiter.when("next") == pytest.approx(0.1)
    clock.step(0.05)  # half a token: the next one is 0.1 s after the one just reserved
    assert limiter.when("after") == pytest.approx(0.15)


def test_5_8_bucket_limiter_is_global_not_per_item() -> None:
    limiter = BucketRateLimiter(qps=1, burst=2, clock=FakeClock())
    assert limiter.when("a") == 0.0
    assert limiter.when("b") == 0.0
    assert limiter.when("c") == pytest.approx(1.0)
    limiter.forget("c")  # gives no token back
    assert limiter.when("c") == pytest.approx(2.0)
    assert limiter.num_requeues("a") == 0


def test_5_8_max_of_limiter_takes_the_longest_delay_and_every_limiter_sees_every_call() -> None:
    short, long = ScriptedLimiter(delay=1, requeues=4), ScriptedLimiter(delay=5, requeues=2)
    limiter = MaxOfRateLimiter(short, long)
    assert limiter.when("a") == 5
    assert limiter.num_requeues("a") == 4
    limiter.forget("a")
    assert short.calls == long.calls == [("when", "a"), ("num_requeues", "a"), ("forget", "a")]


def test_5_8_max_of_limiter_needs_at_least_one_limiter() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()


def test_5_8_default_controller_limiter_is_max_of_exponential_and_bucket_10qps_burst_100() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock=clock)
    # One item failing again and again: the bucket still has tokens, the exponential wins.
    hot = [limiter.when("hot") for _ in range(12)]
    assert hot == pytest.approx([0.005 * 2**failures for failures in range(12)])
    # 88 more items use up the burst of 100; each waits its own first 5 ms.
    assert [limiter.when(f"cold-{index}") for index in range(88)] == pytest.approx([0.005] * 88)
    # The bucket is empty: a new item waits for the bucket (0.1 s at 10 qps), not 5 ms...
    assert limiter.when("new") == pytest.approx(0.1)
    # ...and a long-failing item still waits its exponential delay (0.005 * 2**12).
    assert limiter.when("hot") == pytest.approx(20.48)
    assert limiter.num_requeues("hot") == 13
    # Forget clears the item's exponential count, not the global bucket.
    limiter.forget("hot")
    assert limiter.num_requeues("hot") == 0
    assert limiter.when("hot") == pytest.approx(0.3)
    clock.step(10)
    assert limiter.when("hot") == pytest.approx(0.01)
