"""Indexer: the informer's thread-safe cache of objects, with indexes (semantics 3.1-3.4).

Objects are the JSON dicts the API server sent (after the informer's transform).
Keys are "namespace/name", or "name" for cluster-scoped objects.

The cache is compact: each object is kept as its JSON bytes (``get_raw``), about
its size on the wire, where the dicts it decodes to take 4-5 times as much; a
small cache of decoded bodies (``DECODED_CACHE_SIZE``, least recently used first
out) serves the objects just added and read again. docs/benchmarks.md has the
representations measured.

Invariants:

* ``_items[key]`` is the JSON of the object last added under ``key``;
  ``_decoded[key]``, when present, is that same object decoded (or the very dict
  that was added): a write to a key replaces or drops its decoded body under the
  same lock;
* ``_indices[index][value]`` is exactly the set of keys whose object yields
  ``value`` from that index's function; empty sets are removed. An index computed from
  the key alone (the namespace index) is built at its first query and kept from then on:
  until then it costs nothing (a set entry per object otherwise, 5% of a cached object);
* every mutation updates items and all indexes under one lock, so a reader never
  sees an object without its index entries or the other way round; an index
  function that raises (a programming error, 3.3) propagates and changes nothing;
* objects handed out may be shared with other readers (the decoded cache):
  callers must not mutate them (the runtime gives handlers copies, from
  ``get_raw``).
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

Object = dict[str, Any]
IndexFunc = Callable[[Object], list[str]]

#: The index every informer carries (semantics 3.2).
NAMESPACE_INDEX = "namespace"

#: Decoded bodies kept beside the JSON: enough for the objects the workers are about to read
#: (the last ones added: 16 workers, bursts of a few hundred keys) and for hot objects read again;
#: about 3 MB of dicts for objects of ~1.5 KB, the same at 1,000 or 100,000 objects.
DECODED_CACHE_SIZE = 512


class InvalidKeyError(ValueError):
    """An object without a name, or a key that does not split into namespace and name."""


def object_key(obj: Mapping[str, Any]) -> str:
    """"namespace/name" or "name" (client-go MetaNamespaceKeyFunc)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        raise InvalidKeyError("object has no metadata.name")
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def split_key(key: str) -> tuple[str | None, str]:
    """(namespace, name) of a key; namespace None for cluster-scoped keys (semantics 3.1)."""
    parts = key.split("/")
    if len(parts) == 1:
        return None, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise InvalidKeyError(f"unexpected key format: {key!r}")


def index_by_namespace(obj: Object) -> list[str]:
    namespace = obj.get("metadata", {}).get("namespace")
    return [namespace] if namespace else []


def _namespace_of_key(key: str) -> list[str]:
    """``index_by_namespace`` of the object under ``key``, from the key alone (no decoding)."""
    namespace, slash, _ = key.partition("/")
    return [namespace] if slash else []


#: Index functions whose values follow from the key: the Indexer computes them without the object.
_BY_KEY: dict[IndexFunc, Callable[[str], list[str]]] = {index_by_namespace: _namespace_of_key}


def encode(obj: Object) -> bytes:
    """``obj`` as JSON, in a bytes object of its own size: orjson's own result keeps the whole buffer
    it wrote into (4 KB for a 1.4 KB object, measured), which a cache of them would keep too."""
    return bytes(memoryview(orjson.dumps(obj)))


@dataclasses.dataclass(frozen=True, slots=True)
class Packed:
    """An object as its JSON bytes, with its key: what the cache keeps, and what a LIST's objects
    become as each page arrives (DeltaFIFO.prepare), so that a LIST of 100,000 objects is never
    100,000 dicts at once. ``unpack()`` gives a new dict each time."""

    key: str
    raw: bytes

    @classmethod
    def of(cls, obj: Object) -> Packed:
        return cls(object_key(obj), encode(obj))

    def unpack(self) -> Object:
        obj: Object = orjson.loads(self.raw)
        return obj


def unpacked(obj: Any) -> Any:
    """``obj`` as a dict if it is Packed; anything else as it is."""
    return obj.unpack() if isinstance(obj, Packed) else obj


class Indexer:
    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, bytes] = {}
        self._decoded: collections.OrderedDict[str, Object] = collections.OrderedDict()
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {
            name: {} for name, func in self._indexers.items() if func not in _BY_KEY}

    # -- reads ----------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get_by_key(self, key: str) -> Object | None:
        with self._lock:
            raw = self._items.get(key)
            return None if raw is None else self._decode(key, raw, remember=True)

    def get_raw(self, key: str) -> bytes | None:
        """The object's JSON as stored: what a private copy is decoded from, with no decoding here."""
        with self._lock:
            return self._items.get(key)

    def list_packed(self) -> builtins.list[Packed]:
        """Every object, packed (decoded by whoever needs it, one at a time)."""
        with self._lock:
            return [Packed(key, raw) for key, raw in self._items.items()]

    def get(self, obj: Object) -> Object | None:
        return self.get_by_key(object_key(obj))

    def list(self) -> builtins.list[Object]:
        with self._lock:
            return [self._decode(key, raw, remember=False) for key, raw in self._items.items()]

    def list_keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    # -- writes ---------------------------------------------------------------------------

    def add(self, obj: Object | Packed, decoded: Object | None = None) -> None:
        """Add or replace the object under its key (Add is the same as Update, 3.4). A Packed object
        is kept as it is; ``decoded``, if given, is the same object as a dict (kept decoded)."""
        if isinstance(obj, Packed):
            key, raw, body = obj.key, obj.raw, decoded
        else:
            key, raw, body = object_key(obj), encode(obj), obj
        with self._lock:
            old_raw = self._items.get(key)
            self._reindex(key, None if old_raw is None else lambda: self._decode(key, old_raw, remember=False),
                          lambda: body if body is not None else orjson.loads(raw))
            self._items[key] = raw
            if body is not None:
                self._remember(key, body)
            else:
                self._decoded.pop(key, None)

    update = add

    def delete(self, obj: Object) -> None:
        self.delete_key(object_key(obj))

    def delete_key(self, key: str) -> None:
        with self._lock:
            raw = self._items.get(key)
            if raw is not None:
                self._reindex(key, lambda: self._decode(key, raw, remember=False), None)
                del self._items[key]
                self._decoded.pop(key, None)

    def replace(self, objects: Iterable[Object | Packed]) -> None:
        """Swap in all items at once and rebuild every index."""
        items = {packed.key: packed.raw for packed in (
            obj if isinstance(obj, Packed) else Packed.of(obj) for obj in objects)}
        with self._lock:
            indices = {name: _build_index(func, items) for name, func in self._indexers.items()
                       if func not in _BY_KEY}
            self._items, self._indices = items, indices
            self._decoded.clear()

    # -- indexes --------------------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions; the items already present are indexed at once (3.4)."""
        with self._lock:
            clash = set(indexers) & set(self._indexers)
            if clash:
                raise ValueError(f"indexer(s) already exist: {sorted(clash)}")
            indices = {name: _build_index(func, self._items) for name, func in indexers.items()
                       if func not in _BY_KEY}
            self._indexers.update(indexers)
            self._indices.update(indices)

    def indexers(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._indexers)

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        """Keys whose object yields ``value``; unknown index is an error, unknown value is empty."""
        with self._lock:
            if index_name not in self._indexers:
                raise KeyError(f"index {index_name!r} does not exist")
            return sorted(self._index(index_name).get(value, ()))

    def by_index(self, index_name: str, value: str) -> builtins.list[Object]:
        with self._lock:
            return [self._decode(key, self._items[key], remember=False) for key in self.index_keys(index_name, value)]

    def index_values(self, index_name: str) -> builtins.list[str]:
        with self._lock:
            if index_name not in self._indexers:
                raise KeyError(f"index {index_name!r} does not exist")
            return sorted(self._index(index_name))

    def _index(self, name: str) -> dict[str, set[str]]:
        """The index ``name`` (an existing one), built now if it is computed from keys and was never asked for."""
        index = self._indices.get(name)
        if index is None:
            index = self._indices[name] = _build_index(self._indexers[name], self._items)
        return index

    # -- the decoded bodies (under the lock) ----------------------------------------------------

    def _decode(self, key: str, raw: bytes, *, remember: bool) -> Object:
        """The object stored under ``key``: its decoded body if kept, else ``raw`` decoded (and kept
        if ``remember``: single reads are the workers' and hot; a list of everything is not)."""
        kept = self._decoded.get(key)
        if kept is not None:
            self._decoded.move_to_end(key)
            return kept
        obj: Object = orjson.loads(raw)
        if remember:
            self._remember(key, obj)
        return obj

    def _remember(self, key: str, obj: Object) -> None:
        self._decoded[key] = obj
        self._decoded.move_to_end(key)
        if len(self._decoded) > DECODED_CACHE_SIZE:
            self._decoded.popitem(last=False)

    def _reindex(self, key: str, old: Callable[[], Object] | None, new: Callable[[], Object] | None) -> None:
        """Move ``key`` between index values; every index function runs before anything changes.
        ``old`` and ``new`` give the objects (decoded only if an index function needs them)."""
        changes: builtins.list[tuple[str, set[str], set[str]]] = []
        objects: dict[str, Object] = {}

        def values(func: IndexFunc, which: str, get: Callable[[], Object] | None) -> set[str]:
            if get is None:
                return set()
            by_key = _BY_KEY.get(func)
            if by_key is not None:
                return set(by_key(key))
            if which not in objects:
                objects[which] = get()
            return set(func(objects[which]))

        for name, func in self._indexers.items():
            if name in self._indices:  # not an index from keys that nobody asked for yet
                changes.append((name, values(func, "old", old), values(func, "new", new)))
        for name, old_values, new_values in changes:
            if old_values == new_values:
                continue
            index = self._indices[name]
            for value in old_values - new_values:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in new_values - old_values:
                index.setdefault(value, set()).add(key)


def _build_index(func: IndexFunc, items: Mapping[str, bytes]) -> dict[str, set[str]]:
    """The index of ``func`` over stored items (decoding each only if ``func`` needs the object)."""
    index: dict[str, set[str]] = {}
    by_key = _BY_KEY.get(func)
    for key, raw in items.items():
        for value in by_key(key) if by_key is not None else func(orjson.loads(raw)):
            index.setdefault(value, set()).add(key)
    return index
