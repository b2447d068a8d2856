"""The planner: what one reconcile of one object does, as pure functions.

``plan()`` looks at the object as cached, what is persisted on it (diff-base and
progress annotations, the finalizer), which handlers match it and the time, and says
which handlers to run now, with which diff, and what to write (a cycle that adds
or removes the finalizer writes only that, kopf's rule). ``conclude()`` takes that
plan and the handlers' outcomes and says what to write (progress, diff-base, finalizer removal, handlers' results) and
when to come back. Neither touches a thread, a lock, a socket or user code: which
handlers match (``when=`` callbacks are user code) is an input, computed by the
caller; so every decision is a table of cases in the unit tests.

Invariants:

* our finalizer is on a live object exactly while some matching handler requires it:
  it is added in a cycle of its own, written before the first handler runs (so the
  handler's object can no longer vanish without its delete handlers), and removed,
  also in a cycle of its own, when the object stops
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

import copy
import dataclasses
import datetime
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from opframe.handlers import filters, retries
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.causes import Cause, Reason, detect
from opframe.handlers.handler import CHANGE_KINDS, Handler, Kind
from opframe.handlers.outcomes import Failure, Outcome, Pending, Raised, Succeeded, WithChildren
from opframe.handlers.progress import HandlerRecord, HandlerState, Progress, digest
from opframe.objects import diffs
from opframe.objects.patches import Patch

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
    #: This cycle only adds or removes our finalizer; the change handlers run on the next one.
    for_finalizer: bool = False


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
         bookkeeping: Bookkeeping, first_sight: bool, now: datetime.datetime,
         include: tuple[tuple[str, ...], ...] = (), cause: Cause | None = None, daemons_running: bool = False,
         old_new: Collection[str] = frozenset()) -> Plan:
    """What to do for ``body`` now: every due handler of its cause as a step (a lifecycle narrows
    them: ``narrow``). ``matching``: ids of the handlers whose filters match it; ``old_new``: ids
    of the update handlers whose callable ``old=``/``new=`` filters passed; ``daemons_running``:
    a deleted object's daemons have not ended yet."""
    metadata = body.get("metadata") or {}
    being_deleted = bool(metadata.get("deletionTimestamp"))
    has_marker = bookkeeping.marker in (metadata.get("annotations") or {})
    if cause is None:
        cause = detect(body, bookkeeping=bookkeeping, first_sight=first_sight, include=include)
    patch = Patch()
    empty = Plan(cause, [], [], None, patch, None, being_deleted, has_marker, daemons_running)
    wants_finalizer = any(h.requires_finalizer and h.id in matching for h in handlers)
    holds_finalizer = bookkeeping.holds_finalizer(body)
    if not being_deleted and wants_finalizer != holds_finalizer:
        # kopf's rule: a cycle that adds or removes the finalizer runs no change handler; its write's
        # echo brings the next. So the finalizer is on the object before any handler it guards runs,
        # and a deletion during that handler still waits for the delete handlers.
        if wants_finalizer:
            _set_finalizers(patch, body, [*metadata.get("finalizers", []), bookkeeping.finalizer])
        else:
            _remove_finalizer(patch, body, bookkeeping)
        return dataclasses.replace(empty, for_finalizer=True)

    change_handlers = matching_change_handlers(handlers)
    if cause.reason in (Reason.NOOP, Reason.FREE) or (not change_handlers and cause.reason is not Reason.DELETE):
        return empty
    chosen = _select(cause, change_handlers, matching, first_sight, old_new)
    if not chosen:
        if cause.reason is Reason.DELETE and not daemons_running:
            _remove_finalizer(patch, body, bookkeeping)
        elif cause.reason in (Reason.CREATE, Reason.UPDATE) and any(
                prematches(h, cause, matching) for h in change_handlers):
            # kopf's rule: some change handler of the kind is interested in the object, only not in
            # this cause; the diff-base records what was seen. When none is, the object is left
            # untouched, so it is handled as created once it starts to match (kopf's "stealth mode").
            _set_diff_base(patch, cause, bookkeeping, has_marker)
        return empty
    progress = copy.deepcopy(cause.progress)
    if progress is None or progress.cause != cause.reason.value or progress.digest != digest(cause.essence):
        progress = Progress(cause=cause.reason.value, digest=digest(cause.essence))
        if cause.progress is None:
            # A cause another operator started (kopf's, with adopt_kopf): its records carry over.
            progress.handlers.update(bookkeeping.adopted_records(body, [h.id for h, _ in chosen],
                                                                 cause.reason.value))
    steps: list[Step] = []
    come_back: float | None = None
    for handler, handler_diff in chosen:
        record = progress.handlers.get(handler.id) or HandlerRecord()
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
    return Plan(cause, steps, [h.id for h, _ in chosen], progress, patch, come_back, being_deleted, has_marker,
                daemons_running)


def narrow(plan_: Plan, run_now: Sequence[str]) -> Plan:
    """The plan with only the steps a lifecycle chose (``run_now``: their ids, in the order to run
    them); if it left some out, the plan comes back at once for them (kopf's lifecycles)."""
    if not plan_.steps:
        return plan_
    order = {handler_id: index for index, handler_id in enumerate(run_now)}
    steps = sorted((s for s in plan_.steps if s.handler.id in order), key=lambda s: order[s.handler.id])
    come_back = earliest(plan_.come_back, 0.0) if len(steps) < len(plan_.steps) else plan_.come_back
    return dataclasses.replace(plan_, steps=steps, come_back=come_back)


def failed_attempts(plan_: Plan, outcomes: Mapping[str, Outcome]) -> list[tuple[Handler, int]]:
    """The handlers (and sub-handlers) that raised in these outcomes, each with its count of failed
    attempts including this one: what the caller computes ``backoffs`` for (``conclude``)."""
    progress = plan_.progress
    if progress is None:
        return []
    failed: list[tuple[Handler, int]] = []
    for step in plan_.steps:
        given = outcomes.get(step.handler.id)
        if isinstance(given, Raised) or (isinstance(given, WithChildren) and given.error is not None):
            failed.append((step.handler, _retries(progress, step.handler.id) + 1))
        if isinstance(given, WithChildren):
            ran = dict(given.ran)
            failed.extend((child, _retries(progress, child.id) + 1) for child in given.declared
                          if isinstance(ran.get(child.id), Raised))
    return failed


def _retries(progress: Progress, handler_id: str) -> int:
    record = progress.handlers.get(handler_id)
    return record.retries if record is not None else 0


def conclude(plan_: Plan, outcomes: Mapping[str, Outcome], *, body: Mapping[str, Any], bookkeeping: Bookkeeping,
             now: datetime.datetime, backoffs: Mapping[str, float] | None = None) -> Decision:
    """The write and the next visit, given what each planned step did (steps without an outcome did
    not run). ``backoffs``: the delay each failed handler's backoff policy gives (by id; see
    ``failed_attempts``). Neither the plan nor the outcomes are changed."""
    patch = _copied(plan_.patch)
    progress = copy.deepcopy(plan_.progress)
    failures: list[Failure] = []
    succeeded: list[str] = []
    come_back = plan_.come_back
    retrying = False
    if progress is None:
        return Decision(patch, come_back, False, failures, succeeded)
    tally = _Tally(failures, succeeded, now, dict(backoffs or {}))
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
        _set_progress(patch, progress, bookkeeping, plan_.has_marker)  # kept until the daemons ended
    elif finished:
        if cause.reason is Reason.DELETE:
            _remove_finalizer(patch, body, bookkeeping)
        else:
            _set_diff_base(patch, cause, bookkeeping, plan_.has_marker)
        if bookkeeping.progress in ((body.get("metadata") or {}).get("annotations") or {}):
            patch.metadata.annotations[bookkeeping.progress] = None
        for key in bookkeeping.foreign_keys(body):
            patch.metadata.annotations[key] = None
    else:
        _set_progress(patch, progress, bookkeeping, plan_.has_marker)
    return Decision(patch, come_back, retrying, failures, succeeded, finished)


def _copied(patch: Patch) -> Patch:
    """A patch of its own: the same changes and fns, no section shared with ``patch``."""
    return Patch(copy.deepcopy(dict(patch)), fns=patch.fns)


@dataclasses.dataclass
class _Tally:
    """How conclude() records one handler's (or sub-handler's) outcome on its progress record."""

    failures: list[Failure]
    succeeded: list[str]
    now: datetime.datetime
    #: handler id -> the delay its backoff policy gave for this failure (computed by the caller).
    backoffs: dict[str, float]

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
        verdict = retries.decide(outcome.error, policy=retries.RetryPolicy.of(handler), failures=record.retries,
                                 started=record.started.timestamp(), now=self.now.timestamp(),
                                 backoff_delay=self.backoffs.get(handler.id, 0.0))
        record.message = verdict.reason
        error = retries.traceback_of(outcome.error)
        if verdict.ignored:
            record.state = HandlerState.SUCCEEDED
            record.delayed_until = None
            self.failures.append(Failure(handler.id, verdict.reason, None, verdict.told, error, ignored=True))
            self.succeeded.append(handler.id)
            return None
        if verdict.retry:
            record.state = HandlerState.DELAYED
            record.delayed_until = self.now + datetime.timedelta(seconds=verdict.delay)
            self.failures.append(Failure(handler.id, verdict.reason, verdict.delay, verdict.told, error))
            return verdict.delay
        record.state = HandlerState.FAILED
        self.failures.append(Failure(handler.id, verdict.reason, None, verdict.told, error))
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


def release(body: Mapping[str, Any], bookkeeping: Bookkeeping) -> Patch | None:
    """The write for an object that left the operator's watch but still exists.

    It matches no handler any more (the API server's label selector says so), so no
    handler needs our finalizer on it: remove it, or it could never be deleted.
    """
    if not bookkeeping.holds_finalizer(body):
        return None
    patch = Patch()
    _remove_finalizer(patch, body, bookkeeping)
    return patch


def prematches(handler: Handler, cause: Cause, matching: Collection[str]) -> bool:
    """Whether ``handler`` is interested in the object at all, whatever the cause (kopf's
    ``prematch``): its filters pass (``matching``) and, with ``field=``, the field is in the old or
    the new state with a ``value=`` that matches either. Whether the field changed is not asked."""
    return handler.id in matching and _field_value_passes(handler, cause)


def _field_value_passes(handler: Handler, cause: Cause) -> bool:
    """``field=`` with ``value=``: the field is in the old or the new state, and a plain value matches
    either (a callable value= was called with the object by the caller: ``matching``)."""
    if not handler.field:
        return True
    old = filters.field_value(cause.old, handler.field)
    new = filters.field_value(cause.new, handler.field)
    if handler.value is filters.UNSET:
        return old is not filters.MISSING or new is not filters.MISSING
    return filters.has_callbacks(handler.value) or filters.match_value(old, handler.value, _no_callbacks) \
        or filters.match_value(new, handler.value, _no_callbacks)


def _select(cause: Cause, handlers: Sequence[Handler], matching: Collection[str],
            first_sight: bool = False, old_new: Collection[str] = frozenset()) -> list[tuple[Handler, diffs.Diff]]:
    """The handlers this cause runs, with the diff each sees (reduced for field handlers).

    kopf's rules: resume handlers join the first update (and, with ``deleted=True``, the first
    deletion) the operator sees of an object; a handler with ``field=`` needs the field in
    the old or the new state, and its ``value=`` to match either; ``on.field`` and
    ``on.update(field=)`` need the field to have changed (kopf's ``field_needs_change``),
    ``on.create``/``on.resume``/``on.delete`` with ``field=`` do not.
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
        if not _field_value_passes(handler, cause):
            continue
        if handler.field:
            handler_diff = diffs.reduce(full, handler.field)
            old = filters.field_value(cause.old, handler.field)
            new = filters.field_value(cause.new, handler.field)
            if handler.kind in (Kind.FIELD, Kind.UPDATE) and not handler_diff:
                continue
            if cause.reason is Reason.UPDATE and not _old_new_pass(handler, old, new, old_new):
                continue
        chosen.append((handler, handler_diff))
    return chosen


def _old_new_pass(handler: Handler, old: Any, new: Any, old_new: Collection[str]) -> bool:
    """kopf's ``old=``/``new=`` filters of an update: callables were decided by the caller."""
    if filters.has_callbacks(handler.old, handler.new):
        return handler.id in old_new
    return filters.match_value(old, handler.old, _no_callbacks) and filters.match_value(new, handler.new, _no_callbacks)


def _no_callbacks(fn: Any, value: Any) -> Any:
    raise AssertionError("the planner calls no user code: callable filters are decided by its caller")


def diff_base_only(patch: Patch, bookkeeping: Bookkeeping) -> str | None:
    """The diff-base ``patch`` writes, if writing it is all the patch does (no results, progress,
    finalizer, marker, label or ``fns``); else None. Only such a write may be held back while the
    object has already changed again (ObjectWriter.hold_diff_base): nothing else waits on it."""
    if patch.fns or set(patch) != {"metadata"}:
        return None
    metadata = patch["metadata"]
    if set(metadata) != {"annotations"} or set(metadata["annotations"]) != {bookkeeping.last_handled}:
        return None
    text = metadata["annotations"][bookkeeping.last_handled]
    return text if isinstance(text, str) else None


def _set_diff_base(patch: Patch, cause: Cause, bookkeeping: Bookkeeping, has_marker: bool) -> None:
    patch.metadata.annotations[bookkeeping.last_handled] = orjson.dumps(
        cause.essence, option=orjson.OPT_SORT_KEYS).decode()
    if not has_marker:
        patch.metadata.annotations[bookkeeping.marker] = "yes"


def _set_progress(patch: Patch, progress: Progress, bookkeeping: Bookkeeping, has_marker: bool) -> None:
    patch.metadata.annotations[bookkeeping.progress] = progress.to_annotation()
    if not has_marker:
        patch.metadata.annotations[bookkeeping.marker] = "yes"


def _set_finalizers(patch: Patch, body: Mapping[str, Any], finalizers: list[str]) -> None:
    """A finalizer change is made against the list as read: the resourceVersion guards it."""
    patch.metadata["finalizers"] = finalizers
    patch.metadata["resourceVersion"] = (body.get("metadata") or {})["resourceVersion"]


def _remove_finalizer(patch: Patch, body: Mapping[str, Any], bookkeeping: Bookkeeping) -> None:
    finalizers = (body.get("metadata") or {}).get("finalizers") or []
    names = bookkeeping.finalizers
    if any(name in finalizers for name in names):
        _set_finalizers(patch, body, [f for f in finalizers if f not in names])


def earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
