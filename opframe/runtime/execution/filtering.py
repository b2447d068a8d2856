"""Filters: whether a handler wants an object (or a change of it). The one evaluator of kopf's filters.

A handler's filters are ``labels=``, ``annotations=``, ``field=`` with ``value=`` (or
``old=``/``new=`` for updates), and ``when=``. The data filters that are plain values are
decided without user code (``static_verdict``); callbacks — a callable label, annotation,
value, old or new filter, and ``when=`` — are user code, called here as kopf calls them:
``fn(value, **kwargs)`` with the handler's keyword arguments (only those it accepts), each
on its own copy of the object. The planner (pure) is given the verdicts, never the callbacks.

Rules (kopf's):

* every label and annotation filter must match (``PRESENT``/``ABSENT`` are about the key);
* ``field=`` on a spawning, watching or indexing handler (timer, daemon, on.event, index)
  looks at the object as it is: without ``value=`` the field must be there;
* ``field=`` on a change handler is about the cause's old and new state, which the
  planner decides for plain values; a callable ``value=`` is called with the current value;
  callable ``old=``/``new=`` are called for an update (``old_new``);
* a callback that raises counts as no match (logged), never as a crash of the reconcile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opframe.handlers import filters
from opframe.handlers.causes import Cause, Reason
from opframe.handlers.handler import CHANGE_KINDS, Handler
from opframe.runtime.execution.calls import accepted_by, call
from opframe.runtime.execution.kwargs import KwargsBuilder, fresh_body
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.telemetry.logs import object_logger


def callback_caller(kwargs: Mapping[str, Any]) -> filters.FilterCall:
    """How a filter callback is called: ``fn(value, **kwargs)``, with the kwargs ``fn`` accepts (kopf's)."""

    def with_kwargs(fn: Callable[..., Any], value: Any) -> Any:
        arguments = accepted_by(fn, kwargs)
        arguments.pop("value", None)
        return fn(value, **arguments)

    return with_kwargs


def static_verdict(handler: Handler, body: Mapping[str, Any]) -> bool | None:
    """Whether ``body`` passes the handler's plain data filters; None when a callback must decide
    (a ``when=``, or a callable label, annotation or value filter)."""
    if filters.has_callbacks(handler.labels or {}, handler.annotations or {}, handler.value):
        return None
    metadata = body.get("metadata") or {}
    if not filters.match_meta(metadata.get("labels"), handler.labels):
        return False
    if not filters.match_meta(metadata.get("annotations"), handler.annotations):
        return False
    if handler.field and handler.kind not in CHANGE_KINDS and not _field_passes(handler, body, filters.direct):
        return False
    return None if handler.when is not None else True


def _field_passes(handler: Handler, body: Mapping[str, Any], call_back: filters.FilterCall) -> bool:
    value = filters.field_value(body, handler.field)
    if handler.value is filters.UNSET:
        return value is not filters.MISSING or handler.kind in CHANGE_KINDS
    return filters.match_value(value, handler.value, call_back)


def passes_with(handler: Handler, body: Mapping[str, Any], kwargs: Mapping[str, Any], loops: LoopPool | None) -> bool:
    """Every filter of ``handler`` on ``body``, callbacks called with ``kwargs``: labels, annotations,
    the field's value (see the module's rules), then ``when=``. May raise what a callback raises."""
    call_back = callback_caller(kwargs)
    metadata = body.get("metadata") or {}
    if not (filters.match_meta(metadata.get("labels"), handler.labels, call_back)
            and filters.match_meta(metadata.get("annotations"), handler.annotations, call_back)):
        return False
    if handler.field and (handler.kind not in CHANGE_KINDS or filters.has_callbacks(handler.value)) \
            and not _field_passes(handler, body, call_back):
        return False
    return handler.when is None or bool(call(dataclasses.replace(handler, fn=handler.when), kwargs, loops))


@dataclasses.dataclass
class FilterEvaluator:
    """Decides one kind's filters per object: plain data filters at once, callbacks on their own
    copy of the object with the handler's kwargs (for change handlers, the cause's ``reason``,
    ``diff``, ``old`` and ``new``, as in kopf)."""

    kwargs: KwargsBuilder
    loops: LoopPool | None

    def passes(self, handler: Handler, key: str, body: Mapping[str, Any], raw: bytes,
               cause: Cause | None = None) -> bool:
        verdict = static_verdict(handler, body)
        if verdict is not None:
            return verdict
        own = fresh_body(raw)
        try:
            return passes_with(handler, own, self._kwargs(handler, own, key, cause), self.loops)
        except Exception:
            object_logger(key).exception("a filter of %s failed; treating as no match", handler.id)
            return False

    def matching(self, handlers: Iterable[Handler], key: str, body: Mapping[str, Any], raw: bytes,
                 cause: Cause | None = None) -> frozenset[str]:
        """Ids of the handlers whose filters match ``body``."""
        return frozenset(handler.id for handler in handlers if self.passes(handler, key, body, raw, cause))

    def old_new(self, handlers: Iterable[Handler], key: str, raw: bytes, cause: Cause) -> frozenset[str]:
        """Ids of the update handlers with callable ``old=``/``new=`` filters that pass for this update
        (the planner decides the plain ones itself)."""
        passed: set[str] = set()
        if cause.reason is not Reason.UPDATE:
            return frozenset()
        for handler in handlers:
            if not (handler.field and filters.has_callbacks(handler.old, handler.new)):
                continue
            own = fresh_body(raw)
            call_back = callback_caller(self._kwargs(handler, own, key, cause))
            old = filters.field_value(cause.old, handler.field)
            new = filters.field_value(cause.new, handler.field)
            try:
                if filters.match_value(old, handler.old, call_back) and filters.match_value(new, handler.new,
                                                                                            call_back):
                    passed.add(handler.id)
            except Exception:
                object_logger(key).exception("an old=/new= filter of %s failed; treating as no match", handler.id)
        return frozenset(passed)

    def _kwargs(self, handler: Handler, body: dict[str, Any], key: str, cause: Cause | None) -> dict[str, Any]:
        if cause is not None and handler.kind in CHANGE_KINDS:
            return self.kwargs.build(handler, body, key, reason=cause.reason, diff=cause.diff, old=cause.old,
                                     new=cause.new)
        return self.kwargs.build(handler, body, key, reason=None)
