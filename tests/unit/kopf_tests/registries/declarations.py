"""The machinery of the matching tests: declare handlers, build objects, ask opframe what runs."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import orjson

from opframe import on
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.causes import detect
from opframe.handlers.handler import Handler
from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry
from opframe.kube.resources import Resource
from opframe.objects.diffs import essence
from opframe.runtime.execution.filtering import FilterEvaluator
from opframe.runtime.execution.kwargs import KwargsBuilder, serialised
from opframe.runtime.reconcile.planner import plan

NAMES = ("kopf.dev", "v1", "kopfexamples")


RESOURCE = Resource("kopf.dev", "v1", "kopfexamples", "KopfExample")


ANNOTATIONS = Bookkeeping()


FINALIZER = "opframe.dev/finalizer"


BOOKKEEPING = Bookkeeping(finalizer=FINALIZER)


NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


KEY = "ns/name1"


def _never(*_: Any, **__: Any) -> bool:
    return False


def _always(*_: Any, **__: Any) -> bool:
    return True


def some_fn(**_: Any) -> None:
    pass


# -- the machinery: declare handlers, build objects, ask opframe what runs --------------------------

def declare(decorator: Callable[..., Any], *, fn: Callable[..., Any] = some_fn, registry: Registry | None = None,
            **options: Any) -> Handler:
    """A handler as the decorator registers it (the last one added)."""
    registry = registry if registry is not None else Registry()
    decorator(*NAMES, registry=registry, **options)(fn)
    return registry.handlers()[-1]


def timer(*names: str, **options: Any) -> Callable[[Any], Any]:
    return on.timer(*names, interval=1, **options)


def evaluator() -> FilterEvaluator:
    """The runtime's filter evaluator (its kwargs builder; no loop pool: the filters here are sync)."""
    return FilterEvaluator(KwargsBuilder(RESOURCE, None, Memo(), dict), None)


def passes(handler: Handler, body: dict[str, Any]) -> bool:
    """Whether the object passes all of the handler's filters, as the runtime decides it."""
    return evaluator().passes(handler, KEY, body, serialised(body))


def obj(fields: dict[str, Any] | None = None, *, handled: dict[str, Any] | None = None, deleting: bool = False,
        finalizers: list[str] | None = None, labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An object with these top-level fields; ``handled``: the fields when it was last handled."""
    metadata: dict[str, Any] = {"name": "name1", "namespace": "ns", "uid": "uid1", "resourceVersion": "1"}
    if labels is not None:
        metadata["labels"] = dict(labels)
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    if finalizers is not None:
        metadata["finalizers"] = list(finalizers)
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-01T11:59:00Z"
    body = {"apiVersion": "kopf.dev/v1", "kind": "KopfExample", "metadata": metadata, **(fields or {})}
    if handled is not None:
        base = essence(obj(handled, labels=labels, annotations=annotations), own_prefix=ANNOTATIONS.own_prefix)
        metadata.setdefault("annotations", {})[ANNOTATIONS.last_handled] = orjson.dumps(base).decode()
    return body


KNOWN = {"labels": {"known": "value"}, "annotations": {"known": "value"}}


def selected(handlers: list[Handler], body: dict[str, Any], *, first_sight: bool = False) -> list[str]:
    """Ids of the change handlers opframe selects for the object's cause, in their order."""
    cause = detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight)
    raw = serialised(body)
    found = evaluator().matching(handlers, KEY, body, raw, cause)
    return plan(body, handlers=handlers, matching=found, bookkeeping=BOOKKEEPING, first_sight=first_sight, now=NOW,
                cause=cause, old_new=evaluator().old_new(handlers, KEY, raw, cause)).selected


# -- functions to declare as handlers -----------------------------------------------------------------------

def fn1(**_: Any) -> None:
    pass


def fn2(**_: Any) -> None:
    pass
