"""Notices: what the informer told about each key since a worker last took it.

The informer's notification thread only records here and enqueues the key; it runs
no user code. A worker that takes the key takes its notices with it, in one step:

* the watch events, in order, for ``on.event`` handlers (only recorded when the kind
  has some), each as its object's JSON (a tenth of a decoded body's memory: at start-up
  every cached object is one); at most ``MAX_EVENTS_PER_KEY`` are kept, the oldest
  dropped first, with a count the controller reports;
* the object's last known body when it was deleted, for optional delete handlers and
  for releasing a finalizer on an object that left the watch.

Invariant: an entry exists only for a key that was enqueued after it was recorded,
and the worker that takes the key removes it, so nothing here outlives its key.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

#: A key whose worker is busy (a slow handler) keeps collecting events; beyond this
#: many the oldest are dropped, with a count, rather than growing without a bound.
MAX_EVENTS_PER_KEY = 1000


@dataclasses.dataclass
class KeyNotices:
    #: (event type, the object's JSON); kopf's type None for the initial listing.
    events: list[tuple[str | None, bytes]] = dataclasses.field(default_factory=list)
    dropped_events: int = 0
    deleted_body: dict[str, Any] | None = None


class Notices:
    def __init__(self, *, keep_events: bool) -> None:
        self.keep_events = keep_events
        self._lock = threading.Lock()
        self._by_key: dict[str, KeyNotices] = {}

    def record_event(self, key: str, event_type: str | None, raw: bytes) -> None:
        """A watch event for on.event handlers (nothing is kept when the kind has none)."""
        if not self.keep_events:
            return
        with self._lock:
            notices = self._by_key.setdefault(key, KeyNotices())
            notices.events.append((event_type, raw))
            if len(notices.events) > MAX_EVENTS_PER_KEY:
                del notices.events[0]
                notices.dropped_events += 1

    def record_deleted(self, key: str, body: dict[str, Any]) -> None:
        """The object's last known body, on its deletion. ``body`` is never mutated here or later."""
        with self._lock:
            self._by_key.setdefault(key, KeyNotices()).deleted_body = body

    def take(self, key: str) -> KeyNotices:
        with self._lock:
            return self._by_key.pop(key, None) or KeyNotices()

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)
