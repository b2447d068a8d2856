"""TimerSchedule: when each timer of each object is due, and when the object last changed.

Timers are not threads: a due timer runs on the worker that reconciles its object, and
the reconcile asks the work queue to come back at the next due time.

Invariants:

* ``_due[key]`` and ``_changed[key]`` exist only for keys a worker reconciled and that
  have not been forgotten; ``forget(key)`` (the object left the cache) drops both;
* a timer's first run is ``initial_delay`` after the object was first seen; later runs
  are ``interval`` after the previous one ended;
* a timer with ``idle`` runs only once the object's essence has been unchanged that
  long; a change moves its due time to ``change + idle``;
* a timer with ``idle`` and no ``interval`` runs once per quiet period (kopf's rule):
  after a run it is due again only after the next change (``QUIET``), then ``idle``
  after it;
* a timer whose filters stop matching loses its schedule, and starts afresh when they
  match again.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Callable, Collection, Sequence

from opframe.handlers.registry import Handler
from opframe.runtime.reconcile.planner import earliest

#: A timer without an interval runs once a minute (kopf's default has none; a minute
#: keeps a forgotten ``interval=`` from becoming a tight loop).
DEFAULT_INTERVAL = 60.0
#: The due time of an idle-only timer that ran in the current quiet period: never, until a change.
QUIET = math.inf


class TimerSchedule:
    def __init__(self, timers: Sequence[Handler]) -> None:
        self.timers = list(timers)
        self._lock = threading.Lock()
        self._due: dict[str, dict[str, float]] = {}
        self._changed: dict[str, tuple[str, float]] = {}
        #: key -> timer id -> (attempts failed so far, first attempt's UTC time and monotonic time)
        self._retries: dict[str, dict[str, tuple[int, datetime.datetime, float]]] = {}

    def __bool__(self) -> bool:
        return bool(self.timers)

    def due(self, key: str, *, essence_digest: str, matching: Collection[str], now: float,
            delay_of: Callable[[Handler], float] | None = None) -> tuple[list[Handler], float | None]:
        """The timers to run now for ``key``, and seconds until the next one is due. ``delay_of``
        gives a timer's initial delay (kopf allows a callable of the object's kwargs)."""
        if not self.timers:
            return [], None
        runnable: list[Handler] = []
        come_back: float | None = None
        with self._lock:
            known = self._changed.get(key)
            changed = known is not None and known[0] != essence_digest
            if known is None or changed:
                # kopf's rule: idleness counts from the last change seen, first sight included
                # (an operator that just started waits ``idle`` before the first run too).
                self._changed[key] = (essence_digest, now)
            quiet_since = self._changed[key][1]
            due = self._due.setdefault(key, {})
            for handler in self.timers:
                if handler.id not in matching:
                    due.pop(handler.id, None)
                    continue
                if changed and due.get(handler.id) == QUIET:
                    due[handler.id] = now  # a new quiet period begins (gated by idle below)
                if handler.id not in due:
                    due[handler.id] = now + (delay_of(handler) if delay_of is not None else handler.delay({}))
                next_run = due[handler.id]
                if next_run <= now and handler.idle is not None and now - quiet_since < handler.idle:
                    next_run = due[handler.id] = quiet_since + handler.idle
                if next_run <= now:
                    runnable.append(handler)
                elif next_run != QUIET:
                    come_back = earliest(come_back, next_run - now)
        return runnable, come_back

    def ran(self, key: str, handler: Handler, now: float) -> float | None:
        """Record that ``handler`` ran for ``key`` (and ended at ``now``); seconds until it is due again:
        ``interval`` after it ended, or with ``sharp`` the next point on the grid of its due times
        (kopf's: a run that takes long does not shift the grid); None for an idle-only timer, due
        again only after the object's next change."""
        interval = float(handler.interval or DEFAULT_INTERVAL)
        with self._lock:
            due = self._due.setdefault(key, {})
            if handler.interval is None and handler.idle is not None:
                due[handler.id] = QUIET
                return None
            scheduled = due.get(handler.id, now)
            if handler.sharp and scheduled <= now:
                next_run = scheduled + (math.floor((now - scheduled) / interval) + 1) * interval
            else:
                next_run = now + interval
            due[handler.id] = next_run
        return next_run - now

    def attempt(self, key: str, handler: Handler, started: datetime.datetime,
                now: float) -> tuple[int, datetime.datetime, float]:
        """``retry``, ``started`` and the first attempt's monotonic time of this run (kopf's kwargs):
        a timer that failed is retried with its count, as handlers are."""
        with self._lock:
            return self._retries.get(key, {}).get(handler.id, (0, started, now))

    def retry(self, key: str, handler: Handler, attempt: tuple[int, datetime.datetime, float], delay: float,
              now: float) -> float:
        """The run failed and is retried after ``delay`` (not after the interval)."""
        retried, started, first = attempt
        with self._lock:
            self._retries.setdefault(key, {})[handler.id] = (retried + 1, started, first)
            self._due.setdefault(key, {})[handler.id] = now + delay
        return delay

    def settled(self, key: str, handler: Handler) -> None:
        """The run succeeded or failed for good: the next run starts from retry 0."""
        with self._lock:
            per_key = self._retries.get(key)
            if per_key is not None:
                per_key.pop(handler.id, None)
                if not per_key:
                    del self._retries[key]

    def forget(self, key: str) -> None:
        with self._lock:
            self._due.pop(key, None)
            self._changed.pop(key, None)
            self._retries.pop(key, None)

    def tracked(self) -> int:
        """How many keys hold state here (for tests of the no-leak invariant)."""
        with self._lock:
            return len(self._due.keys() | self._changed.keys())
