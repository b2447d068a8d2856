"""Backoff between list/watch attempts: client-go semantics 1.2 and 1.3, on a FakeClock."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

import pytest

from opframe.cache.listwatch import Backoff
from opframe.cache.reflector import Reflector, State
from opframe.kube import errors
from opframe.kube.client import WatchEvent
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


# -- the one backoff rule: when a LIST or a re-opened WATCH waits ----------------------------------


class SteppingClock(FakeClock):
    """A FakeClock that moves by the whole timeout of every wait, as if the wait had run its course.

    A Reflector stepped in the test's own thread then backs off in fake time without a
    second thread: ``clock.now()`` before and after a step shows how long it waited.
    """

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        assert timeout is not None, "a wait without a timeout would never end here"
        self.step(timeout)


def pod(name: str, rv: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


def expired() -> WatchEvent:
    return WatchEvent("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})


def stepping_reflector(lister_watcher: ScriptedListerWatcher, store: RecordingStore,
                       clock: SteppingClock, **options: Any) -> Reflector:
    """A Reflector with the real backoff policy (no jitter) that has listed at RV 10."""
    lister_watcher.on_list([pod("a", "9")], "10")
    reflector = Reflector(lister_watcher, store, clock=clock, backoff=Backoff(clock=clock, rng=FixedRandom(0.0)),
                          rng=random.Random(1), **options)
    assert reflector.step() is State.WATCH
    return reflector


def test_watch_reset_right_after_its_headers_is_reopened_only_as_often_as_the_backoff_allows(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    opened: list[float] = []
    for _ in range(20):  # a proxy that answers every watch, then resets it at once
        lister_watcher.on_watch(lambda: opened.append(clock.now()), errors.TransportError("connection reset by peer"))
    start = clock.now()
    while clock.now() - start < 60.0:
        reflector.step()
    # Backoff delays 0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s: 7 attempts in the first minute, not hundreds.
    assert [round(t - start, 6) for t in opened] == pytest.approx([0.0, 0.8, 2.4, 5.6, 12.0, 24.8, 50.4])
    assert lister_watcher.kinds() == ["list"] + ["watch"] * 7  # re-watched from the last RV, never relisted
    assert {call.resource_version for call in lister_watcher.watch_calls} == {"10"}
    assert reflector.stats.errors == 7


def test_watch_reset_with_random_jitter_makes_at_most_one_attempt_per_backoff_delay(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    lister_watcher.on_list([pod("a", "9")], "10")
    reflector = Reflector(lister_watcher, recording_store, clock=clock,
                          backoff=Backoff(clock=clock, rng=random.Random(11)), rng=random.Random(1))
    reflector.step()
    for _ in range(40):
        lister_watcher.on_watch(errors.TransportError("connection reset by peer"))
    start = clock.now()
    while clock.now() - start < 300.0:
        reflector.step()
    # Each delay is in [d, 2d) for d = 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, then 30 s: 10 to 15 attempts in 300 s.
    attempts = len(lister_watcher.watch_calls)
    assert 10 <= attempts <= 15


def test_watch_ended_at_once_by_the_server_waits_a_backoff_then_relists(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch()  # closed cleanly at once, nothing delivered: semantics 1.10
    lister_watcher.on_list([pod("a", "9")], "11")
    assert reflector.step() is State.BACKOFF
    before = clock.now()
    assert reflector.step() is State.LIST
    assert clock.now() - before == pytest.approx(0.8)


def test_gone_in_stream_waits_a_backoff_before_the_relist(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(WatchEvent("ADDED", pod("b", "11")), expired())
    lister_watcher.on_list([pod("a", "9"), pod("b", "11")], "12")
    assert reflector.step() is State.BACKOFF
    assert lister_watcher.kinds() == ["list", "watch"]
    before = clock.now()
    assert reflector.step() is State.LIST
    assert clock.now() - before == pytest.approx(0.8)
    assert lister_watcher.kinds() == ["list", "watch"]  # the relist comes only after the wait
    assert reflector.step() is State.WATCH
    assert lister_watcher.list_calls[1].resource_version == "11"
    assert reflector.stats.errors == 0  # an expired watch is routine, not an error


def test_gone_on_every_watch_never_relists_in_a_tight_loop(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    for number in range(10):
        lister_watcher.on_watch(expired())
        lister_watcher.on_list([pod("a", "9")], str(11 + number))
    start = clock.now()
    while clock.now() - start < 60.0:
        reflector.step()
    # A relist after each backoff delay (0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s): 6 in the first minute.
    assert len(lister_watcher.list_calls) == 1 + 6


@pytest.mark.parametrize("ending", ["ended", "dropped"])
def test_healthy_watch_that_ends_is_reopened_at_once_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, ending: str) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    script: list[Any] = [WatchEvent("ADDED", pod("b", "11"))]
    if ending == "dropped":
        script.append(errors.TransportError("connection reset by peer"))
    lister_watcher.on_watch(*script)
    lister_watcher.on_watch(WatchEvent("ADDED", pod("c", "12")))
    before = clock.now()
    assert [reflector.step(), reflector.step()] == [State.WATCH, State.WATCH]
    assert clock.now() == before  # no backoff delay
    assert reflector.stats.errors == 0
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "11"]


def test_quiet_watch_that_lasted_past_the_very_short_limit_and_broke_is_reopened_at_once(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(lambda: clock.step(1.0), errors.TransportError("connection reset by peer"))
    assert reflector.step() is State.WATCH
    assert reflector.stats.errors == 0


def test_stall_of_a_long_open_watch_is_reopened_at_once_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(lambda: clock.step(90.0), errors.WatchStalledError("delivered nothing for 90 s"))
    lister_watcher.on_watch(WatchEvent("ADDED", pod("b", "11")))
    after_stall: list[float] = []
    assert reflector.step() is State.WATCH
    after_stall.append(clock.now())
    assert reflector.step() is State.WATCH
    assert clock.now() == after_stall[0]  # re-opened with no backoff delay
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "10"]
    assert (reflector.stats.stalls, reflector.stats.errors, reflector.stats.lists) == (1, 0, 1)


@pytest.mark.parametrize("failure", [
    errors.TransportError("connection refused"),
    errors.TooManyRequests(429, "slow down"),
], ids=["transport", "throttled"])
def test_watch_that_cannot_open_waits_a_backoff_before_the_next_attempt(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, failure: errors.KubeError) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch_error(failure)
    lister_watcher.on_watch_error(failure)
    assert reflector.step() is State.BACKOFF
    before = clock.now()
    assert [reflector.step() for _ in range(3)] == [State.WATCH, State.BACKOFF, State.WATCH]
    assert clock.now() - before == pytest.approx(0.8 + 1.6)
