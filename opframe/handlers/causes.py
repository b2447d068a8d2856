"""Cause detection: why a handler should run for the latest state of an object.

Level-triggered: the worker looks only at the latest object and what is persisted
on it, never at the event that woke it. So a burst of updates while a handler runs
becomes one reconcile whose diff goes from the last handled state to the latest.

Decision, in order:

1. ``deletionTimestamp`` set: DELETE if our finalizer is still there, else FREE;
2. a cause in progress (persisted, some handler unfinished) about this same state
   (same essence digest): that cause again;
3. no diff-base: CREATE;
4. the essence differs from the diff-base: UPDATE (old = diff-base, new = essence);
5. first sight since this operator started: RESUME;
6. otherwise NOOP.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.progress import Progress, digest
from opframe.objects.diffs import Diff, diff, essence, managed_prefixes, without_managed


class Reason(enum.StrEnum):
    """Why handlers run (kopf's ``Reason``: equal to the plain strings, so ``reason == 'create'`` holds)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESUME = "resume"
    NOOP = "noop"
    FREE = "free"
    GONE = "gone"


@dataclasses.dataclass(frozen=True)
class Cause:
    reason: Reason
    body: Mapping[str, Any]
    essence: dict[str, Any]
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    diff: Diff = ()
    progress: Progress | None = None


def detect(body: Mapping[str, Any], *, bookkeeping: Bookkeeping, first_sight: bool,
           include: tuple[tuple[str, ...], ...] = ()) -> Cause:
    current = essence(body, own_prefix=bookkeeping.own_prefix, include=include)
    diff_base = bookkeeping.read_diff_base(body)
    progress = bookkeeping.read_progress(body)
    metadata = body.get("metadata") or {}
    if diff_base is not None:
        # A prefix marked after our diff-base was written must not count as a change either.
        diff_base = without_managed(diff_base, managed_prefixes(metadata.get("annotations") or {}))

    def make(reason: Reason) -> Cause:
        old = diff_base if reason in (Reason.UPDATE, Reason.DELETE, Reason.RESUME) else None
        changes = diff(diff_base, current) if reason is Reason.UPDATE else ()
        return Cause(reason, body, current, old=old, new=current, diff=changes, progress=progress)

    if metadata.get("deletionTimestamp"):
        return make(Reason.DELETE if bookkeeping.holds_finalizer(body) else Reason.FREE)
    if progress is not None and progress.cause != Reason.DELETE.value and progress.digest == digest(current) and any(
            not record.finished for record in progress.handlers.values()):
        try:
            return make(Reason(progress.cause))
        except ValueError:
            pass
    if diff_base is None:
        return make(Reason.CREATE)
    if current != diff_base:
        return make(Reason.UPDATE)
    if first_sight:
        return make(Reason.RESUME)
    return make(Reason.NOOP)
