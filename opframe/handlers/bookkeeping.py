"""Bookkeeping: what the operator keeps on the objects it handles, and the seam to another operator's.

Under the operator's prefix (default ``opframe.dev``), two annotations and a finalizer:

* ``<prefix>/last-handled-configuration``: the essence last handled in full (the diff-base);
* ``<prefix>/progress``: the cause being handled and a record per handler (progress.py);
* ``<prefix>/kopf-managed``: kopf's marker that the prefix is an operator's bookkeeping;
* the finalizer (default ``<prefix>/finalizer``).

``foreign`` is another operator's bookkeeping on the same objects, when this one continues
them (kopf's, with ``adopt_kopf``: opframe/kopf/storage.py implements the protocol). It is
read — a diff-base where ours is missing, the records of a cause it started, its finalizer
held as ours — and cleared once a cause is finished; never written. The core knows no more
of it than ``ForeignBookkeeping`` says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from opframe.handlers.progress import HandlerRecord, Progress, json_object
from opframe.objects.diffs import MANAGED_MARKER

DEFAULT_PREFIX = "opframe.dev"
#: The diff-base's annotation name (kopf's too, under its own prefix).
LAST_HANDLED = "last-handled-configuration"
PROGRESS = "progress"


class ForeignBookkeeping(Protocol):
    """Another operator's bookkeeping on the objects, continued by this one."""

    @property
    def finalizer(self) -> str:
        """Its finalizer: held as ours (honoured, and released when ours would be)."""
        ...

    def diff_base(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """Its diff-base on ``body``, or None."""
        ...

    def records(self, body: Mapping[str, Any], handler_ids: Sequence[str], cause: str) -> dict[str, HandlerRecord]:
        """Its progress records of these handlers for this same cause, as ours."""
        ...

    def keys_to_clear(self, body: Mapping[str, Any]) -> list[str]:
        """Its annotations to remove once a cause is finished (never its diff-base)."""
        ...


@dataclasses.dataclass(frozen=True)
class Bookkeeping:
    """The operator's annotation keys and finalizer, and the foreign bookkeeping it continues (if any)."""

    prefix: str = DEFAULT_PREFIX
    finalizer: str = f"{DEFAULT_PREFIX}/finalizer"
    foreign: ForeignBookkeeping | None = None

    @property
    def last_handled(self) -> str:
        return f"{self.prefix}/{LAST_HANDLED}"

    @property
    def progress(self) -> str:
        return f"{self.prefix}/{PROGRESS}"

    @property
    def marker(self) -> str:
        return f"{self.prefix}/{MANAGED_MARKER}"

    @property
    def own_prefix(self) -> str:
        return f"{self.prefix}/"

    @property
    def finalizers(self) -> tuple[str, ...]:
        """Every finalizer held as ours: our own first, then the foreign one."""
        return (self.finalizer,) if self.foreign is None else (self.finalizer, self.foreign.finalizer)

    def holds_finalizer(self, body: Mapping[str, Any]) -> bool:
        held = (body.get("metadata") or {}).get("finalizers") or ()
        return any(name in held for name in self.finalizers)

    def diff_base_text(self, body: Mapping[str, Any]) -> Any:
        """Our diff-base annotation on ``body`` as it is (a JSON text, or None when absent)."""
        return _annotations(body).get(self.last_handled)

    def read_diff_base(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        own = json_object(self.diff_base_text(body))
        if own is None and self.foreign is not None:
            return self.foreign.diff_base(body)
        return own

    def read_progress(self, body: Mapping[str, Any]) -> Progress | None:
        return Progress.from_annotation(_annotations(body).get(self.progress))

    def adopted_records(self, body: Mapping[str, Any], handler_ids: Sequence[str],
                        cause: str) -> dict[str, HandlerRecord]:
        """The foreign records of a cause it started and we continue (none without ``foreign``)."""
        return {} if self.foreign is None else self.foreign.records(body, handler_ids, cause)

    def foreign_keys(self, body: Mapping[str, Any]) -> list[str]:
        """The foreign annotations to clear once a cause is finished."""
        return [] if self.foreign is None else self.foreign.keys_to_clear(body)


def _annotations(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return (body.get("metadata") or {}).get("annotations") or {}
