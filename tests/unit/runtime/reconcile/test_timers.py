"""TimerSchedule (opframe.runtime.reconcile.timers): with ``sharp=`` (kopf's) runs stay on the grid of their
due times however long each takes; ``idle=`` runs once the object has been quiet that long.
"""

from __future__ import annotations

from opframe import on
from opframe.handlers.handler import Kind
from opframe.handlers.registry import Registry
from opframe.runtime.reconcile.timers import TimerSchedule


def timer(sharp: bool) -> TimerSchedule:
    registry = Registry()
    on.timer("configmaps", interval=10, sharp=sharp, registry=registry)(lambda **_: None)
    return TimerSchedule(registry.handlers(Kind.TIMER))


def test_a_sharp_timer_keeps_its_grid() -> None:
    schedule = timer(sharp=True)
    handler = schedule.timers[0]
    due, _ = schedule.due("k", essence_digest="d", matching={handler.id}, now=100.0)
    assert due == [handler]
    assert schedule.ran("k", handler, now=103.0) == 7.0  # due at 110, not 113
    assert schedule.ran("k", handler, now=131.0) == 9.0  # the 110 run took 21 s: next grid point 140


def test_a_plain_timer_waits_its_interval_after_each_run() -> None:
    schedule = timer(sharp=False)
    handler = schedule.timers[0]
    schedule.due("k", essence_digest="d", matching={handler.id}, now=100.0)
    assert schedule.ran("k", handler, now=103.0) == 10.0


def test_an_idle_only_timer_runs_once_per_quiet_period() -> None:
    """kopf's rule: a timer with idle= and no interval= runs once the object has been quiet that long,
    and then not again until the object changes (and is quiet again)."""
    registry = Registry()
    on.timer("configmaps", idle=5, registry=registry)(lambda **_: None)
    schedule = TimerSchedule(registry.handlers(Kind.TIMER))
    handler = schedule.timers[0]
    due, come_back = schedule.due("k", essence_digest="a", matching={handler.id}, now=100.0)
    assert due == [] and come_back == 5.0  # idle counts from first sight
    due, _ = schedule.due("k", essence_digest="a", matching={handler.id}, now=105.0)
    assert due == [handler]
    assert schedule.ran("k", handler, now=105.5) is None  # no next run scheduled
    for now in (200.0, 1000.0):
        assert schedule.due("k", essence_digest="a", matching={handler.id}, now=now) == ([], None)
    due, come_back = schedule.due("k", essence_digest="b", matching={handler.id}, now=1001.0)
    assert due == [] and come_back == 5.0  # changed: quiet again for 5 s, then once more
    assert schedule.due("k", essence_digest="b", matching={handler.id}, now=1006.0)[0] == [handler]


def test_a_timer_with_an_interval_and_idle_repeats_while_quiet() -> None:
    registry = Registry()
    on.timer("configmaps", interval=2, idle=5, registry=registry)(lambda **_: None)
    schedule = TimerSchedule(registry.handlers(Kind.TIMER))
    handler = schedule.timers[0]
    assert schedule.due("k", essence_digest="a", matching={handler.id}, now=105.0)[0] == []
    assert schedule.due("k", essence_digest="a", matching={handler.id}, now=110.0)[0] == [handler]
    assert schedule.ran("k", handler, now=110.0) == 2.0
