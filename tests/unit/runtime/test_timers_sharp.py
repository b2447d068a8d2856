"""Timers' ``sharp=`` (kopf's): runs stay on the grid of their due times however long each takes."""

from __future__ import annotations

from opframe import on
from opframe.handlers.registry import Kind, Registry
from opframe.runtime.timers import TimerSchedule


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
