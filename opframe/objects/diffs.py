"""Diffs and essences, as kopf defines them.

The *essence* of an object is what its handlers react to: every top-level field
except apiVersion, kind, metadata and status (so ``spec``, but also a ConfigMap's
``data``), plus its labels and annotations, without the framework's own annotations
and without kubectl's last-applied-configuration. It is what opframe persists as the
diff-base after handling, and what the next change is diffed against.

A diff is a ``Diff``: a tuple of ``DiffItem(operation, field, old, new)`` — kopf's
names, with ``.op`` (kopf's alias) and ``.path`` (opframe's earlier name) for the first
two — and ``operation`` a ``DiffOperation``: ``add``, ``change`` or ``remove`` (a str
enum, so it compares equal to those strings). Dicts are compared key by key, anything
else (lists too) as a whole value.

As in kopf, items and diffs compare equal to any sequence with the same contents (a
tuple or a list: ``item == ["add", ("a",), None, 1]``), and ``Diff(items)`` turns any
4-item sequences into ``DiffItem``s.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeAlias

#: Annotations that are never part of the essence.
KUBECTL_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: kopf's convention, shared by opframe: an operator marks its annotation prefix with
#: ``<prefix>/kopf-managed: "yes"``, and every operator that knows the convention leaves
#: all annotations under a marked prefix out of what it calls a change. Without it, two
#: operators on the same objects see each other's bookkeeping writes as updates forever.
MANAGED_MARKER = "kopf-managed"
#: kopf's default prefix (and any subdomain of it) counts as marked even without a
#: marker, as kopf itself treats it: operators of older kopf versions wrote no marker.
#: kopf's default prefix (opframe/kopf/storage.py reads kopf's bookkeeping under it).
KOPF_PREFIX = "kopf.zalando.org"
KNOWN_MANAGED_PREFIXES = (KOPF_PREFIX,)
SYSTEM_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "status"})


class DiffOperation(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"

    def __repr__(self) -> str:
        # kopf's: the operation shows as the plain string it compares equal to.
        return repr(self.value)


def _sequence_eq(mine: tuple[Any, ...], other: object) -> Any:
    """kopf's equality of diffs and their items: with any sequence of equal values (NotImplemented otherwise)."""
    return tuple(mine) == tuple(other) if isinstance(other, Sequence) else NotImplemented


class DiffItem(NamedTuple):  # noqa: PLW1641  (it keeps tuple's __hash__, see below)
    operation: DiffOperation
    field: tuple[str, ...]
    old: Any
    new: Any

    @property
    def op(self) -> DiffOperation:
        return self.operation

    @property
    def path(self) -> tuple[str, ...]:
        return self.field

    # kopf's: equal to any sequence of the same four values (a list too, not only a tuple).
    def __eq__(self, other: object) -> bool:
        equal: bool = _sequence_eq(self, other)
        return equal

    def __ne__(self, other: object) -> bool:
        equal = _sequence_eq(self, other)
        return equal if equal is NotImplemented else not equal

    # NB: no __hash__ here (mypy takes it for a field); NamedTuple sets the methods after
    # creating the class, so DiffItem keeps tuple's hash, as kopf's DiffItem does.


class _Diff(tuple[DiffItem, ...]):
    """kopf's ``Diff`` at runtime: a tuple of DiffItems, built from any 4-item sequences,
    equal to any sequence of equal items (a list of lists too)."""

    def __new__(cls, items: Iterable[Sequence[Any]] = (), /) -> Self:
        return super().__new__(cls, (item if isinstance(item, DiffItem) else DiffItem(*item) for item in items))

    def __eq__(self, other: object) -> bool:
        equal: bool = _sequence_eq(self, other)
        return equal

    def __ne__(self, other: object) -> bool:
        equal = _sequence_eq(self, other)
        return equal if equal is NotImplemented else not equal

    __hash__ = tuple.__hash__


_Diff.__name__ = _Diff.__qualname__ = "Diff"

if TYPE_CHECKING:
    # For type checkers a diff stays a tuple of items, so ``diff: Diff = ()`` defaults type-check.
    Diff: TypeAlias = tuple[DiffItem, ...]
else:
    Diff = _Diff


def parse_path(field: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if field is None:
        return ()
    if isinstance(field, str):
        return tuple(part for part in field.split(".") if part)
    return tuple(field)


def resolve_path(body: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = body
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def essence(body: Mapping[str, Any], *, own_prefix: str, include: tuple[tuple[str, ...], ...] = (),
            copied: bool = True) -> dict[str, Any]:
    """The essence of ``body``; annotations starting with ``own_prefix`` or under a
    prefix another operator marked as managed (kopf's convention) are left out.

    ``include`` adds fields that are otherwise outside the essence, such as
    ``("status", "phase")``: opframe tracks a status field when a handler names it
    (``field="status.phase"``), where kopf would ignore every status change.
    ``copied=False`` shares the body's values instead of deep copies: for comparing, never
    for keeping or changing.
    """
    clone = copy.deepcopy if copied else _same
    result = {key: clone(value) for key, value in body.items() if key not in SYSTEM_TOP_LEVEL}
    metadata = body.get("metadata") or {}
    labels = metadata.get("labels") or {}
    all_annotations: Mapping[str, Any] = metadata.get("annotations") or {}
    managed = managed_prefixes(all_annotations)
    annotations = {
        key: value for key, value in all_annotations.items()
        if key != KUBECTL_LAST_APPLIED and not key.startswith(own_prefix) and not _under(key, managed)
    }
    meta: dict[str, Any] = {}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = annotations
    if meta:
        result["metadata"] = meta
    # The included fields come last (as kopf's extra fields): ``metadata.<x>`` joins the
    # labels and annotations instead of being replaced by them.
    for path in include:
        value = resolve_path(body, path)
        if value is None or not path:
            continue
        target = result
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = clone(value)
    return result


def same_essence(old: Mapping[str, Any], new: Mapping[str, Any], *, own_prefix: str,
                 include: tuple[tuple[str, ...], ...] = ()) -> bool:
    """Whether two states of an object have the same essence: a change between them (our own
    bookkeeping write, a status-only change, a new resourceVersion alone) is no change to handle."""
    return essence(old, own_prefix=own_prefix, include=include, copied=False) == essence(
        new, own_prefix=own_prefix, include=include, copied=False)


def _same(value: Any) -> Any:
    return value


def managed_prefixes(annotations: Mapping[str, Any]) -> frozenset[str]:
    """The annotation prefixes some operator marked as its bookkeeping (see MANAGED_MARKER)."""
    prefixes = set()
    for key in annotations:
        prefix, slash, name = key.partition("/")
        if not slash:
            continue
        if name == MANAGED_MARKER or any(prefix == known or prefix.endswith(f".{known}")
                                         for known in KNOWN_MANAGED_PREFIXES):
            prefixes.add(prefix)
    return frozenset(prefixes)


def without_managed(essence_: dict[str, Any], prefixes: frozenset[str]) -> dict[str, Any]:
    """An essence (e.g. an old diff-base) without the annotations under ``prefixes``."""
    annotations = (essence_.get("metadata") or {}).get("annotations")
    if not annotations or not any(_under(key, prefixes) for key in annotations):
        return essence_
    kept = {key: value for key, value in annotations.items() if not _under(key, prefixes)}
    metadata = {k: v for k, v in essence_["metadata"].items() if k != "annotations"}
    if kept:
        metadata["annotations"] = kept
    result = {k: v for k, v in essence_.items() if k != "metadata"}
    if metadata:
        result["metadata"] = metadata
    return result


def _under(key: str, prefixes: frozenset[str]) -> bool:
    return bool(prefixes) and key.partition("/")[0] in prefixes and "/" in key


def diff(old: Any, new: Any, path: tuple[str, ...] = ()) -> Diff:
    return _Diff(_diff(old, new, path))


def _diff(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[DiffItem]:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old:
                yield DiffItem(DiffOperation.ADD, (*path, key), None, new[key])
            elif key not in new:
                yield DiffItem(DiffOperation.REMOVE, (*path, key), old[key], None)
            else:
                yield from _diff(old[key], new[key], (*path, key))
    elif old is None:
        yield DiffItem(DiffOperation.ADD, path, None, new)
    elif new is None:
        yield DiffItem(DiffOperation.REMOVE, path, old, None)
    else:
        yield DiffItem(DiffOperation.CHANGE, path, old, new)


def reduce(items: Iterable[Sequence[Any]], path: str | tuple[str, ...] | list[str] | None) -> Diff:
    """The part of a diff under ``path``, with paths made relative to it (for field handlers).

    As kopf's, it takes any sequence of 4-item sequences (DiffItems, tuples, lists) and a
    path as a tuple or a list (or a dotted string); the result is a ``Diff`` of DiffItems.
    """
    result = []
    field = parse_path(path)
    depth = len(field)
    for op, item_path, old, new in items:
        item_field = tuple(item_path)
        if item_field[:depth] == field:
            result.append(DiffItem(op, item_field[depth:], old, new))
        elif field[: len(item_field)] == item_field:
            # A change above the field: diff the field's own old and new values.
            tail = field[len(item_field):]
            result.extend(diff(resolve_path(old, tail), resolve_path(new, tail)))
    return _Diff(result)
