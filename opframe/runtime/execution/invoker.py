"""Invoker: calls one kind's user code on the calling thread (a worker or a finisher).

Handlers, ``when=`` filters, ``on.event`` handlers, timers and daemons' start: each call
gets its own copy of the object (``fresh_body``), its duration and outcome go to the
metrics, and failures to the log and to Warning Events. The Invoker holds no per-key
state itself: timers' schedules are the TimerSchedule's, running daemons the
DaemonKeeper's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from opframe.handlers import filters, retries
from opframe.handlers.causes import Cause, Reason
from opframe.handlers.patches import Patch
from opframe.handlers.progress import now_utc
from opframe.handlers.registry import CHANGE_KINDS, Handler, Kind
from opframe.kube.resources import Resource
from opframe.runtime.execution.calls import accepted_kwargs, call
from opframe.runtime.execution.kwargs import KwargsBuilder, fresh_body
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.execution.parents import Records, run_parent
from opframe.runtime.reconcile import planner
from opframe.runtime.reconcile.daemons import AsyncDaemonStopped, DaemonKeeper, DaemonStopped, DaemonStoppingReason
from opframe.runtime.reconcile.planner import Outcome, Plan, Raised, Succeeded
from opframe.runtime.reconcile.timers import TimerSchedule
from opframe.runtime.telemetry import journal
from opframe.runtime.telemetry.events import EventRecorder
from opframe.runtime.telemetry.logs import object_logger
from opframe.runtime.telemetry.metrics import OperatorMetrics

#: kopf's names of causes in its log lines ("Creation is in progress: ...").
TITLES = {Reason.CREATE: "Creation", Reason.UPDATE: "Updating", Reason.DELETE: "Deletion",
          Reason.RESUME: "Resuming"}


class Invoker:
    def __init__(self, resource: Resource, handlers: list[Handler], *, kwargs: KwargsBuilder, loops: LoopPool,
                 events: EventRecorder, metrics: OperatorMetrics | None, timers: TimerSchedule,
                 daemons: DaemonKeeper, success_events: bool, default_backoff: float | None = None) -> None:
        self.name = resource.qualified_name
        self.default_backoff = default_backoff
        #: Timers' ``stopped`` (kopf gives timers one too), set when the operator stops: a sync
        #: timer waits on it with ``stopped.wait(s)``, an async one with ``await stopped.wait(s)``.
        self.stopping = DaemonStopped()
        self.stopping_async = AsyncDaemonStopped()
        self.kwargs = kwargs
        self.loops = loops
        self.events = events
        self.metrics = metrics
        self.timers = timers
        self.daemons = daemons
        self.success_events = success_events
        #: The handlers the planner decides about (their filters are evaluated per reconcile).
        self.planned = [h for h in handlers if h.kind in CHANGE_KINDS or h.kind in (Kind.TIMER, Kind.DAEMON)]
        self.event_handlers = [h for h in handlers if h.kind is Kind.EVENT]
        self.daemon_handlers = [h for h in handlers if h.kind is Kind.DAEMON]

    def report(self, key: str, body: dict[str, Any], plan: Plan, decision: planner.Decision) -> None:
        log = object_logger(key)
        kinds = {step.handler.id: step.handler.kind.value for step in plan.steps}
        for failure in decision.failures:
            journal.record(key, self.name, failure.handler_id, kinds.get(failure.handler_id, ""),
                           "retrying" if failure.retry_in is not None else "failed", failure.reason)
            # kopf's wording (its users' tests look for these lines), with the delay added.
            if failure.retry_in is not None:
                log.error("Handler '%s' failed temporarily: %s; retrying in %.1f s", failure.handler_id,
                          failure.reason, failure.retry_in)
            else:
                log.error("Handler '%s' failed permanently: %s", failure.handler_id, failure.reason)
            self.events.post(body, type_="Warning", reason="HandlerFailed",
                                     message=f"{failure.handler_id}: {failure.reason}")
        if decision.finished and plan.steps:
            log.info("%s is processed: %d succeeded; %d failed.", TITLES.get(plan.cause.reason, "Handling"),
                     len(decision.succeeded), len([f for f in decision.failures if f.retry_in is None]))
        for handler_id in decision.succeeded:
            journal.record(key, self.name, handler_id, kinds.get(handler_id, ""), "succeeded")
            log.info("Handler '%s' succeeded.", handler_id)
            if self.success_events:
                self.events.post(body, type_="Normal", reason="HandlerSucceeded",
                                         message=f"{handler_id} succeeded for {plan.cause.reason.value}")

    def matching(self, key: str, body: dict[str, Any], raw: bytes, cause: Cause | None = None) -> frozenset[str]:
        """Ids of the handlers whose filters match ``body``; ``when=`` callbacks get their own copy
        (and, for change handlers, the cause's ``reason``, ``diff``, ``old`` and ``new``, as in kopf)."""
        return frozenset(handler.id for handler in self.planned if self.passes(handler, key, body, raw, cause))

    def passes(self, handler: Handler, key: str, body: dict[str, Any], raw: bytes, cause: Cause | None = None) -> bool:
        """Whether ``body`` passes every filter of ``handler``: the data filters here, user code via when()."""
        verdict = planner.matches(handler, body)
        return self.when(handler, key, raw, cause) if verdict is None else verdict

    def when(self, handler: Handler, key: str, raw: bytes, cause: Cause | None = None) -> bool:
        """The filters that are user code — callable label/annotation/value filters (kopf calls them
        ``fn(value, **kwargs)``) and ``when=`` — on their own copy of the object."""
        body = fresh_body(raw)
        if cause is not None and handler.kind in CHANGE_KINDS:
            kwargs = self.kwargs.build(handler, body, key, reason=cause.reason, diff=cause.diff, old=cause.old,
                                       new=cause.new)
        else:
            kwargs = self.kwargs.build(handler, body, key, reason=None)

        def with_kwargs(fn: Callable[..., Any], value: Any) -> Any:
            arguments = accepted_kwargs(dataclasses.replace(handler, fn=fn), kwargs)
            return fn(value, **{k: v for k, v in arguments.items() if k != "value"})

        metadata = body.get("metadata") or {}
        try:
            if not (filters.match_meta(metadata.get("labels"), handler.labels, with_kwargs)
                    and filters.match_meta(metadata.get("annotations"), handler.annotations, with_kwargs)
                    and (not handler.field or filters.match_value(
                        filters.field_value(body, handler.field), handler.value, with_kwargs))):
                return False
            if handler.when is None:
                return True
            return bool(call(dataclasses.replace(handler, fn=handler.when), kwargs, self.loops))
        except Exception:
            object_logger(key).exception("a filter of %s failed; treating as no match", handler.id)
            return False

    def run_event_handlers(self, key: str, event_type: str | None, raw: bytes) -> None:
        for handler in self.event_handlers:
            body = fresh_body(raw)
            if not self.passes(handler, key, body, raw):
                continue
            kwargs = self.kwargs.build(handler, body, key, reason=None, event={"type": event_type, "object": body},
                                       type_=event_type)
            outcome = self.invoke(handler, kwargs)
            if isinstance(outcome, Raised):  # never retried (kopf's rule for event handlers)
                object_logger(key).error("event handler %s failed: %r", handler.id, outcome.error)
            journal.record(key, self.name, handler.id, handler.kind.value,
                           "failed" if isinstance(outcome, Raised) else "succeeded",
                           repr(outcome.error) if isinstance(outcome, Raised) else "")

    def run_timers(self, key: str, raw: bytes, patch: Patch, essence_digest: str,
                    matching: frozenset[str]) -> float | None:
        if not self.timers:
            return None
        due, come_back = self.timers.due(
            key, essence_digest=essence_digest, matching=matching, now=time.monotonic(),
            delay_of=lambda h: h.delay(self.kwargs.build(h, fresh_body(raw), key, reason="timer")))
        for handler in due:
            body = fresh_body(raw)
            attempt = self.timers.attempt(key, handler, now_utc(), time.monotonic())
            kwargs = self.kwargs.build(handler, body, key, reason="timer", patch=patch, retry=attempt[0],
                                       started=attempt[1])
            kwargs["stopped"] = self.stopping_async if handler.is_async else self.stopping
            outcome = self.invoke(handler, kwargs)
            journal.record(key, self.name, handler.id, handler.kind.value,
                           "failed" if isinstance(outcome, Raised) else "succeeded",
                           str(outcome.error) if isinstance(outcome, Raised) else "")
            if isinstance(outcome, Raised):
                verdict = retries.decide(outcome.error, retries_so_far=attempt[0] + 1, started=attempt[2],
                                         now=time.monotonic(), max_retries=handler.retries, timeout=handler.timeout,
                                         backoff=handler.backoff, errors=handler.errors,
                                         default_backoff=self.default_backoff)
                if verdict.retry:
                    object_logger(key).error("Timer '%s' failed temporarily: %s; retrying in %.1f s", handler.id,
                                             verdict.reason, verdict.delay)
                    come_back = planner.earliest(
                        come_back, self.timers.retry(key, handler, attempt, verdict.delay, time.monotonic()))
                    continue
                if not verdict.ignored:
                    object_logger(key).error("Timer '%s' failed permanently: %s", handler.id, verdict.reason)
                    self.events.post(body, type_="Warning", reason="TimerFailed",
                                     message=f"{handler.id}: {outcome.error}")
            elif outcome.result is not None:
                patch.status[handler.id] = outcome.result
            self.timers.settled(key, handler)
            come_back = planner.earliest(come_back, self.timers.ran(key, handler, time.monotonic()))
        return come_back

    def stop_timers(self, reason: DaemonStoppingReason) -> None:
        """Set the timers' ``stopped`` flags (both kinds): a timer waiting on one returns now."""
        self.stopping.set(reason)
        self.stopping_async.set(reason)

    def keep_daemons(self, key: str, raw: bytes, matching: frozenset[str]) -> None:
        """Start the daemons that match and are not running (nor still stopping), stop those that
        stopped matching; running ones see the object's new state in their (live) body, as in kopf."""
        if not self.daemon_handlers:
            return
        self.daemons.refresh(key, lambda: fresh_body(raw))
        for handler in self.daemon_handlers:
            if handler.id in matching:
                if not self.daemons.running(key, handler.id):
                    body = self.daemons.live_body(key, lambda: fresh_body(raw))
                    kwargs = self.kwargs.build(handler, body.state, key, reason="daemon")
                    kwargs.update(body.sections())
                    self.daemons.start(key, handler, kwargs)
            else:
                self.daemons.stop(key, handler.id)

    # -- calling handlers -----------------------------------------------------------------------

    def invoke(self, handler: Handler, kwargs: dict[str, Any]) -> Outcome:
        """Call a handler on this thread, recording its duration and outcome in the metrics."""
        started = time.monotonic()
        try:
            outcome: Outcome = Succeeded(call(handler, kwargs, self.loops))
        except Exception as error:
            outcome = Raised(error)
        self.observe(handler, time.monotonic() - started, isinstance(outcome, Raised))
        return outcome

    def invoke_change(self, handler: Handler, kwargs: dict[str, Any], records: Records) -> Outcome:
        """Call a change handler on this thread, then its due sub-handlers (subhandling.py)."""
        started = time.monotonic()
        outcome = run_parent(handler, kwargs, self.loops, records, now_utc())
        self.observe(handler, time.monotonic() - started, isinstance(outcome, Raised))
        return outcome

    def observe(self, handler: Handler, seconds: float, failed: bool) -> None:
        if self.metrics is not None:
            self.metrics.observe_handler(self.name, handler.id, seconds, failed)
