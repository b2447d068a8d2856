"""kopf's ``Patch``: the changes a handler wants on its object, and the JSON-patch diff engine.

A ``Patch`` is a JSON merge patch (RFC 7386) with live section views (``patch.spec``,
``patch.status``, ``patch.meta.labels`` ...) and ``fns`` (functions that change a raw body
in place); ``as_json_patch()`` turns both into RFC 6902 operations against a body.
Dependency-free: the planner (pure) and the writer build on it.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Self, TypeVar, cast

#: A function that changes a raw body in place (kopf's ``PatchFn``).
PatchFn = Callable[[dict[str, Any]], None]


class Patch(dict[str, Any]):
    """Changes a handler wants on its object, merged into the reconcile's one PATCH (kopf's ``Patch``).

    The mapping itself is a JSON merge patch (RFC 7386): ``None`` values delete fields.
    ``patch.spec``, ``patch.status``, ``patch.metadata`` (also ``patch.meta``, with ``.labels`` and
    ``.annotations``) are live views: reading them adds nothing, and a section appears in the patch
    only once something is written into it. ``fns`` are functions that change a raw body in place,
    applied after the merge patch by ``as_json_patch()``. Only what was written is in the dict, so
    ``dict(patch)`` and JSON serialisers see exactly the merge patch. (The runtime writes
    ``dict(patch)``; the writer then sends what ``fns`` change as a JSON patch.)
    """

    def __init__(self, src: Mapping[str, Any] | None = None, /,
                 body: Mapping[str, Any] | None = None, fns: Iterable[PatchFn] = ()) -> None:
        super().__init__(src if src is not None else {})
        self._original = body
        self._fns: list[PatchFn] = [*(src.fns if isinstance(src, Patch) else ()), *fns]
        self._spec: _SectionPatch[Any] = _SectionPatch(self, ("spec",))
        self._status: _SectionPatch[Any] = _SectionPatch(self, ("status",))
        self._metadata = _MetaPatch(self)

    def __repr__(self) -> str:
        texts = [super().__repr__()] if len(self) else []
        if self._fns:
            texts.append(f"fns={self._fns!r}")
        return f"{type(self).__name__}({', '.join(texts)})"

    def __bool__(self) -> bool:
        return len(self) > 0 or bool(self._fns)

    def __copy__(self) -> Patch:
        return type(self)(self, body=self._original)  # views of its own, not of this patch

    def clear(self) -> None:
        super().clear()
        self._fns.clear()

    @property
    def fns(self) -> list[PatchFn]:
        """Functions that change the raw body in place, applied after the merge patch."""
        return self._fns

    @property
    def spec(self) -> _SectionPatch[Any]:
        return self._spec.checked()

    @property
    def status(self) -> _SectionPatch[Any]:
        return self._status.checked()

    @property
    def metadata(self) -> _MetaPatch:
        return self._metadata.checked()

    @property
    def meta(self) -> _MetaPatch:
        return self._metadata.checked()

    def as_json_patch(self, body: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The JSON patch (RFC 6902 ops) that makes ``body`` (else the patch's own ``body=``) what
        this patch wants: the merge patch applied to a copy of it, then the fns, then diffed.

        No-op changes give no ops (deleting an absent key, setting a value already there); a
        mapping emptied by deleting its keys is deleted too, as kopf does. ``body`` is not changed.
        """
        if not self:
            return []
        base = body if body is not None else self._original
        if base is None:
            raise ValueError("Cannot build a JSON-patch without the original body as a reference.")
        before: dict[str, Any] = _thawed(base)
        after: dict[str, Any] = _thawed(base)
        _merge(after, self)
        for fn in self._fns:
            fn(after)
        ops: list[dict[str, Any]] = []
        _diff(ops, "", before, after)
        return ops


_V = TypeVar("_V")


class _SectionPatch(MutableMapping[str, _V]):
    """A live view of one section of a patch (``spec``, ``metadata.labels`` ...), as kopf's views:
    reads go to the patch each time (a missing section reads as empty, and is not added), the first
    write creates the section."""

    def __init__(self, patch: Patch, path: tuple[str, ...]) -> None:
        self._patch = patch
        self._path = path

    def checked(self) -> Self:
        """This view, or a TypeError if its section is in the patch but is not a mapping."""
        node: Any = self._patch
        for depth, key in enumerate(self._path):
            node = node.get(key)
            if node is None:
                break
            if not isinstance(node, Mapping):
                raise TypeError(f"{self._where(depth)} is not a mapping")
        return self

    def _where(self, depth: int) -> str:
        return "patch" + "".join(f"[{key!r}]" for key in self._path[:depth + 1])

    def _section(self) -> Mapping[str, _V]:
        node: Any = self._patch
        for key in self._path:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    def _writable(self) -> MutableMapping[str, _V]:
        node: Any = self._patch
        for depth, key in enumerate(self._path):
            if key not in node:
                node[key] = {}
            node = node[key]
            if not isinstance(node, MutableMapping):
                raise TypeError(f"{self._where(depth)} is not a mapping")
        return cast(MutableMapping[str, _V], node)

    def __getitem__(self, key: str) -> _V:
        return self._section()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._section())

    def __len__(self) -> int:
        return len(self._section())

    def __setitem__(self, key: str, value: _V) -> None:
        self._writable()[key] = value

    def __delitem__(self, key: str) -> None:
        section = self._section()
        if not isinstance(section, MutableMapping) or key not in section:
            raise KeyError(key)
        del section[key]

    def __repr__(self) -> str:
        return repr(dict(self))


class _MetaPatch(_SectionPatch[Any]):
    """``patch.metadata``/``patch.meta``, with its ``labels`` and ``annotations`` views."""

    def __init__(self, patch: Patch) -> None:
        super().__init__(patch, ("metadata",))
        self._labels: _SectionPatch[str | None] = _SectionPatch(patch, ("metadata", "labels"))
        self._annotations: _SectionPatch[str | None] = _SectionPatch(patch, ("metadata", "annotations"))

    @property
    def labels(self) -> _SectionPatch[str | None]:
        return self._labels.checked()

    @property
    def annotations(self) -> _SectionPatch[str | None]:
        return self._annotations.checked()


def _thawed(value: Any) -> Any:
    """A deep copy of a body or a value in it, with plain dicts and lists for its mappings and sequences."""
    if isinstance(value, Mapping):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thawed(item) for item in value]
    return copy.deepcopy(value)


def _merge(target: dict[str, Any], changes: Mapping[str, Any]) -> bool:
    """Apply a merge patch to a raw body in place; whether it deleted (or tried to delete) a key.

    As kopf: an empty mapping changes nothing, and a mapping left empty by deletions is deleted.
    A mapping with values to set, merged over a non-mapping value, replaces it (RFC 7386).
    """
    deleting = False
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
            deleting = True
        elif isinstance(value, Mapping):
            present = key in target
            child = target.get(key)
            if not isinstance(child, dict):
                child = {}
            emptied = _merge(child, value)
            deleting = deleting or emptied
            if child:
                target[key] = child
            elif present and emptied:
                del target[key]
        else:
            target[key] = _thawed(value)
    return deleting


def _pointer(path: str, key: object) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _json_key(value: Any) -> Hashable:
    """A hashable key, equal for values equal as JSON (``1 == 1.0``, but ``True != 1``)."""
    match value:
        case Mapping():
            return ("map", frozenset((key, _json_key(item)) for key, item in value.items()))
        case list() | tuple():
            return ("list", tuple(_json_key(item) for item in value))
        case bool():
            return ("bool", value)
        case int() | float():
            return ("number", value)
        case _:
            try:
                hash(value)
            except TypeError:
                return ("repr", repr(value))
            return ("other", value)


def _diff(ops: list[dict[str, Any]], path: str, old: Any, new: Any) -> None:
    """Append the JSON-patch ops that turn ``old`` into ``new`` (both at ``path``) to ``ops``."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        ops.extend({"op": "remove", "path": _pointer(path, key)} for key in old if key not in new)
        ops.extend({"op": "add", "path": _pointer(path, key), "value": _thawed(value)}
                   for key, value in new.items() if key not in old)
        for key in old:
            if key in new:
                _diff(ops, _pointer(path, key), old[key], new[key])
    elif isinstance(old, list) and isinstance(new, list):
        _diff_lists(ops, path, old, new)
    elif _json_key(old) != _json_key(new):
        ops.append({"op": "replace", "path": path, "value": _thawed(new)})


def _diff_lists(ops: list[dict[str, Any]], path: str, old: list[Any], new: list[Any]) -> None:
    """Ops for the items inserted, deleted and changed, from the longest runs of equal items;
    indices are of the list as the earlier ops left it."""
    matcher = difflib.SequenceMatcher(None, [_json_key(item) for item in old], [_json_key(item) for item in new],
                                      autojunk=False)
    shift = 0  # how much longer the list already is than ``old`` before the current run
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        index, removed, added = old_start + shift, old_end - old_start, new_end - new_start
        common = min(removed, added)
        for offset in range(common):
            _diff(ops, _pointer(path, index + offset), old[old_start + offset], new[new_start + offset])
        ops.extend({"op": "remove", "path": _pointer(path, index + common)} for _ in range(removed - common))
        ops.extend({"op": "add", "path": _pointer(path, index + offset), "value": _thawed(new[new_start + offset])}
                   for offset in range(common, added))
        shift += added - removed
