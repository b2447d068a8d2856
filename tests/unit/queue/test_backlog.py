"""Backlog: when a work queue falls behind and catches up (pure table, the state machine, the log line)."""

from __future__ import annotations

import logging

import pytest

from opframe.kube.clock import FakeClock
from opframe.queue.backlog import Backlog, Sample, State, falling_behind
from opframe.queue.metrics import QueueMetricsRecorder


@pytest.mark.parametrize(("start", "depth", "since", "now", "behind"), [
    (Sample(40.0, 10), 50, 30.0, 100.0, True),  # non-empty for 70 s, deeper than a minute ago
    (Sample(40.0, 10), 10, 30.0, 100.0, False),  # as deep as a minute ago: not growing
    (Sample(40.0, 90), 50, 30.0, 100.0, False),  # shrinking: working a backlog off
    (Sample(40.0, 10), 50, 45.0, 100.0, False),  # non-empty for 55 s only
    (None, 50, 30.0, 100.0, False),  # no sample reaches back a minute
    (Sample(40.0, 10), 0, None, 100.0, False),  # empty
])
def test_falling_behind(start: Sample | None, depth: int, since: float | None, now: float, behind: bool) -> None:
    assert falling_behind(start, depth, since, now, 60.0) is behind


def test_a_queue_growing_for_a_window_falls_behind_once_and_catches_up_when_shrinking() -> None:
    clock = FakeClock(0.0)
    backlog = Backlog(window=60.0, clock=clock)
    transitions = []
    for second in range(120):  # one more key a second, never empty
        transitions.append(backlog.observe(second + 1))
        clock.step(1.0)
    behind = [t for t in transitions if t is not None]
    assert len(behind) == 1 and behind[0].state is State.BEHIND
    assert behind[0].depth > behind[0].depth_a_window_ago and behind[0].nonempty_for >= 60
    assert backlog.detail() is not None and "falling behind" in (backlog.detail() or "")
    assert backlog.observe(121) is None  # still growing: nothing new to say
    clock.step(1.0)
    for depth in range(121, 50, -1):  # the workers work it off
        transition = backlog.observe(depth)
        clock.step(1.0)
        if transition is not None:
            assert transition.state is State.KEEPING_UP
            break
    else:
        pytest.fail("never caught up")
    assert backlog.detail() is None


def test_a_large_initial_backlog_worked_off_is_not_falling_behind() -> None:
    clock = FakeClock(0.0)
    backlog = Backlog(window=60.0, clock=clock)
    assert backlog.observe(100_000) is None
    for depth in range(100_000, 0, -500):  # 500 keys a second for 200 s
        clock.step(1.0)
        assert backlog.observe(depth) is None
    assert backlog.observe(0) is None and backlog.state is State.KEEPING_UP


def test_an_emptied_queue_catches_up_and_the_recorder_logs_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(0.0)
    recorder = QueueMetricsRecorder(clock=clock, name="things", backlog=Backlog(window=10.0, clock=clock))
    with caplog.at_level(logging.INFO, logger="opframe.queue"):
        for i in range(30):  # adds, one a second; nothing taken
            recorder.on_add(f"ns/o{i}")
            clock.step(1.0)
        for i in range(30):
            recorder.on_get(f"ns/o{i}")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("work queue things is falling behind: ") and "OPFRAME_WORKERS" in lines[0]
    assert lines[1] == "work queue things caught up: 0 keys waiting"
