"""When timers run and which daemons run: pure decisions, beside the planner.

``TimerSchedule`` (timers.py) keeps the per-key state (due times, last change) and asks
these functions what it means; ``DaemonKeeper`` (daemons.py) asks ``daemon_changes``.
Like the planner, nothing here touches a thread, a clock or user code: the times are
inputs (seconds on one monotonic clock), so every rule is a table of cases in the tests.

Rules (kopf's):

* a timer's first run is ``initial_delay`` after the object was first seen; later runs are
  ``interval`` after the previous one ended, or with ``sharp`` on the grid of its due times
  (a run that takes long does not shift the grid);
* a timer with ``idle`` runs only once the object has been unchanged that long;
* a timer with ``idle`` and no ``interval`` runs once per quiet period: after a run it is
  due again only after the next change (``QUIET``);
* a daemon is started when its filters match and none runs (nor is still stopping) under
  its id, and stopped when they no longer match.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from opframe.handlers.handler import Handler

#: A timer without an interval runs once a minute (kopf's default has none; a minute
#: keeps a forgotten ``interval=`` from becoming a tight loop).
DEFAULT_INTERVAL = 60.0
#: The due time of an idle-only timer that ran in the current quiet period: never, until a change.
QUIET = math.inf


def next_run(handler: Handler, scheduled: float, ended: float) -> float:
    """When a timer that was due at ``scheduled`` and ended at ``ended`` is due again (QUIET: after
    the object's next change)."""
    if handler.interval is None and handler.idle is not None:
        return QUIET
    interval = float(handler.interval or DEFAULT_INTERVAL)
    if handler.sharp and scheduled <= ended:
        return scheduled + (math.floor((ended - scheduled) / interval) + 1) * interval
    return ended + interval


def idle_gate(handler: Handler, due: float, quiet_since: float, now: float) -> float:
    """A due timer with ``idle`` waits until the object has been unchanged that long."""
    if due <= now and handler.idle is not None and now - quiet_since < handler.idle:
        return quiet_since + handler.idle
    return due


def daemon_changes(daemons: Sequence[Handler], matching: Collection[str],
                   running: Collection[str]) -> tuple[list[Handler], list[str]]:
    """Which daemons of an object to start (they match and none runs, nor is still stopping, under
    their id) and which to stop (they no longer match)."""
    start = [h for h in daemons if h.id in matching and h.id not in running]
    stop = [h.id for h in daemons if h.id not in matching]
    return start, stop
