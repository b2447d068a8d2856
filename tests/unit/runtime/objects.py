"""Objects and handlers for the runtime's unit tests (the planner's and the filters' tables)."""

from __future__ import annotations

from typing import Any

import orjson

from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.progress import Progress
from opframe.objects.diffs import essence

ANNOTATIONS = Bookkeeping()


def _noop(**_: Any) -> None:
    return None


def handler(id: str, kind: Kind, **options: Any) -> Handler:
    return Handler(id=id, fn=_noop, kind=kind, resource=("websites",), **options)


def obj(spec: dict[str, Any], *, handled: dict[str, Any] | None = None, progress: Progress | None = None,
        finalizers: list[str] | None = None, deleting: bool = False,
        annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    notes = dict(annotations or {})
    if handled is not None:
        notes[ANNOTATIONS.last_handled] = orjson.dumps(essence_of(handled)).decode()
        notes[ANNOTATIONS.marker] = "yes"
    if progress is not None:
        notes[ANNOTATIONS.progress] = progress.to_annotation()
    metadata: dict[str, Any] = {"name": "w", "namespace": "ns", "resourceVersion": "7", "annotations": notes}
    if labels:
        metadata["labels"] = labels
    if finalizers is not None:
        metadata["finalizers"] = finalizers
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-01T11:59:00Z"
    return {"apiVersion": "example.com/v1", "kind": "Website", "metadata": metadata, "spec": spec}


def essence_of(spec: dict[str, Any]) -> dict[str, Any]:
    return essence(obj(spec), own_prefix=ANNOTATIONS.own_prefix)
