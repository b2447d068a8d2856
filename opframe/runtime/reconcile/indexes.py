"""Operator indexes (``opframe.index``): named, always-current lookups over a kind's objects.

An index function runs for every object the kind's informer holds, as kopf's do, and
returns a value (filed under the key None) or a dict of key -> value. The index maps
each key to the list of values from all objects, and is passed to every handler as a
keyword argument named after the index.

Index functions are user code, so they run on workers, never on the informer's
notification thread: ``rebuild()`` fills an index from the whole cache when the
operator starts handling (start-up, or taking over as leader), before any worker
starts; from then on the worker that reconciles a key ``refresh()``es that key's
entries first, so a handler sees every change up to its own object's. A standby
replica runs no index function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from opframe.handlers.handler import Handler
from opframe.handlers.memos import Memo
from opframe.kube.resources import Resource
from opframe.objects.patches import Patch
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.filtering import passes_with
from opframe.runtime.execution.kwargs import fresh_body, object_kwargs
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.telemetry.logs import object_logger

K = TypeVar("K")
V = TypeVar("V")


class Store(list[V]):
    """The values filed under one index key, from every object (kopf's ``Store``: a collection)."""


class Index(Mapping[K, Store[V]], Generic[K, V]):
    """A read-only view: key -> values from every indexed object (kopf's ``Index[K, V]``).

    Invariant: ``_values[k]`` holds exactly the values that the objects in
    ``_by_object`` file under ``k`` (by object key), and no ``k`` maps to nothing; it is
    updated on each object's change, so a read costs no walk over all objects.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_object: dict[str, dict[Any, Any]] = {}
        self._values: dict[Any, dict[str, Any]] = {}

    def _set(self, object_key: str, contribution: dict[Any, Any] | None) -> None:
        with self._lock:
            for key in self._by_object.pop(object_key, {}):
                values = self._values[key]
                del values[object_key]
                if not values:
                    del self._values[key]
            if contribution:
                self._by_object[object_key] = contribution
                for key, value in contribution.items():
                    self._values.setdefault(key, {})[object_key] = value

    def __getitem__(self, key: K) -> Store[V]:
        with self._lock:
            return Store(self._values[key].values())

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._values))

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


class OperatorIndexes:
    def __init__(self, runner: LoopPool) -> None:
        self._runner = runner
        self._handlers: list[tuple[Resource, Handler]] = []
        self.indexes: dict[str, Index[Any, Any]] = {}

    def declare(self, resource: Resource, handler: Handler) -> None:
        self._handlers.append((resource, handler))
        self.indexes[handler.id] = Index()

    def declares(self, resource: Resource) -> bool:
        return any(indexed == resource for indexed, _ in self._handlers)

    def rebuild(self, resource: Resource, objects: Iterable[tuple[str, bytes]],
                memo_for: Callable[[str], Memo] | None = None) -> None:
        """Index every (key, serialised body) of the kind's cache."""
        if self.declares(resource):
            for key, raw in objects:
                self.refresh(resource, key, raw, memo=memo_for(key) if memo_for is not None else None)

    def refresh(self, resource: Resource, key: str, raw: bytes | None, *, memo: Memo | None = None) -> None:
        """Re-index one object from its serialised body (None: it is gone). An index function gets what
        kopf gives it: every index (as the handlers do), the object's kwargs, its ``memo`` and a
        ``patch`` that is never applied."""
        for indexed, handler in self._handlers:
            if indexed != resource:
                continue
            index = self.indexes[handler.id]
            if raw is None:
                index._set(key, None)
                continue
            body = fresh_body(raw)
            kwargs = {**self.kwargs(), "memo": memo if memo is not None else Memo(), "patch": Patch(),
                      **object_kwargs(body), "logger": object_logger(key), "resource": resource,
                      "param": handler.param}
            try:
                # kopf's rule: an index function's filters (labels=, annotations=, field=/value=, when=)
                # decide which objects it indexes; an object that stops matching leaves the index.
                value = call(handler, kwargs, self._runner) if passes_with(handler, body, kwargs, self._runner) \
                    else None
            except Exception:
                object_logger(key).exception("index %s failed; the object is left out of it", handler.id)
                value = None
            index._set(key, value if isinstance(value, dict) else ({None: value} if value is not None else None))

    def kwargs(self) -> dict[str, Index[Any, Any]]:
        return dict(self.indexes)
