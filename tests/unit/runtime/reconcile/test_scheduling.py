"""Timers' and daemons' decisions as tables: scheduling.py is pure (times in, times out)."""

from __future__ import annotations

from typing import Any

import pytest

from opframe.handlers.handler import Handler, Kind
from opframe.runtime.reconcile.scheduling import DEFAULT_INTERVAL, QUIET, daemon_changes, idle_gate, next_run


def _noop(**_: Any) -> None:
    return None


def timer(**options: Any) -> Handler:
    return Handler(id="t", fn=_noop, kind=Kind.TIMER, resource=("things",), **options)


@pytest.mark.parametrize(("options", "scheduled", "ended", "expected"), [
    ({"interval": 10.0}, 100.0, 103.0, 113.0),
    ({"interval": 10.0, "sharp": True}, 100.0, 103.0, 110.0),
    ({"interval": 10.0, "sharp": True}, 100.0, 125.0, 130.0),
    ({"interval": 10.0, "sharp": True}, 130.0, 125.0, 135.0),
    ({}, 100.0, 100.0, 100.0 + DEFAULT_INTERVAL),
    ({"idle": 5.0}, 100.0, 101.0, QUIET),
    ({"idle": 5.0, "interval": 10.0}, 100.0, 101.0, 111.0),
], ids=["interval-after-the-end", "sharp-keeps-the-grid", "sharp-skips-missed-points", "sharp-early-end",
        "default-interval", "idle-only-waits-for-a-change", "idle-and-interval"])
def test_next_run(options: dict[str, Any], scheduled: float, ended: float, expected: float) -> None:
    assert next_run(timer(**options), scheduled, ended) == expected


@pytest.mark.parametrize(("options", "due", "quiet_since", "now", "expected"), [
    ({"idle": 5.0}, 100.0, 98.0, 100.0, 103.0),
    ({"idle": 5.0}, 100.0, 90.0, 100.0, 100.0),
    ({"idle": 5.0}, 120.0, 98.0, 100.0, 120.0),
    ({}, 100.0, 99.0, 100.0, 100.0),
], ids=["changed-recently-waits", "quiet-long-enough-runs", "not-due-unchanged", "no-idle-no-gate"])
def test_idle_gate(options: dict[str, Any], due: float, quiet_since: float, now: float, expected: float) -> None:
    assert idle_gate(timer(**options), due, quiet_since, now) == expected


def test_daemon_changes_start_matching_idle_ones_and_stop_mismatched_ones() -> None:
    a, b, c = (Handler(id=i, fn=_noop, kind=Kind.DAEMON, resource=("things",)) for i in "abc")
    start, stop = daemon_changes([a, b, c], matching={"a", "b"}, running={"b", "c"})
    assert [h.id for h in start] == ["a"]
    assert stop == ["c"]
