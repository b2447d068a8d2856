"""The registry: every handler the operator's code declared, with its resource and filters.

Decorators (``opframe.on``, ``opframe.timer``, ``opframe.daemon``, ``opframe.index``)
add to the default registry at import time of the operator's file; the runtime reads
it once at start-up. Invariants:

* a handler id is unique per resource and handler kind (kopf's rule: the function's
  name, plus ``/field`` for field handlers; ``id=`` overrides it);
* a resource is kept as the names the author wrote; the runtime resolves it through
  discovery, so a typo is a start-up error, not a silent no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from opframe.handlers.filters import UNSET
from opframe.handlers.handler import Handler, Kind, handler_id
from opframe.objects.diffs import parse_path


class DuplicateHandlerError(ValueError):
    pass


def _same_code(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """The same function, or the same source (its file and line): a module executed twice."""
    if a is b:
        return True
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return (code_a is not None and code_b is not None
            and (code_a.co_filename, code_a.co_firstlineno) == (code_b.co_filename, code_b.co_firstlineno))


class Registry:
    """Thread-safe list of handlers; the default one collects what decorators declare."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[Handler] = []

    def add(self, handler: Handler) -> Handler:
        with self._lock:
            for known in self._handlers:
                if known.id == handler.id and known.resource == handler.resource and known.kind is handler.kind:
                    if _same_code(known.fn, handler.fn):
                        return known  # kopf's rule: the same function declared again (a module loaded twice)
                    raise DuplicateHandlerError(
                        f"handler id {handler.id!r} is declared twice for {'/'.join(handler.resource)} "
                        f"({handler.kind.value}); give one of them id=...")
            self._handlers.append(handler)
        return handler

    def handlers(self, *kinds: Kind) -> list[Handler]:
        with self._lock:
            return [h for h in self._handlers if not kinds or h.kind in kinds]

    def resources(self) -> list[tuple[str, ...]]:
        """The resource names used, in declaration order, without repeats."""
        seen: dict[tuple[str, ...], None] = {}
        for handler in self.handlers():
            if handler.resource:
                seen.setdefault(handler.resource, None)
        return list(seen)

    def clear(self) -> None:
        with self._lock:
            self._handlers.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._handlers)


default_registry = Registry()
#: kopf's name for a registry.
OperatorRegistry = Registry


def get_default_registry() -> Registry:
    """The registry decorators add to when given no ``registry=``."""
    return default_registry


def set_default_registry(registry: Registry) -> None:
    """Make ``registry`` the one decorators add to from now on (kopf's; e.g. per test)."""
    global default_registry  # noqa: PLW0603 - kopf's API: a process-wide default set by a call
    default_registry = registry


def make(kind: Kind, fn: Callable[..., Any], resource: tuple[str, ...], *, id: str | None = None,
         field: str | tuple[str, ...] | list[str] | None = None, labels: Mapping[str, Any] | None = None,
         annotations: Mapping[str, Any] | None = None, requires_finalizer: bool | None = None,
         **options: Any) -> Handler:
    """A Handler from a decorator's arguments, checked as kopf checks them at decoration."""
    if requires_finalizer is not None:
        options["finalizer_required"] = requires_finalizer
    for filter_name in ("value", "old", "new"):  # kopf: None means "no filter"
        if filter_name in options and options[filter_name] is None:
            options[filter_name] = UNSET
    path = parse_path(field)
    given = [name for name in ("value", "old", "new") if options.get(name, UNSET) is not UNSET]
    if given and not path:
        raise TypeError(f"{', '.join(n + '=' for n in given)} need field= (the field whose value they filter)")
    if "value" in given and ("old" in given or "new" in given):
        raise TypeError("both value= and old=/new= are given; use one of them")
    for what, mapping in (("labels", labels), ("annotations", annotations)):
        if mapping and any(v is None for v in mapping.values()):
            raise ValueError(f"{what}= has None for {[k for k, v in mapping.items() if v is None]}; use "
                             "opframe.ABSENT for 'not there' or opframe.PRESENT for 'there, any value'")
    return Handler(id=handler_id(fn, path, id), fn=fn, kind=kind, resource=resource, field=path,
                   labels=dict(labels) if labels else None,
                   annotations=dict(annotations) if annotations else None, **options)
