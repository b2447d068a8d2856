"""Bursts: when a key that changes in quick succession is ready (pure table, then the keeper)."""

from __future__ import annotations

import pytest

from opframe.kube.clock import FakeClock
from opframe.queue.bursts import Burst, Bursts, settle

W, M = 0.1, 1.0  # window, max_delay


@pytest.mark.parametrize(("previous", "now", "expected"), [
    # A first change, or one long after the last: a lone change, ready at once.
    (None, 10.0, Burst(10.0, 10.0, 10.0)),
    (Burst(9.0, None, 9.0), 10.0, Burst(10.0, 10.0, 10.0)),
    (Burst(9.85, None, 9.85), 10.0, Burst(10.0, 10.0, 10.0)),  # 150 ms after: outside the window
    # Within the window of a change already handled: ready a window after this one.
    (Burst(9.95, None, 9.95), 10.0, Burst(10.0, 10.0, 10.1)),
    # Within the window of a change still pending: the first pending change is kept, the ready
    # time moves to a window after this change...
    (Burst(9.95, 9.9, 10.05), 10.0, Burst(10.0, 9.9, 10.1)),
    # ... but never beyond max_delay after the first pending change,
    (Burst(9.95, 9.05, 10.05), 10.0, Burst(10.0, 9.05, 10.05)),
    # ... nor into the past (a backlog kept it pending for longer than max_delay).
    (Burst(9.95, 8.0, 9.0), 10.0, Burst(10.0, 8.0, 10.0)),
    # Exactly a window apart is still the same burst.
    (Burst(9.9, None, 9.9), 10.0, Burst(10.0, 10.0, 10.1)),
])
def test_settle(previous: Burst | None, now: float, expected: Burst) -> None:
    got = settle(previous, now, window=W, max_delay=M)
    assert (got.last_change, got.first_pending, got.ready) == pytest.approx(
        (expected.last_change, expected.first_pending, expected.ready))


def test_a_storm_on_one_key_is_ready_once_quiet_and_at_least_every_max_delay() -> None:
    clock = FakeClock(100.0)
    bursts = Bursts(window=W, max_delay=M, clock=clock)
    assert bursts.change("ns/a") == 0.0  # the storm's first change: at once
    assert bursts.begin("ns/a") == 0.0
    handled = 1
    for _ in range(30):  # a change every 40 ms for 1.2 s: the key is never quiet for a window
        clock.step(0.04)
        assert 0 <= bursts.change("ns/a") <= W + 1e-9
        if bursts.begin("ns/a") == 0.0:
            handled += 1
    assert handled == 2  # the first change at once, then once max_delay after the first pending one
    clock.step(0.05)
    assert bursts.begin("ns/a") > 0  # 50 ms after the last change: not quiet yet
    clock.step(0.05)
    assert bursts.begin("ns/a") == 0.0  # a window after the last change: ready


def test_lone_changes_never_wait_and_other_keys_are_apart() -> None:
    clock = FakeClock(100.0)
    bursts = Bursts(window=W, max_delay=M, clock=clock)
    for _ in range(5):
        assert bursts.change("ns/a") == 0.0
        assert bursts.change("ns/b") == 0.0 if _ == 0 else True
        assert bursts.begin("ns/a") == 0.0
        clock.step(1.0)  # one change a second (S3's pace): never a burst


def test_only_recent_keys_are_kept_and_a_forgotten_key_is_due() -> None:
    clock = FakeClock(100.0)
    bursts = Bursts(window=W, max_delay=M, clock=clock)
    for i in range(1000):
        bursts.change(f"ns/o{i}")
    clock.step(0.05)
    bursts.change("ns/o0")
    bursts.change("ns/o0")
    assert bursts.begin("ns/o0") > 0
    clock.step(0.2)
    bursts.change("ns/fresh")
    assert len(bursts) == 1  # the 1,000 changed more than a window ago are dropped (they are due)
    assert bursts.begin("ns/o0") == 0.0
    bursts.change("ns/fresh")
    bursts.forget("ns/fresh")
    assert bursts.begin("ns/fresh") == 0.0 and len(bursts) == 0


def test_a_zero_window_turns_bursts_off() -> None:
    bursts = Bursts(window=0.0, max_delay=M, clock=FakeClock())
    for _ in range(10):
        assert bursts.change("ns/a") == 0.0
        assert bursts.begin("ns/a") == 0.0
    assert len(bursts) == 0
    with pytest.raises(ValueError, match="not negative"):
        Bursts(window=-1.0, max_delay=M)
