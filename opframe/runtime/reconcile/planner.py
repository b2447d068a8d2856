"""The planner: what one reconcile of one object does, as pure functions.

``plan()`` looks at the object as cached, what is persisted on it (diff-base and
progress annotations, the finalizer), which handlers match it and the time, and says
which handlers to run now, with which diff, and what to write before any of them
runs (the finalizer). ``conclude()`` takes that plan and the handlers' outcomes and
says what to write (progress, diff-base, finalizer removal, handlers' results) and
when to come back. Neither touches a thread, a lock, a socket or user code: which
handlers match (``when=`` callbacks are user code) is an input, computed by the
caller; so every decision is a table of cases in the unit tests.

Invariants:

* our finalizer is on a live object exactly while some matching handler requires it:
  it is added before the first handler runs, and removed when the object stops
  matching every handler that required it (kopf's rule), whether a label filter
  was evaluated here or by the API server's label selector (see ``release``);
* on a deleted object, the finalizer is removed only after every selected delete
  handler finished (succeeded, or failed for good), and not while its daemons still
  run (``daemons_running``, kopf's rule): the delete handlers' records are then kept,
  so the visit after the daemons' end releases it without running them again;
* a handler that finished for a cause is not planned again for it (progress is
  persisted on the object, so this holds across restarts);
* a handler waiting for its retry time is not run; the plan comes back then;
* every write of diff-base or progress also writes the prefix's managed marker, so
  other operators following kopf's convention ignore opframe's bookkeeping.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import orjson

from opframe.handlers import diffs, filters, retries
from opframe.handlers.causes import Cause, Finalizer, Reason, detect, finalizer_names, has_finalizer
from opframe.handlers.patches import Patch
from opframe.handlers.progress import Annotations, HandlerRecord, HandlerState, Progress, digest
from opframe.handlers.registry import CHANGE_KINDS, Handler, Kind
from opframe.kopf import storage as kopf_storage

#: Which handler kinds each reason runs (field handlers run for creation and updates).
KINDS_BY_REASON: Mapping[Reason, tuple[Kind, ...]] = {
    Reason.CREATE: (Kind.CREATE, Kind.FIELD), Reason.UPDATE: (Kind.UPDATE, Kind.FIELD),
    # kopf's: a field changed since it was last handled is handled on deletion too.
    Reason.DELETE: (Kind.DELETE, Kind.FIELD), Reason.RESUME: (Kind.RESUME,), Reason.NOOP: (), Reason.FREE: (),
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One handler to run now, with what it is given."""

    handler: Handler
    diff: diffs.Diff
    old: Any
    new: Any
    retry: int
    started: datetime.datetime


@dataclasses.dataclass
class Plan:
    cause: Cause
    steps: list[Step]
    #: Ids of every handler of the cause (run now, waiting, or finished earlier).
    selected: list[str]
    #: The cause's progress, advanced by conclude(); None when the cause runs no handler.
    progress: Progress | None
    #: What to write even if no handler runs (finalizer added or removed, diff-base).
    patch: Patch
    #: Seconds until a delayed handler is due (a retry), or None.
    come_back: float | None
    being_deleted: bool
    has_marker: bool
    #: A deleted object's daemons still run: the finalizer stays (see the module's invariants).
    daemons_running: bool = False


@dataclasses.dataclass(frozen=True)
class Succeeded:
    result: Any = None


@dataclasses.dataclass(frozen=True)
class Raised:
    error: BaseException


@dataclasses.dataclass(frozen=True)
class WithChildren:
    """A parent handler's call that declared sub-handlers: its own result or error, every
    sub-handler it declared (full ids), and the outcomes of those that ran now."""

    result: Any
    error: BaseException | None
    declared: tuple[Handler, ...]
    ran: tuple[tuple[str, Succeeded | Raised], ...]


@dataclasses.dataclass(frozen=True)
class Pending:
    """A parent whose sub-handlers are not all finished: it comes back after ``delay`` seconds."""

    delay: float


Outcome = Succeeded | Raised | WithChildren


@dataclasses.dataclass(frozen=True)
class Failure:
    handler_id: str
    reason: str
    retry_in: float | None  # None: failed for good


@dataclasses.dataclass
class Decision:
    patch: Patch
    come_back: float | None
    retrying: bool
    failures: list[Failure]
    succeeded: list[str]
    #: every handler of the cause has finished (succeeded or failed for good).
    finished: bool = False


def matching_change_handlers(handlers: Sequence[Handler]) -> list[Handler]:
    return [h for h in handlers if h.kind in CHANGE_KINDS]


def plan(body: Mapping[str, Any], *, handlers: Sequence[Handler], matching: Collection[str],
         annotations: Annotations, finalizer: Finalizer, first_sight: bool, now: datetime.datetime,
         include: tuple[tuple[str, ...], ...] = (), lifecycle: Callable[..., Sequence[Any]] | None = None,
         cause: Cause | None = None, daemons_running: bool = False) -> Plan:
    """What to do for ``body`` now. ``matching``: ids of the handlers whose filters match it;
    ``lifecycle`` (handlers/lifecycles.py) picks which due handlers run now (None: all);
    ``daemons_running``: a deleted object's daemons have not ended yet."""
    metadata = body.get("metadata") or {}
    being_deleted = bool(metadata.get("deletionTimestamp"))
    has_marker = annotations.marker in (metadata.get("annotations") or {})
    if cause is None:
        cause = detect(body, annotations=annotations, finalizer=finalizer, first_sight=first_sight, include=include)
    patch = Patch()
    wants_finalizer = any(h.requires_finalizer and h.id in matching for h in handlers)
    holds_finalizer = has_finalizer(body, finalizer)
    if not being_deleted and wants_finalizer and not holds_finalizer:
        _set_finalizers(patch, body, [*metadata.get("finalizers", []), finalizer_names(finalizer)[0]])
    elif not being_deleted and not wants_finalizer and holds_finalizer:
        _remove_finalizer(patch, body, finalizer)

    change_handlers = matching_change_handlers(handlers)
    empty = Plan(cause, [], [], None, patch, None, being_deleted, has_marker, daemons_running)
    if cause.reason in (Reason.NOOP, Reason.FREE) or (not change_handlers and cause.reason is not Reason.DELETE):
        return empty
    chosen = _select(cause, change_handlers, matching, first_sight)
    if not chosen:
        if cause.reason is Reason.DELETE and not daemons_running:
            _remove_finalizer(patch, body, finalizer)
        elif cause.reason in (Reason.CREATE, Reason.UPDATE):
            _set_diff_base(patch, cause, annotations, has_marker)
        return empty
    progress = cause.progress
    if progress is None or progress.cause != cause.reason.value or progress.digest != digest(cause.essence):
        progress = Progress(cause=cause.reason.value, digest=digest(cause.essence))
        if cause.progress is None and annotations.kopf_prefix is not None:
            # A cause a kopf operator started: its handlers' records carry over (handlers/kopf_storage.py).
            progress.handlers.update(kopf_storage.adopted_records(
                body, [h.id for h, _ in chosen], cause.reason.value, annotations.kopf_prefix))
    steps: list[Step] = []
    come_back: float | None = None
    for handler, handler_diff in chosen:
        record = progress.record(handler.id)
        if record.finished:
            continue
        if not record.due(now):
            assert record.delayed_until is not None
            come_back = earliest(come_back, (record.delayed_until - now).total_seconds())
            continue
        old, new = cause.old, cause.new
        if handler.field:
            old = diffs.resolve_path(old, handler.field) if old is not None else None
            new = diffs.resolve_path(new, handler.field) if new is not None else None
        steps.append(Step(handler, handler_diff, old, new, record.retries, record.started or now))
    if lifecycle is not None and steps:
        now_ids = [h.id for h in lifecycle([s.handler for s in steps],
                                           state={s.handler.id: progress.record(s.handler.id) for s in steps})]
        if len(now_ids) < len(steps):
            come_back = earliest(come_back, 0.0)  # the others run in the next reconcile, at once
        steps = sorted((s for s in steps if s.handler.id in now_ids), key=lambda s: now_ids.index(s.handler.id))
    return Plan(cause, steps, [h.id for h, _ in chosen], progress, patch, come_back, being_deleted, has_marker,
                daemons_running)


def conclude(plan_: Plan, outcomes: Mapping[str, Outcome], *, body: Mapping[str, Any], annotations: Annotations,
             finalizer: Finalizer, now: datetime.datetime, default_backoff: float | None = None) -> Decision:
    """The write and the next visit, given what each planned step did (steps without an outcome did not run)."""
    patch = plan_.patch
    progress = plan_.progress
    failures: list[Failure] = []
    succeeded: list[str] = []
    come_back = plan_.come_back
    retrying = False
    if progress is None:
        return Decision(patch, come_back, False, failures, succeeded)
    tally = _Tally(failures, succeeded, now, default_backoff)
    for step in plan_.steps:
        given = outcomes.get(step.handler.id)
        if given is None:
            continue
        record = progress.record(step.handler.id)
        if record.started is None:
            record.started = step.started
        own = _children(given, progress, tally, now, patch) if isinstance(given, WithChildren) else given
        if isinstance(own, Pending):
            record.state = HandlerState.DELAYED
            record.delayed_until = now + datetime.timedelta(seconds=own.delay)
            come_back = earliest(come_back, own.delay)
            continue
        delay = tally.record(step.handler, record, own, patch)
        if delay is not None:
            come_back = earliest(come_back, delay)
            retrying = True
    cause = plan_.cause
    finished = all(progress.record(handler_id).finished for handler_id in plan_.selected)
    if finished and cause.reason is Reason.DELETE and plan_.daemons_running:
        _set_progress(patch, progress, annotations, plan_.has_marker)  # kept until the daemons ended
    elif finished:
        if cause.reason is Reason.DELETE:
            _remove_finalizer(patch, body, finalizer)
        else:
            _set_diff_base(patch, cause, annotations, plan_.has_marker)
        if annotations.progress in ((body.get("metadata") or {}).get("annotations") or {}):
            patch.metadata.annotations[annotations.progress] = None
        if annotations.kopf_prefix is not None:
            for key in kopf_storage.keys_to_clear(body, annotations.kopf_prefix):
                patch.metadata.annotations[key] = None
    else:
        _set_progress(patch, progress, annotations, plan_.has_marker)
    return Decision(patch, come_back, retrying, failures, succeeded, finished)


@dataclasses.dataclass
class _Tally:
    """How conclude() records one handler's (or sub-handler's) outcome on its progress record."""

    failures: list[Failure]
    succeeded: list[str]
    now: datetime.datetime
    default_backoff: float | None

    def record(self, handler: Handler, record: HandlerRecord, outcome: Succeeded | Raised,
               patch: Patch) -> float | None:
        """Advance ``record``; the delay before a retry, or None when the handler finished."""
        if isinstance(outcome, Succeeded):
            record.state = HandlerState.SUCCEEDED
            record.delayed_until = None
            record.message = ""
            if outcome.result is not None:
                patch.status[handler.id] = outcome.result
            self.succeeded.append(handler.id)
            return None
        record.retries += 1
        assert record.started is not None
        verdict = retries.decide(outcome.error, retries_so_far=record.retries, started=record.started.timestamp(),
                                 now=self.now.timestamp(), max_retries=handler.retries, timeout=handler.timeout,
                                 backoff=handler.backoff, errors=handler.errors, default_backoff=self.default_backoff)
        record.message = verdict.reason
        if verdict.ignored:
            record.state = HandlerState.SUCCEEDED
            record.delayed_until = None
            self.succeeded.append(handler.id)
            return None
        if verdict.retry:
            record.state = HandlerState.DELAYED
            record.delayed_until = self.now + datetime.timedelta(seconds=verdict.delay)
            self.failures.append(Failure(handler.id, verdict.reason, verdict.delay))
            return verdict.delay
        record.state = HandlerState.FAILED
        self.failures.append(Failure(handler.id, verdict.reason, None))
        return None


def _children(outcome: WithChildren, progress: Progress, tally: _Tally, now: datetime.datetime,
              patch: Patch) -> Succeeded | Raised | Pending:
    """Record the sub-handlers that ran; the parent succeeds once all of them did (kopf's rule), fails
    once one failed for good, and otherwise comes back when the next one is due. A sub-handler's
    result goes to ``status["<parent id>/<sub id>"]``, as kopf stores it."""
    if outcome.error is not None and not isinstance(outcome.error, retries.ChildrenPending):
        return Raised(outcome.error)
    ran = dict(outcome.ran)
    for child in outcome.declared:
        if child.id in ran:
            record = progress.record(child.id)
            if record.started is None:
                record.started = now
            tally.record(child, record, ran[child.id], patch)
    records = [(child.id, progress.record(child.id)) for child in outcome.declared]
    failed = [child_id for child_id, record in records if record.state is HandlerState.FAILED]
    if failed:
        return Raised(retries.PermanentError(f"sub-handler {', '.join(failed)} failed"))
    waiting = [record for _, record in records if not record.finished]
    if not waiting:
        return Succeeded(outcome.result)
    due = [max(0.0, (r.delayed_until - now).total_seconds()) if r.delayed_until else 0.0 for r in waiting]
    return Pending(min(due))


def release(body: Mapping[str, Any], finalizer: Finalizer) -> Patch | None:
    """The write for an object that left the operator's watch but still exists.

    It matches no handler any more (the API server's label selector says so), so no
    handler needs our finalizer on it: remove it, or it could never be deleted.
    """
    if not has_finalizer(body, finalizer):
        return None
    patch = Patch()
    _remove_finalizer(patch, body, finalizer)
    return patch


def _select(cause: Cause, handlers: Sequence[Handler], matching: Collection[str],
            first_sight: bool = False) -> list[tuple[Handler, diffs.Diff]]:
    """The handlers this cause runs, with the diff each sees (reduced for field handlers).

    kopf's rules: resume handlers join the first update (and, with ``deleted=True``, the first
    deletion) the operator sees of an object; a handler with ``field=`` needs the field in
    the old or the new state, and its ``value=`` to match either; ``on.field`` needs the field
    to have changed, ``on.update(field=)`` does not.
    """
    kinds = KINDS_BY_REASON[cause.reason]
    full = cause.diff if cause.reason is Reason.UPDATE else diffs.diff(cause.old, cause.new)
    chosen: list[tuple[Handler, diffs.Diff]] = []
    for handler in handlers:
        if handler.id not in matching:
            continue
        if any(known.id == handler.id and known.fn is handler.fn for known, _ in chosen):
            continue  # kopf's rule: one function under one id runs once per cause (@on.update + @on.resume)
        if handler.kind not in kinds and not (
                first_sight and handler.kind is Kind.RESUME
                and (cause.reason is Reason.UPDATE or (cause.reason is Reason.DELETE and handler.deleted))):
            continue
        handler_diff = full
        if handler.field:
            handler_diff = diffs.reduce(full, handler.field)
            old = filters.field_value(cause.old, handler.field)
            new = filters.field_value(cause.new, handler.field)
            if handler.value is filters.UNSET:
                if old is filters.MISSING and new is filters.MISSING:
                    continue
            elif not filters.has_callbacks(handler.value) and not (
                    filters.match_value(old, handler.value) or filters.match_value(new, handler.value)):
                continue
            if handler.kind is Kind.FIELD and not handler_diff:
                continue
            if cause.reason is Reason.UPDATE and not (filters.match_value(old, handler.old)
                                                      and filters.match_value(new, handler.new)):
                continue
        chosen.append((handler, handler_diff))
    return chosen


def _set_diff_base(patch: Patch, cause: Cause, annotations: Annotations, has_marker: bool) -> None:
    patch.metadata.annotations[annotations.last_handled] = orjson.dumps(
        cause.essence, option=orjson.OPT_SORT_KEYS).decode()
    if not has_marker:
        patch.metadata.annotations[annotations.marker] = "yes"


def _set_progress(patch: Patch, progress: Progress, annotations: Annotations, has_marker: bool) -> None:
    patch.metadata.annotations[annotations.progress] = progress.to_annotation()
    if not has_marker:
        patch.metadata.annotations[annotations.marker] = "yes"


def _set_finalizers(patch: Patch, body: Mapping[str, Any], finalizers: list[str]) -> None:
    """A finalizer change is made against the list as read: the resourceVersion guards it."""
    patch.metadata["finalizers"] = finalizers
    patch.metadata["resourceVersion"] = (body.get("metadata") or {})["resourceVersion"]


def _remove_finalizer(patch: Patch, body: Mapping[str, Any], finalizer: Finalizer) -> None:
    finalizers = (body.get("metadata") or {}).get("finalizers") or []
    names = finalizer_names(finalizer)
    if any(name in finalizers for name in names):
        _set_finalizers(patch, body, [f for f in finalizers if f not in names])


def earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def matches(handler: Handler, body: Mapping[str, Any]) -> bool | None:
    """Whether ``body`` passes the handler's data filters (labels, annotations, field value).

    None when user code must decide — a ``when=`` callback, or a callable label, annotation
    or value filter — which the caller runs (on a worker, with its own copy of the body).
    """
    if filters.has_callbacks(handler.labels or {}, handler.annotations or {}, handler.value):
        return None
    metadata = body.get("metadata") or {}
    if not filters.match_meta(metadata.get("labels"), handler.labels):
        return False
    if not filters.match_meta(metadata.get("annotations"), handler.annotations):
        return False
    if handler.field and handler.kind not in CHANGE_KINDS:
        # Spawning, watching and indexing handlers look at the object as it is (kopf's rule);
        # change handlers at the old and the new state, in _select().
        value = filters.field_value(body, handler.field)
        if handler.value is filters.UNSET and value is filters.MISSING:
            return False
        if not filters.match_value(value, handler.value):
            return False
    return None if handler.when is not None else True
