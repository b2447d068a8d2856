"""DeltaFIFO: per-object lists of changes between the Reflector and the informer (semantics 2.1-2.9).

The Reflector adds what it sees; the informer pops one key at a time with every
delta queued for it since the last pop. So however fast an object changes, its key
is processed once per pop with its whole story, oldest delta first.

Invariants:

* a key is in ``_queue`` exactly when it is in ``_items``, and at most once (2.1);
* ``_items[key]`` is one Delta, or a list of two or more (a LIST of 100,000 keys makes
  no list per key: 80 bytes each that the allocator would keep after the pops);
* only a trailing pair of Deleted deltas is ever merged (2.3): the newer is kept if
  the older is a tombstone, else the older;
* ``pop`` calls ``process`` while holding the lock, as client-go does, so that the
  informer's store (``known_objects``) and the FIFO change together: ``replace``
  and ``resync`` never see a popped key missing from both.

opframe keeps the DeltaFIFO model although client-go >= 1.33 moved informers to
RealFIFO (no per-key collapsing): collapsing bursts per object is the point here.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from opframe.cache.store import Object, Packed, object_key


class DeltaType(enum.Enum):
    ADDED = "Added"
    UPDATED = "Updated"
    DELETED = "Deleted"
    REPLACED = "Replaced"
    SYNC = "Sync"


@dataclasses.dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A tombstone: the object was deleted while we were not watching; ``obj`` is its last known state."""

    key: str
    obj: Object | Packed | None


#: A dict, the same packed by the transform (the informer's), or a tombstone.
DeltaObject = Object | Packed | DeletedFinalStateUnknown


@dataclasses.dataclass(frozen=True, slots=True)
class Delta:
    type: DeltaType
    object: DeltaObject


class KnownObjects(Protocol):
    """What the FIFO asks of the informer's store: the keys it holds and their objects."""

    def list_keys(self) -> list[str]: ...
    def get_by_key(self, key: str) -> Object | None: ...


class FIFOClosedError(Exception):
    """``pop`` on a closed, empty FIFO."""


Transform = Callable[[Object], Object | Packed]
Process = Callable[[list[Delta], bool], None]


def delta_key(obj: DeltaObject) -> str:
    if isinstance(obj, (DeletedFinalStateUnknown, Packed)):
        return obj.key
    return object_key(obj)


def _deduplicate(deltas: list[Delta]) -> None:
    """Merge a trailing pair of Deleted deltas in place (2.3)."""
    if len(deltas) < 2:
        return
    older, newer = deltas[-2], deltas[-1]
    if older.type is not DeltaType.DELETED or newer.type is not DeltaType.DELETED:
        return
    keep = newer if isinstance(older.object, DeletedFinalStateUnknown) else older
    deltas[-2:] = [keep]


class DeltaFIFO:
    def __init__(self, *, known_objects: KnownObjects | None = None, transform: Transform | None = None,
                 emit_replaced: bool = True) -> None:
        self._known = known_objects
        self._transform = transform
        self._replace_type = DeltaType.REPLACED if emit_replaced else DeltaType.SYNC
        self._cond = threading.Condition()
        self._items: dict[str, Delta | list[Delta]] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._populated = False
        self._initial_population_count = 0
        self._closed = False

    # -- producers (the Reflector) --------------------------------------------------------

    def add(self, obj: Object) -> None:
        with self._cond:
            self._populated = True
            self._queue_action(DeltaType.ADDED, obj)

    def update(self, obj: Object) -> None:
        with self._cond:
            self._populated = True
            self._queue_action(DeltaType.UPDATED, obj)

    def delete(self, obj: DeltaObject) -> None:
        """Queue a deletion, unless neither the FIFO nor the store knows the key (2.5)."""
        key = delta_key(obj)
        with self._cond:
            self._populated = True
            known = self._known.get_by_key(key) is not None if self._known is not None else False
            if not known and key not in self._items:
                return
            self._queue_action(DeltaType.DELETED, obj)

    def prepare(self, objects: Iterable[Object]) -> list[Object | Packed]:
        """The transform applied ahead, as each page of a LIST arrives: the Reflector keeps what
        this returns for ``replace``, which does not transform it again (a transform that packs
        objects thus keeps a whole LIST packed, never as dicts at once)."""
        if self._transform is None:
            return list(objects)
        return [self._transform(obj) for obj in objects]

    def replace(self, objects: Iterable[Object | Packed], resource_version: str = "") -> None:
        """The whole current state: Replaced for each object, tombstones for what disappeared (2.6)."""
        with self._cond:
            keys: set[str] = set()
            for obj in objects:
                key = delta_key(obj)
                keys.add(key)
                self._queue_action(self._replace_type, obj, transform=True)
            queued_deletions = 0
            for key, deltas in list(self._items.items()):
                if key in keys:
                    continue
                newest = (deltas[-1] if isinstance(deltas, list) else deltas).object
                last_known = newest.obj if isinstance(newest, DeletedFinalStateUnknown) else newest
                queued_deletions += 1
                self._queue_action(DeltaType.DELETED, DeletedFinalStateUnknown(key, last_known))
            if self._known is not None:
                for key in self._known.list_keys():
                    if key in keys or key in self._items:
                        continue
                    queued_deletions += 1
                    self._queue_action(DeltaType.DELETED,
                                       DeletedFinalStateUnknown(key, self._known.get_by_key(key)))
            if not self._populated:
                self._populated = True
                self._initial_population_count = len(keys) + queued_deletions

    def resync(self) -> None:
        """A Sync delta for every stored key that has nothing pending (2.7)."""
        if self._known is None:
            return
        with self._cond:
            for key in self._known.list_keys():
                if key in self._items:
                    continue
                obj = self._known.get_by_key(key)
                if obj is not None:
                    self._queue_action(DeltaType.SYNC, obj)

    def _queue_action(self, kind: DeltaType, obj: DeltaObject, *, transform: bool | None = None) -> None:
        """``transform`` defaults to "not a Sync": a Replace emitted as Sync still brings new objects."""
        if transform is None:
            transform = kind is not DeltaType.SYNC
        if transform and self._transform is not None and isinstance(obj, dict):
            obj = self._transform(obj)  # not a tombstone, nor an object packed already (prepare)
        key = delta_key(obj)
        queued = self._items.get(key)
        if queued is None:
            self._items[key] = Delta(kind, obj)
            self._queue.append(key)
        else:
            deltas = queued if isinstance(queued, list) else [queued]
            deltas.append(Delta(kind, obj))
            _deduplicate(deltas)
            self._items[key] = deltas if len(deltas) > 1 else deltas[0]
        self._cond.notify()

    # -- the consumer (the informer) --------------------------------------------------------

    def pop(self, process: Process, timeout: float | None = None) -> bool:
        """Wait for a key and call ``process(deltas, is_in_initial_list)`` under the lock (2.8).

        Returns False if ``timeout`` passed with nothing to pop. Raises FIFOClosedError
        when closed and empty. An exception from ``process`` propagates; the key's
        deltas are gone either way (no requeue).
        """
        with self._cond:
            while not self._queue:
                if self._closed:
                    raise FIFOClosedError()
                if not self._cond.wait(timeout):
                    return False
            key = self._queue.popleft()
            queued = self._items.pop(key)
            deltas = queued if isinstance(queued, list) else [queued]
            if not self._items:
                self._items = {}  # a dict never shrinks: after a LIST of 100,000 keys, give its table back
            is_in_initial_list = self._initial_population_count > 0
            if is_in_initial_list:
                self._initial_population_count -= 1
            process(deltas, is_in_initial_list)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def has_synced(self) -> bool:
        """True once the first replace (or add) arrived and every key it queued was popped (2.9)."""
        with self._cond:
            return self._populated and self._initial_population_count == 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def list_keys(self) -> list[str]:
        with self._cond:
            return list(self._queue)

    def deltas(self, key: str) -> list[Delta]:
        with self._cond:
            queued = self._items.get(key)
            return [] if queued is None else list(queued) if isinstance(queued, list) else [queued]

    @property
    def lock(self) -> threading.Condition:
        """Held while ``process`` runs; the informer takes it to add handlers consistently."""
        return self._cond

