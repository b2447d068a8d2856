"""Running sub-handlers: a parent change handler's call, then its due sub-handlers.

A parent's call returns ``outcomes.WithChildren`` when it declared sub-handlers
(handlers/subhandlers.py), else an ordinary outcome; ``planner.conclude()`` records each
sub-handler under ``<parent id>/<sub id>`` and finishes the parent once all of them did.
Each sub-handler gets the parent's kwargs with its own ``retry``, ``started``, ``runtime``
and ``param``; those already finished or not yet due are not called.

``execute()`` (kopf's) declares sub-handlers and, inside an async parent, runs them at
once: the parent goes on only when they all succeeded, else it is retried later
(``ChildrenPending``), as in kopf.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from opframe.handlers import filters
from opframe.handlers.filters import UNSET
from opframe.handlers.handler import Handler
from opframe.handlers.outcomes import Outcome, Raised, Succeeded, WithChildren
from opframe.handlers.progress import HandlerRecord
from opframe.handlers.registry import Registry
from opframe.handlers.retries import ChildrenPending
from opframe.handlers.subhandlers import Declared, Subhandlers, current
from opframe.objects import diffs
from opframe.runtime.execution.calls import call, coroutine_of
from opframe.runtime.execution.filtering import callback_caller
from opframe.runtime.execution.kwargs import attempt_kwargs
from opframe.runtime.execution.loops import LoopPool

Records = Callable[[str], HandlerRecord]


def child_handler(parent: Handler, subs: Subhandlers, declared: Declared) -> Handler:
    options = declared.options

    def unset(name: str) -> Any:
        value = options.get(name, UNSET)
        return UNSET if value is None else value

    return dataclasses.replace(
        parent, id=subs.full_id(declared), fn=declared.fn, param=options.get("param"),
        errors=options.get("errors"), timeout=options.get("timeout"), retries=options.get("retries"),
        backoff=options.get("backoff"), when=options.get("when"), labels=options.get("labels"),
        annotations=options.get("annotations"), field=diffs.parse_path(options.get("field")),
        value=unset("value"), old=unset("old"), new=unset("new"))


def _child_kwargs(child: Handler, record: HandlerRecord, kwargs: Mapping[str, Any],
                  now: datetime.datetime) -> dict[str, Any]:
    started = record.started or now
    reduced: dict[str, Any] = {}
    if child.field:  # kopf: a sub-handler with field= sees the field's own old, new and diff
        reduced = {"diff": diffs.reduce(kwargs.get("diff") or (), child.field),
                   "old": diffs.resolve_path(kwargs.get("old"), child.field),
                   "new": diffs.resolve_path(kwargs.get("new"), child.field)}
    return {**kwargs, **reduced, "param": child.param, **attempt_kwargs(record.retries, started, now)}


def _passes(child: Handler, kwargs: Mapping[str, Any]) -> bool:
    """The sub-handler's filters (kopf's): labels, annotations, field (changed, under an update
    parent), value/old/new of the field, when=."""
    meta = kwargs.get("meta") or {}
    with_kwargs = callback_caller(kwargs)
    if not (filters.match_meta(meta.get("labels"), child.labels, with_kwargs)
            and filters.match_meta(meta.get("annotations"), child.annotations, with_kwargs)):
        return False
    if child.field:
        if kwargs.get("reason") == "update" and not kwargs.get("diff"):
            return False  # kwargs are reduced to the field already: the field did not change
        body_value = filters.field_value(kwargs.get("body"), child.field)
        if child.value is UNSET and body_value is filters.MISSING and kwargs.get("old") is None:
            return False
        if not (filters.match_value(body_value, child.value, with_kwargs)
                and filters.match_value(kwargs.get("old"), child.old, with_kwargs)
                and filters.match_value(kwargs.get("new"), child.new, with_kwargs)):
            return False
    return child.when is None or bool(call(dataclasses.replace(child, fn=child.when), kwargs, None))


def _due(child: Handler, records: Records, subs: Subhandlers, now: datetime.datetime) -> bool:
    return child.id not in subs.ran and records(child.id).due(now)


def _conclusion(parent: Handler, subs: Subhandlers, result: Any, error: BaseException | None) -> Outcome:
    if not subs.declared:
        return Succeeded(result) if error is None else Raised(error)
    declared = tuple(child_handler(parent, subs, d) for d in subs.declared)
    return WithChildren(result, error, declared, tuple(subs.ran.items()))


def _pending(error: BaseException | None) -> bool:
    return error is None or isinstance(error, ChildrenPending)


def run_parent(parent: Handler, kwargs: Mapping[str, Any], loops: LoopPool | None, records: Records,
               now: datetime.datetime) -> Outcome:
    """Call a sync parent on this thread, then its due sub-handlers (async ones on ``loops``)."""
    subs = Subhandlers(parent.id)
    token = current.set(subs)
    error: BaseException | None = None
    result: Any = None
    try:
        result = call(parent, kwargs, loops)
    except Exception as exc:
        error = exc
    finally:
        current.reset(token)
    if subs.declared and _pending(error):
        for declared in list(subs.declared):
            child = child_handler(parent, subs, declared)
            if not _due(child, records, subs, now):
                continue
            child_kwargs = _child_kwargs(child, records(child.id), kwargs, now)
            try:
                subs.ran[child.id] = Succeeded(call(child, child_kwargs, loops) if _passes(child, child_kwargs)
                                               else None)
            except Exception as exc:
                subs.ran[child.id] = Raised(exc)
    return _conclusion(parent, subs, result, error)


async def parent_coroutine(parent: Handler, kwargs: Mapping[str, Any], records: Records,
                           now: datetime.datetime) -> Outcome:
    """An async parent, then its due sub-handlers, on the parent's event loop; never raises."""
    subs = Subhandlers(parent.id)

    async def run_now(batch: list[Declared]) -> None:
        for declared in batch:
            child = child_handler(parent, subs, declared)
            if not _due(child, records, subs, now):
                continue
            child_kwargs = _child_kwargs(child, records(child.id), kwargs, now)
            try:
                if not _passes(child, child_kwargs):
                    subs.ran[child.id] = Succeeded(None)
                elif child.is_async:
                    subs.ran[child.id] = Succeeded(await coroutine_of(child, child_kwargs))
                else:
                    subs.ran[child.id] = Succeeded(await asyncio.to_thread(call, child, child_kwargs, None))
            except Exception as exc:
                subs.ran[child.id] = Raised(exc)

    def done(child_id: str) -> bool:
        outcome = subs.ran.get(child_id)
        return isinstance(outcome, Succeeded) or (outcome is None and records(child_id).finished)

    subs.runner, subs.done = run_now, done
    token = current.set(subs)
    error: BaseException | None = None
    result: Any = None
    try:
        result = await coroutine_of(parent, kwargs)
    except Exception as exc:
        error = exc
    finally:
        current.reset(token)
    if subs.declared and _pending(error):
        await run_now(list(subs.declared))
    return _conclusion(parent, subs, result, error)


async def execute(*, fns: Mapping[str, Callable[..., Any]] | None = None, handlers: Any = None,
                  registry: Registry | None = None, lifecycle: Any = None, cause: Any = None) -> None:
    """Declare sub-handlers of the running handler and (in an async handler) run them now (kopf's)."""
    subs = current.get()
    if subs is None:
        raise LookupError("kopf.execute() runs sub-handlers of a change handler; call it inside one")
    start = len(subs.declared)
    for sub_id, fn in (fns or {}).items():
        subs.add(fn, sub_id, {})
    for handler in [*(handlers or []), *(registry.handlers() if registry is not None else [])]:
        subs.add(handler.fn, handler.id, {"errors": handler.errors, "timeout": handler.timeout,
                                          "retries": handler.retries, "backoff": handler.backoff,
                                          "param": handler.param})
    batch = subs.declared[start:]
    if subs.runner is None or subs.done is None:
        return  # a sync parent: they run when it returns
    await subs.runner(batch)
    if not all(subs.done(subs.full_id(d)) for d in batch):
        raise ChildrenPending()
