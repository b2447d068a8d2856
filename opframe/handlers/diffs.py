"""Diffs and essences, as kopf defines them.

The *essence* of an object is what its handlers react to: every top-level field
except apiVersion, kind, metadata and status (so ``spec``, but also a ConfigMap's
``data``), plus its labels and annotations, without the framework's own annotations
and without kubectl's last-applied-configuration. It is what opframe persists as the
diff-base after handling, and what the next change is diffed against.

A diff is a tuple of ``DiffItem(op, path, old, new)`` with op ``add``, ``change`` or
``remove``; dicts are compared key by key, anything else as a whole value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

#: Annotations that are never part of the essence.
KUBECTL_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SYSTEM_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "status"})


class DiffItem(NamedTuple):
    op: str
    path: tuple[str, ...]
    old: Any
    new: Any


Diff = tuple[DiffItem, ...]


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


def essence(body: Mapping[str, Any], *, own_prefix: str, include: tuple[tuple[str, ...], ...] = ()) -> dict[str, Any]:
    """The essence of ``body``; annotations starting with ``own_prefix`` are left out.

    ``include`` adds fields that are otherwise outside the essence, such as
    ``("status", "phase")``: opframe tracks a status field when a handler names it
    (``field="status.phase"``), where kopf would ignore every status change.
    """
    result = {key: copy.deepcopy(value) for key, value in body.items() if key not in SYSTEM_TOP_LEVEL}
    for path in include:
        value = resolve_path(body, path)
        if value is None or not path:
            continue
        target = result
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = copy.deepcopy(value)
    metadata = body.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = {
        key: value for key, value in (metadata.get("annotations") or {}).items()
        if key != KUBECTL_LAST_APPLIED and not key.startswith(own_prefix)
    }
    meta: dict[str, Any] = {}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = annotations
    if meta:
        result["metadata"] = meta
    return result


def diff(old: Any, new: Any, path: tuple[str, ...] = ()) -> Diff:
    return tuple(_diff(old, new, path))


def _diff(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[DiffItem]:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old:
                yield DiffItem("add", (*path, key), None, new[key])
            elif key not in new:
                yield DiffItem("remove", (*path, key), old[key], None)
            else:
                yield from _diff(old[key], new[key], (*path, key))
    elif old is None:
        yield DiffItem("add", path, None, new)
    elif new is None:
        yield DiffItem("remove", path, old, None)
    else:
        yield DiffItem("change", path, old, new)


def reduce(items: Diff, path: tuple[str, ...]) -> Diff:
    """The part of a diff under ``path``, with paths made relative to it (for field handlers)."""
    result = []
    depth = len(path)
    for item in items:
        if item.path[:depth] == path:
            result.append(DiffItem(item.op, item.path[depth:], item.old, item.new))
        elif path[: len(item.path)] == item.path:
            # A change above the field: diff the field's own old and new values.
            old = resolve_path(item.old, path[len(item.path):]) if isinstance(item.old, Mapping) else None
            new = resolve_path(item.new, path[len(item.path):]) if isinstance(item.new, Mapping) else None
            result.extend(diff(old, new))
    return tuple(result)
