"""Filters: which objects and which changes a handler wants (kopf's labels=, annotations=, field=, when=).

A label or annotation filter maps a key to a value, ``PRESENT``, ``ABSENT``, or a
callable of the value. Label filters that every handler of a resource shares become
a server-side label selector, so unwanted objects never reach the cache.

Callable filters are user code: kopf calls them as ``fn(value, **kwargs)`` with the
handler's keyword arguments, so the runtime passes a ``call`` that does so (on a
worker, with the handler's own copy of the object); without one they get the value alone.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Marker(enum.Enum):
    PRESENT = "PRESENT"
    ABSENT = "ABSENT"
    EVERYTHING = "EVERYTHING"

    def __repr__(self) -> str:
        return f"opframe.{self.value}"


PRESENT = Marker.PRESENT
ABSENT = Marker.ABSENT
#: kopf's "serve every resource" selector; opframe refuses it at decoration (name each resource).
EVERYTHING = Marker.EVERYTHING

#: Sentinel for "no value= / old= / new= filter given" (kopf: None means the same).
UNSET: Any = object()
#: A field that is not there at all (as opposed to one whose value is null): kopf's PRESENT and
#: ABSENT are about the key.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()

MetaFilter = Mapping[str, Any]


FilterCall = Callable[[Callable[..., Any], Any], Any]


def direct(fn: Callable[..., Any], value: Any) -> Any:
    """A callback called with the value alone (where no kwargs exist: tests, label selectors)."""
    return fn(value)


def has_callbacks(*wanted: Any) -> bool:
    """Whether any of these filters (label/annotation maps or values) holds a callable."""
    for item in wanted:
        values = item.values() if isinstance(item, Mapping) else (item,)
        if any(callable(value) and not isinstance(value, Marker) for value in values):
            return True
    return False


def match_meta(actual: Mapping[str, str] | None, wanted: MetaFilter | None, call: FilterCall = direct) -> bool:
    """Whether labels or annotations satisfy a filter; every key must match."""
    if not wanted:
        return True
    actual = actual or {}
    for key, expected in wanted.items():
        present = key in actual
        if expected is PRESENT:
            ok = present
        elif expected is ABSENT:
            ok = not present
        elif callable(expected):
            ok = bool(call(expected, actual.get(key)))
        else:
            ok = present and actual[key] == expected
        if not ok:
            return False
    return True


def match_value(value: Any, wanted: Any, call: FilterCall = direct) -> bool:
    """A value= / old= / new= filter: a literal, PRESENT, ABSENT, or a callable (kopf's meanings:
    PRESENT/ABSENT are about the key, so ``value`` is MISSING for a field that is not there;
    a callable gets None for it)."""
    if wanted is UNSET:
        return True
    if wanted is PRESENT:
        return value is not MISSING
    if wanted is ABSENT:
        return value is MISSING
    if callable(wanted):
        return bool(call(wanted, None if value is MISSING else value))
    return value is not MISSING and bool(value == wanted)


def field_value(body: Mapping[str, Any] | None, field: tuple[str, ...]) -> Any:
    """The value at ``field``, or MISSING when the key (or a parent of it) is not there."""
    value: Any = body
    for part in field:
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def label_selector(filters: list[MetaFilter | None]) -> str | None:
    """A selector every handler's label filter implies, or None if some handler takes all objects.

    Only plain values, PRESENT and ABSENT translate; callables stay client-side.
    """
    if not filters or any(not f for f in filters):
        return None
    common: set[str] | None = None
    for labels in filters:
        assert labels is not None
        requirements = set()
        for key, expected in labels.items():
            if expected is PRESENT:
                requirements.add(key)
            elif expected is ABSENT:
                requirements.add(f"!{key}")
            elif isinstance(expected, str):
                requirements.add(f"{key}={expected}")
        common = requirements if common is None else common & requirements
    return ",".join(sorted(common)) if common else None


Predicate = Callable[..., bool]


# -- kopf's combinators of callback filters: each returns a callback taking the same arguments ------

def not_(fn: Callable[..., Any]) -> Callable[..., bool]:
    """A callback true when ``fn`` is false."""
    def negated(*args: Any, **kwargs: Any) -> bool:
        return not fn(*args, **kwargs)
    return negated


def all_(fns: Iterable[Callable[..., Any]]) -> Callable[..., bool]:
    """A callback true when every one of ``fns`` is true (also when there are none)."""
    callbacks = list(fns)

    def conjunction(*args: Any, **kwargs: Any) -> bool:
        return all(fn(*args, **kwargs) for fn in callbacks)
    return conjunction


def any_(fns: Iterable[Callable[..., Any]]) -> Callable[..., bool]:
    """A callback true when at least one of ``fns`` is true."""
    callbacks = list(fns)

    def disjunction(*args: Any, **kwargs: Any) -> bool:
        return any(fn(*args, **kwargs) for fn in callbacks)
    return disjunction


def none_(fns: Iterable[Callable[..., Any]]) -> Callable[..., bool]:
    """A callback true when none of ``fns`` is true."""
    callbacks = list(fns)

    def nobody(*args: Any, **kwargs: Any) -> bool:
        return not any(fn(*args, **kwargs) for fn in callbacks)
    return nobody
