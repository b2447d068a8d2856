"""Journal: what handlers did, per object, for tests that assert outcomes instead of log lines.

``opframe.testing.KopfRunner`` (and anyone else) opens a Journal; while it is open, every
operator in the process records each handler outcome into it: the object's key, the
resource, the handler id, its kind, and ``succeeded``, ``retrying`` or ``failed`` with the
reason. Nothing is recorded when no journal is open (the cost is one list check).
"""

from __future__ import annotations

import dataclasses
import threading
import time


@dataclasses.dataclass(frozen=True)
class Entry:
    key: str
    resource: str
    handler: str
    kind: str
    outcome: str  # "succeeded" | "retrying" | "failed"
    reason: str = ""
    at: float = 0.0

    def __str__(self) -> str:
        """One line: ``ns/name  create_fn (create): retrying: ValueError: boom``."""
        kind = f" ({self.kind})" if self.kind else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.key}  {self.handler}{kind}: {self.outcome}{reason}"


class Journal:
    """Outcomes recorded while open (a context manager); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[Entry] = []

    def __enter__(self) -> Journal:
        open_journal(self)
        return self

    def __exit__(self, *exc: object) -> None:
        close_journal(self)

    def add(self, entry: Entry) -> None:
        with self._lock:
            self.entries.append(entry)

    def __repr__(self) -> str:
        """Every outcome, one per line, in the order they happened (what a failing assert shows)."""
        with self._lock:
            entries = list(self.entries)
        if not entries:
            return "<Journal: no handler outcomes>"
        return f"<Journal: {len(entries)} handler outcomes>\n" + "\n".join(f"  {e}" for e in entries)

    def of(self, key: str) -> list[Entry]:
        """Entries of one object (``namespace/name``, or the name of a cluster-scoped one)."""
        with self._lock:
            return [e for e in self.entries if e.key == key]

    def handlers(self, key: str, outcome: str = "succeeded") -> list[str]:
        """Ids of the handlers with this outcome for one object, in the order they happened."""
        return [e.handler for e in self.of(key) if e.outcome == outcome]


_open: list[Journal] = []
_open_lock = threading.Lock()


def open_journal(journal: Journal) -> None:
    with _open_lock:
        _open.append(journal)


def close_journal(journal: Journal) -> None:
    with _open_lock:
        if journal in _open:
            _open.remove(journal)


def record(key: str, resource: str, handler: str, kind: str, outcome: str, reason: str = "") -> None:
    if not _open:
        return
    entry = Entry(key, resource, handler, kind, outcome, reason, time.time())
    with _open_lock:
        journals = list(_open)
    for journal in journals:
        journal.add(entry)
