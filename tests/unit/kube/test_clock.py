"""FakeClock: time moves only on step(); waits may return early, never late."""

from __future__ import annotations

import threading

from opframe.kube.clock import REAL_CLOCK, FakeClock

from ..harness import JOIN_SECONDS, SleepWatchingClock


def test_fake_clock_stands_still_until_step() -> None:
    clock = FakeClock(start=50.0)
    assert clock.now() == 50.0
    assert clock.now() == 50.0
    clock.step(2.5)
    assert clock.now() == 52.5


def test_fake_clock_sleep_returns_once_time_is_stepped_past_its_deadline() -> None:
    clock = SleepWatchingClock()
    sleeper = threading.Thread(target=lambda: clock.sleep(10), daemon=True)
    sleeper.start()
    assert clock.sleeping.wait(JOIN_SECONDS)
    clock.step(9.5)
    sleeper.join(0.005)
    assert sleeper.is_alive()
    clock.step(0.5)
    sleeper.join(JOIN_SECONDS)
    assert not sleeper.is_alive()


def test_fake_clock_sleep_of_zero_returns_at_once() -> None:
    clock = FakeClock()
    clock.sleep(0)
    clock.sleep(-1)
    assert clock.now() == 1000.0


def test_fake_clock_wait_without_timeout_waits_for_a_notify_not_for_time() -> None:
    clock = FakeClock()
    condition = threading.Condition()
    waiting = threading.Event()
    woken = threading.Event()

    def wait() -> None:
        with condition:
            waiting.set()
            clock.wait(condition, None)
        woken.set()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    assert waiting.wait(JOIN_SECONDS)
    clock.step(1000)
    assert not woken.wait(0.005)
    with condition:  # taken only once the waiter has released it by waiting
        condition.notify_all()
    waiter.join(JOIN_SECONDS)
    assert woken.is_set()


def test_fake_clock_wait_with_a_timeout_returns_early_to_let_the_caller_recheck() -> None:
    clock = FakeClock()
    condition = threading.Condition()
    with condition:
        start = REAL_CLOCK.now()
        clock.wait(condition, 3600)
        clock.wait(condition, 0)
        clock.wait(condition, -1)
        assert REAL_CLOCK.now() - start < 1.0
    assert clock.now() == 1000.0
