"""Calling handlers: keyword arguments as in kopf, sync and async functions alike.

Sync handlers run on the worker thread that took the key; async ones on the
operator's LoopPool (see loops.py). Handlers that do not take ``**kwargs`` get only
the arguments they name, as kopf's ``**_`` convention allows.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from opframe.handlers.hierarchies import current_owner
from opframe.handlers.registry import Handler
from opframe.runtime.loops import LoopPool


class Patch(dict[str, Any]):
    """Changes a handler wants on its object, merged into the reconcile's one PATCH.

    ``patch.status["x"] = 1`` or ``patch.spec[...]``, ``patch.metadata.labels`` ... create
    the nested dicts as they are touched; ``None`` values delete fields (merge patch).
    """

    def _section(self, name: str) -> dict[str, Any]:
        section = self.setdefault(name, {})
        if not isinstance(section, dict):
            raise TypeError(f"patch[{name!r}] is not a mapping")
        return section

    @property
    def status(self) -> dict[str, Any]:
        return self._section("status")

    @property
    def spec(self) -> dict[str, Any]:
        return self._section("spec")

    @property
    def metadata(self) -> _MetaPatch:
        section = self._section("metadata")
        return _MetaPatch(section)

    meta = metadata


class _MetaPatch:
    def __init__(self, section: dict[str, Any]) -> None:
        self._section = section

    @property
    def labels(self) -> dict[str, Any]:
        labels: dict[str, Any] = self._section.setdefault("labels", {})
        return labels

    @property
    def annotations(self) -> dict[str, Any]:
        annotations: dict[str, Any] = self._section.setdefault("annotations", {})
        return annotations

    def __setitem__(self, key: str, value: Any) -> None:
        self._section[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._section[key]


class Memo(dict[str, Any]):
    """A dict with attribute access, shared by all handlers of an operator (kopf's memo)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Signature:
    """Which keyword arguments a function accepts (computed once per handler)."""

    _cache: dict[Callable[..., Any], tuple[bool, frozenset[str]]] = {}
    _lock = threading.Lock()

    @classmethod
    def accepts(cls, fn: Callable[..., Any]) -> tuple[bool, frozenset[str]]:
        try:
            hash(fn)
        except TypeError:  # e.g. a callable dataclass instance: inspect it each time
            return cls._inspect(fn)
        with cls._lock:
            known = cls._cache.get(fn)
        if known is not None:
            return known
        result = cls._inspect(fn)
        with cls._lock:
            cls._cache[fn] = result
        return result

    @staticmethod
    def _inspect(fn: Callable[..., Any]) -> tuple[bool, frozenset[str]]:
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            result: tuple[bool, frozenset[str]] = (True, frozenset())
        else:
            var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
            names = frozenset(p.name for p in parameters
                              if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))
            result = (var_keyword, names)
        return result


def accepted_kwargs(handler: Handler, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the handler's function takes."""
    var_keyword, names = _Signature.accepts(handler.fn)
    return dict(kwargs) if var_keyword else {k: v for k, v in kwargs.items() if k in names}


def _owner(kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    body = kwargs.get("body")
    return body if isinstance(body, Mapping) else None


def coroutine_of(handler: Handler, kwargs: Mapping[str, Any]) -> Coroutine[Any, Any, Any]:
    """The coroutine of an async handler, with the kwargs it accepts, run with its object as
    the current owner (``kopf.adopt(child)`` without ``owner=``, also in tasks it creates)."""
    arguments = accepted_kwargs(handler, kwargs)
    owner = _owner(kwargs)

    async def scoped() -> Any:
        token = current_owner.set(owner)
        try:
            return await handler.fn(**arguments)
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
    arguments = accepted_kwargs(handler, kwargs)
    token = current_owner.set(_owner(kwargs))
    try:
        return handler.fn(**arguments)
    finally:
        current_owner.reset(token)


class ObjectLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes each line with the object's key, as kopf's per-object loggers do."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        return f"[{extra.get('object', '?')}] {msg}", {**kwargs, "extra": {**kwargs.get("extra", {}), **extra}}


def object_logger(key: str) -> ObjectLogger:
    return ObjectLogger(logging.getLogger("opframe.handlers"), {"object": key})
