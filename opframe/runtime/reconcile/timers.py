"""Timers: when each timer of each object is due (TimerSchedule), and running the due ones (Timers).

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
import random
import threading
import time
from collections.abc import Callable, Collection, Sequence

from opframe.handlers.handler import Handler
from opframe.handlers.outcomes import Raised
from opframe.handlers.progress import now_utc
from opframe.handlers.retries import RetryPolicy
from opframe.objects.patches import Patch
from opframe.runtime.execution.invoker import Invoker
from opframe.runtime.execution.kwargs import KwargsBuilder, fresh_body
from opframe.runtime.execution.stopping import AsyncTimerStopped, DaemonStoppingReason, TimerStopped
from opframe.runtime.reconcile.planner import earliest
from opframe.runtime.reconcile.scheduling import QUIET, idle_gate, next_run
from opframe.runtime.telemetry.reporter import Reporter


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
                due_at = due[handler.id] = idle_gate(handler, due[handler.id], quiet_since, now)
                if due_at <= now:
                    runnable.append(handler)
                elif due_at != QUIET:
                    come_back = earliest(come_back, due_at - now)
        return runnable, come_back

    def ran(self, key: str, handler: Handler, now: float) -> float | None:
        """Record that ``handler`` ran for ``key`` (and ended at ``now``); seconds until it is due again:
        ``interval`` after it ended, or with ``sharp`` the next point on the grid of its due times
        (kopf's: a run that takes long does not shift the grid); None for an idle-only timer, due
        again only after the object's next change."""
        with self._lock:
            due = self._due.setdefault(key, {})
            due[handler.id] = next_due = next_run(handler, due.get(handler.id, now), now)
        return None if next_due == QUIET else next_due - now

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


class Timers:
    """Runs one kind's due timers on the worker that reconciles their object.

    Each run gets its own copy of the object, ``stopped`` (set when the operator stops: a sync
    timer waits on it with ``stopped.wait(s)``, an async one with ``await stopped.wait(s)``),
    and kopf's ``retry``/``started``/``runtime`` of its attempt; a failed run is retried as
    handlers are (the one retry decision, handlers/retries.py), then due at its interval again.
    """

    def __init__(self, schedule: TimerSchedule, *, invoker: Invoker, kwargs: KwargsBuilder, reporter: Reporter,
                 default_backoff: float | None, rng: random.Random | None = None) -> None:
        self.schedule = schedule
        self.invoker = invoker
        self.kwargs = kwargs
        self.reporter = reporter
        self.default_backoff = default_backoff
        self.rng = rng
        self.stopped = TimerStopped()
        self.stopped_async = AsyncTimerStopped()

    def run(self, key: str, raw: bytes, patch: Patch, essence_digest: str, matching: frozenset[str]) -> float | None:
        """Run the timers due for ``key`` (their results into ``patch``); seconds until the next is due."""
        if not self.schedule:
            return None
        due, come_back = self.schedule.due(
            key, essence_digest=essence_digest, matching=matching, now=time.monotonic(),
            delay_of=lambda h: h.delay(self.kwargs.build(h, fresh_body(raw), key, reason="timer")))
        for handler in due:
            body = fresh_body(raw)
            failures, started, first = self.schedule.attempt(key, handler, now_utc(), time.monotonic())
            kwargs = self.kwargs.build(handler, body, key, reason="timer", patch=patch, retry=failures,
                                       started=started)
            kwargs["stopped"] = self.stopped_async if handler.is_async else self.stopped
            outcome = self.invoker.invoke(handler, kwargs)
            if isinstance(outcome, Raised):
                verdict = RetryPolicy.of(handler, self.default_backoff).decide(
                    outcome.error, failures=failures + 1, started=first, now=time.monotonic(), rng=self.rng)
                self.reporter.timer(key, body, handler.id, outcome.error,
                                    retry_in=verdict.delay if verdict.retry else None, ignored=verdict.ignored,
                                    told=verdict.told)
                if verdict.retry:
                    come_back = earliest(come_back, self.schedule.retry(
                        key, handler, (failures, started, first), verdict.delay, time.monotonic()))
                    continue
            else:
                self.reporter.timer(key, body, handler.id, None)
                if outcome.result is not None:
                    patch.status[handler.id] = outcome.result
            self.schedule.settled(key, handler)
            come_back = earliest(come_back, self.schedule.ran(key, handler, time.monotonic()))
        return come_back

    def stop(self, reason: DaemonStoppingReason) -> None:
        """Set the timers' ``stopped`` flags (both kinds): a timer waiting on one returns now."""
        self.stopped.set(reason)
        self.stopped_async.set(reason)
