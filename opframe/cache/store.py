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
  ``value`` from that index's function; empty sets are removed;
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


class Indexer:
    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, bytes] = {}
        self._decoded: collections.OrderedDict[str, Object] = collections.OrderedDict()
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

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

    def add(self, obj: Object) -> None:
        """Add or replace the object under its key (Add is the same as Update, 3.4)."""
        key = object_key(obj)
        raw = orjson.dumps(obj)
        with self._lock:
            old_raw = self._items.get(key)
            old = None if old_raw is None else self._decode(key, old_raw, remember=False)
            self._reindex(key, old, obj)
            self._items[key] = raw
            self._remember(key, obj)

    update = add

    def delete(self, obj: Object) -> None:
        self.delete_key(object_key(obj))

    def delete_key(self, key: str) -> None:
        with self._lock:
            raw = self._items.get(key)
            if raw is not None:
                self._reindex(key, self._decode(key, raw, remember=False), None)
                del self._items[key]
                self._decoded.pop(key, None)

    def replace(self, objects: Iterable[Object]) -> None:
        """Swap in all items at once and rebuild every index."""
        latest = {object_key(obj): obj for obj in objects}
        items = {key: orjson.dumps(obj) for key, obj in latest.items()}
        with self._lock:
            indices = {name: _build_index(func, latest.items()) for name, func in self._indexers.items()}
            self._items, self._indices = items, indices
            self._decoded.clear()

    # -- indexes --------------------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions; the items already present are indexed at once (3.4)."""
        with self._lock:
            clash = set(indexers) & set(self._indexers)
            if clash:
                raise ValueError(f"indexer(s) already exist: {sorted(clash)}")
            present = [(key, self._decode(key, raw, remember=False)) for key, raw in self._items.items()]
            indices = {name: _build_index(func, present) for name, func in indexers.items()}
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
            return sorted(self._indices[index_name].get(value, ()))

    def by_index(self, index_name: str, value: str) -> builtins.list[Object]:
        with self._lock:
            return [self._decode(key, self._items[key], remember=False) for key in self.index_keys(index_name, value)]

    def index_values(self, index_name: str) -> builtins.list[str]:
        with self._lock:
            if index_name not in self._indexers:
                raise KeyError(f"index {index_name!r} does not exist")
            return sorted(self._indices[index_name])

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

    def _reindex(self, key: str, old: Object | None, new: Object | None) -> None:
        """Move ``key`` between index values; every index function runs before anything changes."""
        changes: builtins.list[tuple[str, set[str], set[str]]] = []
        for name, func in self._indexers.items():
            old_values = set(func(old)) if old is not None else set()
            new_values = set(func(new)) if new is not None else set()
            changes.append((name, old_values, new_values))
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


def _build_index(func: IndexFunc, items: Iterable[tuple[str, Object]]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for key, obj in items:
        for value in func(obj):
            index.setdefault(value, set()).add(key)
    return index
