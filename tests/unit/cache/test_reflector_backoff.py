"""Backoff between list/watch attempts: client-go semantics 1.2 and 1.3, on a FakeClock."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

import pytest

from opframe.cache.listwatch import Backoff
from opframe.cache.reflector import Reflector, State
from opframe.kube import errors
from opframe.kube.clock import FakeClock

if TYPE_CHECKING:
    from conftest import RecordingStore, ScriptedListerWatcher

JOIN_SECONDS = 2.0
#: How long a test lets a thread run to show that it is still waiting.
STILL_WAITING_SECONDS = 0.03


class FixedRandom(random.Random):
    """random() always returns ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_1_2_backoff_starts_at_0_8_s_and_doubles_up_to_a_30_s_cap(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    delays = [backoff.next_delay() for _ in range(9)]
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0])


def test_1_2_jitter_puts_each_delay_in_d_to_2d(clock: FakeClock) -> None:
    highest = Backoff(clock=clock, rng=FixedRandom(0.999999))
    delays = [highest.next_delay() for _ in range(8)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert all(base <= delay < 2 * base for base, delay in zip(bases, delays, strict=True))
    assert delays[-1] == pytest.approx(60.0, abs=1e-4)


def test_1_2_random_jitter_stays_in_d_to_2d_and_capped_delays_in_30_to_60_s(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(200)]
    assert 0.8 <= delays[0] < 1.6
    assert 1.6 <= delays[1] < 3.2
    assert all(30.0 <= delay < 60.0 for delay in delays[6:])
    assert len({round(delay, 6) for delay in delays[6:]}) > 100  # jittered, not constant


def test_1_2_backoff_resets_to_0_8_s_after_two_quiet_minutes(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    assert [backoff.next_delay() for _ in range(3)] == pytest.approx([0.8, 1.6, 3.2])
    clock.step(120.0)  # not more than two minutes yet
    assert backoff.next_delay() == pytest.approx(6.4)
    clock.step(120.001)
    assert backoff.next_delay() == pytest.approx(0.8)
    assert backoff.next_delay() == pytest.approx(1.6)


def test_1_2_failures_closer_than_two_minutes_keep_growing_the_delay(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    delays = []
    for _ in range(8):
        delays.append(backoff.next_delay())
        clock.step(60.0)
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0])


class RecordingBackoff(Backoff):
    """Keeps each delay the real policy gives, and has the Reflector wait none of it."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock, rng=FixedRandom(0.0))
        self.delays: list[float] = []

    def next_delay(self) -> float:
        self.delays.append(super().next_delay())
        return 0.0


def test_1_3_each_failed_attempt_waits_one_backoff_delay_growing_until_success(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    for _ in range(3):
        lister_watcher.on_list_error(errors.ServerError(500, "down"))
    lister_watcher.on_list([], "10")
    backoff = RecordingBackoff(clock)
    reflector = Reflector(lister_watcher, recording_store, clock=clock, backoff=backoff)
    states = [reflector.step() for _ in range(7)]
    assert states == [State.BACKOFF, State.LIST] * 3 + [State.WATCH]
    assert backoff.delays == pytest.approx([0.8, 1.6, 3.2])
    assert lister_watcher.kinds() == ["list"] * 4


def test_1_2_backoff_step_waits_on_the_clock_for_the_whole_delay(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list_error(errors.ServerError(500, "down"))
    reflector = Reflector(lister_watcher, recording_store, clock=clock,
                          backoff=Backoff(clock=clock, rng=FixedRandom(0.0)))
    assert reflector.step() is State.BACKOFF
    waiter = threading.Thread(target=reflector.step, daemon=True)
    waiter.start()
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    clock.step(0.5)
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    clock.step(0.3)  # 0.8 s in all: the first delay
    waiter.join(JOIN_SECONDS)
    assert not waiter.is_alive()
    assert reflector.state is State.LIST
    assert lister_watcher.kinds() == ["list"]
