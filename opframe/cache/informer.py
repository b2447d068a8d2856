"""SharedIndexInformer: one Reflector, one DeltaFIFO and one Indexer per watched kind (semantics 4.1-4.7).

The Reflector fills the DeltaFIFO; the informer's processing thread pops one key at
a time, updates the Indexer and tells every registered handler what happened. Many
handlers share one watch and one cache.

Invariants:

* the Indexer is updated before any handler hears of the change, so a handler (or a
  worker it wakes) that reads the cache sees at least that state;
* each handler gets its notifications in order, on its own thread, from an unbounded
  buffer: a slow handler never blocks the watch or the other handlers (4.4);
* a handler that raises is logged and gets its next notification (4.4);
* an update whose old and new resourceVersion are equal is a resync, delivered only
  to handlers whose resync period is due (4.2); it is told by the packed JSON being
  equal (the resourceVersion is in it), with nothing decoded;
* objects travel packed (store.Packed: JSON bytes) from the FIFO's transform to the
  Indexer; each handler gets them unpacked, a dict of its own, when delivered;
* a handler added after start first receives an add for every cached object (4.5);
* a handler has synced when the informer has synced and it has handled every
  add of the initial list (4.6).
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from opframe.cache.fifo import DeletedFinalStateUnknown, Delta, DeltaFIFO, DeltaObject, DeltaType, delta_key
from opframe.cache.listwatch import ListerWatcher
from opframe.cache.reflector import Reflector
from opframe.cache.store import NAMESPACE_INDEX, Indexer, IndexFunc, Object, Packed, index_by_namespace, unpacked
from opframe.kube.clock import REAL_CLOCK, Clock

logger = logging.getLogger("opframe.informer")

#: semantics 4.3: shorter resync periods are raised to this.
MIN_RESYNC_PERIOD = 1.0
#: semantics 4.7: how often wait_for_sync looks.
SYNC_POLL_PERIOD = 0.1


def drop_managed_fields(obj: Object) -> Object:
    """The default transform: ``metadata.managedFields`` is a third of a typical object's
    size in memory and no handler needs it."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        del metadata["managedFields"]
    return obj


class ResourceEventHandler(Protocol):
    def on_add(self, obj: Object, is_in_initial_list: bool) -> None: ...
    def on_update(self, old: Object, new: Object) -> None: ...
    def on_delete(self, obj: DeltaObject) -> None: ...


@dataclasses.dataclass
class EventHandlerFuncs:
    """A ResourceEventHandler from plain functions; missing ones do nothing."""

    add: Callable[[Object, bool], None] | None = None
    update: Callable[[Object, Object], None] | None = None
    delete: Callable[[DeltaObject], None] | None = None

    def on_add(self, obj: Object, is_in_initial_list: bool) -> None:
        if self.add is not None:
            self.add(obj, is_in_initial_list)

    def on_update(self, old: Object, new: Object) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: DeltaObject) -> None:
        if self.delete is not None:
            self.delete(obj)


@dataclasses.dataclass(frozen=True)
class _Notification:
    """What a handler hears; objects may be Packed here and are unpacked (each handler its own dict)
    when delivered, so a buffer of 100,000 initial adds holds JSON bytes, not dicts."""

    kind: str  # "add", "update", "delete"
    new: DeltaObject | None = None
    old: Object | Packed | None = None
    is_in_initial_list: bool = False


class HandlerRegistration:
    """A registered handler: its own buffer and thread, its resync schedule and sync state."""

    def __init__(self, informer: SharedIndexInformer, handler: ResourceEventHandler,
                 resync_period: float, clock: Clock) -> None:
        self._informer = informer
        self.handler = handler
        self.resync_period = resync_period
        self._clock = clock
        self.next_resync = clock.now() + resync_period if resync_period else 0.0
        self._cond = threading.Condition()
        self._buffer: collections.deque[_Notification] = collections.deque()
        self._pending_initial = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"handler-{self._informer.name}", daemon=True)
        self._thread.start()

    def add(self, notification: _Notification) -> None:
        with self._cond:
            if notification.is_in_initial_list:
                self._pending_initial += 1
            self._buffer.append(notification)
            self._cond.notify()

    def has_synced(self) -> bool:
        """semantics 4.6."""
        if not self._informer.has_synced():
            return False
        with self._cond:
            return self._pending_initial == 0

    def pending(self) -> int:
        with self._cond:
            return len(self._buffer)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def should_resync(self, now: float) -> bool:
        return bool(self.resync_period) and now >= self.next_resync

    def schedule_next_resync(self, now: float) -> None:
        self.next_resync = now + self.resync_period

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._buffer and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                notification = self._buffer.popleft()
            try:
                new = unpacked(notification.new)
                if notification.kind == "add":
                    assert isinstance(new, dict)
                    self.handler.on_add(new, notification.is_in_initial_list)
                elif notification.kind == "update":
                    assert isinstance(new, dict) and notification.old is not None
                    self.handler.on_update(unpacked(notification.old), new)
                else:
                    if isinstance(new, DeletedFinalStateUnknown):
                        new = DeletedFinalStateUnknown(new.key, unpacked(new.obj))
                    assert new is not None
                    self.handler.on_delete(new)
            except Exception:
                key = delta_key(notification.new) if notification.new is not None else "?"
                logger.exception("%s: handler %r failed on %s of %s", self._informer.name, self.handler,
                                 notification.kind, key)
            finally:
                self.delivered += 1
                if notification.is_in_initial_list:
                    with self._cond:
                        self._pending_initial -= 1


class SharedIndexInformer:
    def __init__(self, lister_watcher: ListerWatcher, *, name: str = "", resync_period: float = 0.0,
                 indexers: Mapping[str, IndexFunc] | None = None,
                 transform: Callable[[Object], Object] | None = drop_managed_fields,
                 clock: Clock = REAL_CLOCK, **reflector_options: Any) -> None:
        self.name = name or str(lister_watcher)
        self._clock = clock
        self.default_resync_period = resync_period
        self.indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, **(indexers or {})})
        # Objects are packed as they arrive (after the transform): the FIFO, a LIST's pages and the
        # cache hold JSON bytes; dicts live only while one is being handled.
        self.fifo = DeltaFIFO(known_objects=self.indexer, transform=_packing(transform, self.indexer),
                              emit_replaced=True)
        self.reflector = Reflector(lister_watcher, self.fifo, name=self.name, clock=clock,
                                   **reflector_options)
        self._registrations: list[HandlerRegistration] = []
        self._syncing: list[HandlerRegistration] = []
        self._started = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: the threads whose death leaves the cache silently frozen: the Reflector's and the processing one
        self._vital: list[threading.Thread] = []

    # -- handlers -------------------------------------------------------------------------

    def add_event_handler(self, handler: ResourceEventHandler,
                          resync_period: float | None = None) -> HandlerRegistration:
        period = self.default_resync_period if resync_period is None else resync_period
        if period:
            period = max(period, MIN_RESYNC_PERIOD)
        registration = HandlerRegistration(self, handler, period, self._clock)
        # Holding the FIFO's lock stops delta processing, so the replay of the cache and
        # the live notifications that follow it cannot interleave (4.5).
        with self.fifo.lock:
            self._registrations.append(registration)
            if self._started:
                registration.start()
                for packed in self.indexer.list_packed():
                    registration.add(_Notification("add", packed, is_in_initial_list=True))
        return registration

    def remove_event_handler(self, registration: HandlerRegistration) -> None:
        with self.fifo.lock:
            if registration in self._registrations:
                self._registrations.remove(registration)
        registration.stop()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the Reflector, the processing thread, the resync timer and the handler threads."""
        with self.fifo.lock:
            if self._started:
                raise RuntimeError(f"informer {self.name} is already started")
            self._started = True
            for registration in self._registrations:
                registration.start()
        for target, role in ((self.reflector.run, "reflector"), (self._process_loop, "process"),
                             (self._resync_loop, "resync")):
            thread = threading.Thread(target=target, name=f"{role}-{self.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
            if role != "resync":
                self._vital.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.reflector.stop()
        self.fifo.close()
        for registration in list(self._registrations):
            registration.stop()
        for thread in self._threads:
            thread.join(timeout)
        for registration in list(self._registrations):
            registration.join(timeout)

    def has_synced(self) -> bool:
        return self.fifo.has_synced()

    def wedged(self, limit: float) -> bool:
        """Started, not stopped, and not keeping its cache in step: its Reflector's loop made no
        attempt and heard nothing for over ``limit`` seconds (``Reflector.wedged``), or the
        Reflector's or the processing thread has died. What a liveness probe should report;
        an API server that cannot be reached is not this (the Reflector keeps attempting).
        """
        if not self._started or self._stop.is_set():
            return False
        if any(not thread.is_alive() for thread in self._vital):
            return True
        return self.reflector.wedged(limit=limit)

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Poll has_synced every 100 ms (4.7); False on timeout or stop."""
        return wait_for_cache_sync(self.has_synced, timeout=timeout, stop=self._stop, clock=self._clock)

    # -- processing ---------------------------------------------------------------------------

    def _process_loop(self) -> None:
        from opframe.cache.fifo import FIFOClosedError

        collected = False
        while not self._stop.is_set():
            try:
                self.fifo.pop(self._handle_deltas, timeout=0.5)
            except FIFOClosedError:
                return
            except Exception:
                logger.exception("%s: failed to process deltas", self.name)
            if not collected and self.fifo.has_synced():
                # Once, after the initial list: a full collection frees the cycles its parsing left
                # (about 100 bytes per object, measured); with the cache as bytes it takes milliseconds.
                collected = True
                gc.collect()

    def _handle_deltas(self, deltas: list[Delta], is_in_initial_list: bool) -> None:
        """semantics 4.1; runs under the FIFO's lock."""
        for delta in deltas:
            obj = delta.object
            if delta.type is DeltaType.DELETED:
                self.indexer.delete_key(delta_key(obj))
                self._distribute(_Notification("delete", obj), sync=False)
                continue
            assert not isinstance(obj, DeletedFinalStateUnknown)
            packed = obj if isinstance(obj, Packed) else Packed.of(obj)
            old_raw = self.indexer.get_raw(packed.key)
            if old_raw is not None:
                self.indexer.update(packed, decoded=None if isinstance(obj, Packed) else obj)
                notification = _Notification("update", obj, Packed(packed.key, old_raw))
                # The same JSON is the same resourceVersion (a relist's unchanged object, a resync):
                # compared as bytes, nothing decoded.
                if old_raw != packed.raw:
                    self._distribute(notification, sync=False)
                elif delta.type is DeltaType.SYNC:
                    self._distribute(notification, sync=True)
                else:
                    # An unchanged object relisted is a resync too (4.2), but not one that
                    # resync_if_due queued: it goes to the handlers due now, not to those
                    # of the last resync, which may be long past.
                    now = self._clock.now()
                    for registration in self._registrations:
                        if registration.should_resync(now):
                            registration.add(notification)
            else:
                self.indexer.add(packed, decoded=None if isinstance(obj, Packed) else obj)
                self._distribute(_Notification("add", obj, is_in_initial_list=is_in_initial_list), sync=False)

    def _distribute(self, notification: _Notification, *, sync: bool) -> None:
        for registration in self._syncing if sync else self._registrations:
            registration.add(notification)

    def _resync_loop(self) -> None:
        while not self._stop.is_set():
            periods = [r.resync_period for r in self._registrations if r.resync_period]
            self._stop.wait(min([*periods, MIN_RESYNC_PERIOD]))
            if not self._stop.is_set():
                self.resync_if_due()

    def resync_if_due(self) -> bool:
        """semantics 1.13 / 4.2-4.3: queue Sync deltas if some handler's resync is due.

        Those handlers, and only they, receive the resulting updates. Returns whether
        a resync was queued.
        """
        now = self._clock.now()
        with self.fifo.lock:
            due = [r for r in self._registrations if r.should_resync(now)]
            if not due:
                return False
            for registration in due:
                registration.schedule_next_resync(now)
            self._syncing = due
            self.fifo.resync()
            return True

    def __repr__(self) -> str:
        return f"<SharedIndexInformer {self.name}>"


def _packing(transform: Callable[[Object], Object] | None, cache: Indexer) -> Callable[[Object], Packed]:
    """The FIFO's transform: the informer's (if any), then packed. An object whose JSON is the
    cache's, byte for byte, shares the cache's bytes: a relist streams every object again while
    the cache still holds the old ones, and the unchanged ones (most) then cost nothing twice
    (at 100,000 objects: the relist's peak was the cache twice over)."""

    def pack(obj: Object) -> Packed:
        packed = Packed.of(obj if transform is None else transform(obj))
        held = cache.get_raw(packed.key)
        return Packed(packed.key, held) if held is not None and held == packed.raw else packed

    return pack


def wait_for_cache_sync(*has_synced: Callable[[], bool], timeout: float | None = None,
                        stop: threading.Event | None = None, clock: Clock = REAL_CLOCK) -> bool:
    """True once every ``has_synced`` is true; False if ``timeout`` passes or ``stop`` is set."""
    deadline = None if timeout is None else clock.now() + timeout
    stop = stop or threading.Event()
    while not all(check() for check in has_synced):
        if stop.is_set() or (deadline is not None and clock.now() >= deadline):
            return False
        stop.wait(SYNC_POLL_PERIOD)
    return True
