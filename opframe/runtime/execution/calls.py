"""Calling user code: keyword arguments as in kopf, sync and async functions alike.

Sync callables run on the calling thread (a worker, a finisher); async ones on the
operator's LoopPool (loops.py). A callable that does not take ``**kwargs`` gets only the
arguments it names, as kopf's ``**_`` convention allows. While a handler runs, its object
is the current owner (handlers/owners.py), so ``kopf.adopt(child)`` needs no ``owner=``.
"""

from __future__ import annotations

import datetime
import inspect
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, NamedTuple

from opframe.handlers.handler import Handler
from opframe.handlers.owners import current_owner
from opframe.handlers.retries import PermanentError
from opframe.models.typed import ModelMismatch, TypedCall, typed_parameters, validity_conditions
from opframe.runtime.execution.loops import LoopPool


class _Shape(NamedTuple):
    """What the runtime needs to know of a handler's signature."""

    var_keyword: bool
    names: frozenset[str]
    #: The parameters that ask for typed kwargs (models/typed.py).
    typed: dict[str, Any]


class _Signature:
    """A function's _Shape (computed once per handler)."""

    #: by code object: closures made per call (kopf's sub-handlers) share one entry, so it stays bounded.
    _cache: dict[Any, _Shape] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> _Shape:
        try:
            hash(fn)
        except TypeError:  # e.g. a callable dataclass instance: inspect it each time
            return cls._inspect(fn)
        with cls._lock:
            known = cls._cache.get(getattr(fn, "__code__", fn))
        if known is not None:
            return known
        result = cls._inspect(fn)
        with cls._lock:
            cls._cache[getattr(fn, "__code__", fn)] = result
        return result

    @staticmethod
    def _inspect(fn: Callable[..., Any]) -> _Shape:
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return _Shape(True, frozenset(), {})
        var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
        names = frozenset(p.name for p in parameters
                          if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))
        return _Shape(var_keyword, names, typed_parameters(fn))


def typed_arguments(handler: Handler, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], TypedCall | None]:
    """The arguments the handler takes, with typed models where its annotations ask for them (opframe's
    CustomResource classes, ``spec``/``status`` models). An object that does not fit them is a
    PermanentError naming the fields: the handler is not called, and not retried until the object
    changes."""
    arguments = accepted_kwargs(handler, kwargs)
    parameters = _Signature.of(handler.fn).typed
    if not parameters:
        return arguments, None
    try:
        typed = TypedCall(parameters, kwargs)
    except ModelMismatch as exc:
        _set_validity(kwargs, str(exc))
        raise PermanentError(str(exc)) from None
    arguments.update(typed.values)
    return arguments, typed


def _set_validity(kwargs: Mapping[str, Any], problem: str | None) -> None:
    """The object's Valid condition, in the handler's patch, when it changes."""
    body, patch = kwargs.get("body"), kwargs.get("patch")
    if not isinstance(body, Mapping) or not isinstance(patch, dict):
        return
    conditions = validity_conditions(body, problem, datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if conditions is not None:
        patch.setdefault("status", {})["conditions"] = conditions


def write_back(typed: TypedCall | None, kwargs: Mapping[str, Any]) -> None:
    """What the handler changed in a typed status goes into its patch (the reconcile's one PATCH), and a
    Valid condition that said the object did not fit becomes True."""
    if typed is None:
        return
    _set_validity(kwargs, None)
    changes = typed.status_changes()
    patch = kwargs.get("patch")
    if changes and isinstance(patch, dict):
        patch.setdefault("status", {}).update(changes)


def accepted_kwargs(handler: Handler, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the handler's function takes."""
    return accepted_by(handler.fn, kwargs)


def accepted_by(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` takes (all of them with ``**kwargs``)."""
    var_keyword, names, _ = _Signature.of(fn)
    return dict(kwargs) if var_keyword else {k: v for k, v in kwargs.items() if k in names}


def _owner(kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    body = kwargs.get("body")
    return body if isinstance(body, Mapping) else None


def coroutine_of(handler: Handler, kwargs: Mapping[str, Any]) -> Coroutine[Any, Any, Any]:
    """The coroutine of an async handler, with the kwargs it accepts, run with its object as
    the current owner (``kopf.adopt(child)`` without ``owner=``, also in tasks it creates)."""
    arguments, typed = typed_arguments(handler, kwargs)
    owner = _owner(kwargs)

    async def scoped() -> Any:
        token = current_owner.set(owner)
        try:
            result = await handler.fn(**arguments)
            write_back(typed, kwargs)
            return result
        finally:
            current_owner.reset(token)

    return scoped()


def call(handler: Handler, kwargs: Mapping[str, Any], loops: LoopPool | None) -> Any:
    """Call a handler with the kwargs it accepts and wait for its result (async ones on ``loops``);
    its object (``kwargs["body"]``) is the current owner while it runs."""
    if handler.is_async:
        if loops is None:
            raise RuntimeError("an async handler needs the operator's LoopPool")
        return loops.run(coroutine_of(handler, kwargs), name=handler.id)
    arguments, typed = typed_arguments(handler, kwargs)
    token = current_owner.set(_owner(kwargs))
    try:
        result = handler.fn(**arguments)
        write_back(typed, kwargs)
        return result
    finally:
        current_owner.reset(token)
