"""TokenBucket (the overall retry bucket of 5.8, and the API client's throttle)."""

from __future__ import annotations

import threading

import pytest

from opframe.kube.clock import FakeClock
from opframe.kube.token_bucket import TokenBucket

from ..harness import JOIN_SECONDS, SleepWatchingClock


def test_5_8_token_bucket_starts_full_with_burst_tokens() -> None:
    bucket = TokenBucket(qps=10, burst=100, clock=FakeClock())
    assert [bucket.reserve() for _ in range(100)] == [0.0] * 100
    assert bucket.reserve() == pytest.approx(0.1)


def test_5_8_token_bucket_spreads_a_run_of_reservations_at_qps() -> None:
    bucket = TokenBucket(qps=4, burst=1, clock=FakeClock())
    assert [bucket.reserve() for _ in range(5)] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_5_8_token_bucket_refills_at_qps_up_to_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    for _ in range(3):
        bucket.reserve()
    clock.step(1000)
    assert [bucket.reserve() for _ in range(3)] == [0.0] * 3
    assert bucket.reserve() == pytest.approx(0.1)


def test_5_8_token_bucket_elapsed_time_pays_off_reservations_in_the_future() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=10, burst=1, clock=clock)
    bucket.reserve()
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    clock.step(0.15)
    assert bucket.reserve() == pytest.approx(0.15)
    clock.step(0.3)
    assert bucket.reserve() == 0.0


def test_5_8_token_bucket_concurrent_reservations_are_each_counted_once() -> None:
    bucket = TokenBucket(qps=10, burst=5, clock=FakeClock())
    delays: list[float] = []
    lock = threading.Lock()

    def reserve_many() -> None:
        mine = [bucket.reserve() for _ in range(50)]
        with lock:
            delays.extend(mine)

    threads = [threading.Thread(target=reserve_many, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert sorted(delays) == pytest.approx([0.0] * 5 + [index / 10 for index in range(1, 396)])


def test_5_8_token_bucket_acquire_sleeps_on_the_clock_for_its_reservation() -> None:
    clock = SleepWatchingClock()
    bucket = TokenBucket(qps=10, burst=1, clock=clock)
    assert bucket.acquire() == 0.0
    assert not clock.sleeping.is_set()
    waited: list[float] = []
    thread = threading.Thread(target=lambda: waited.append(bucket.acquire()), daemon=True)
    thread.start()
    assert clock.sleeping.wait(JOIN_SECONDS)
    clock.step(0.05)
    thread.join(0.005)
    assert thread.is_alive()
    clock.step(0.06)
    thread.join(JOIN_SECONDS)
    assert not thread.is_alive()
    assert waited == [pytest.approx(0.1)]


@pytest.mark.parametrize(("qps", "burst"), [(0, 1), (-1, 1), (1, 0)], ids=["zero-qps", "negative-qps",
                                                                           "zero-burst"])
def test_5_8_token_bucket_rejects_a_rate_or_burst_that_admits_nothing(qps: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(qps=qps, burst=burst, clock=FakeClock())
