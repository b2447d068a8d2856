"""Objects as handlers see them, with kopf's names: ``Body``, ``Meta``, ``Spec``, ``Status``.

A handler gets its own copy of the object (never the cache's dict). That copy is a
``Body``: a plain dict (it serialises, compares and mutates like one) that also has
kopf's attribute access — ``body.metadata``/``body.meta``, ``body.spec``,
``body.status``, ``meta.name``, ``meta.namespace``, ``meta.uid``, ``meta.labels``,
``meta.annotations``, ``meta.creation_timestamp``, ``meta.deletion_timestamp``.

Invariant: ``body["metadata"] is body.meta`` (likewise spec and status): the sections
are the very dicts inside the body, so the ``meta``/``spec``/``status`` keyword
arguments and ``body`` always agree, whichever one a handler reads or changes.
A section the object lacks reads as an empty one and is not added to the body
(``Body({}) == {}``, as in kopf).
The other names are kopf's type aliases, for handlers' annotations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, NewType, TypedDict

Labels = Mapping[str, str]
Annotations = Mapping[str, str]
RawBody = dict[str, Any]
BodyEssence = dict[str, Any]
RawEventType = Literal[None, "ADDED", "MODIFIED", "DELETED"]
FieldPath = tuple[str, ...]
FieldSpec = None | str | FieldPath | list[str]
HandlerId = NewType("HandlerId", str)
Logger = logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]
PatchFn = Callable[[RawBody], None]


class RawEvent(TypedDict):
    type: RawEventType
    object: RawBody


class ObjectReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    namespace: str | None
    name: str
    uid: str


class OwnerReference(TypedDict, total=False):
    controller: bool
    blockOwnerDeletion: bool
    apiVersion: str
    kind: str
    name: str
    uid: str


class Meta(dict[str, Any]):
    """``metadata`` with kopf's attributes; absent fields read as None (labels/annotations as {})."""

    @property
    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.get("labels") or {}
        return labels

    @property
    def annotations(self) -> dict[str, str]:
        annotations: dict[str, str] = self.get("annotations") or {}
        return annotations

    @property
    def uid(self) -> str | None:
        return self.get("uid")

    @property
    def name(self) -> str | None:
        return self.get("name")

    @property
    def namespace(self) -> str | None:
        return self.get("namespace")

    @property
    def creation_timestamp(self) -> str | None:
        return self.get("creationTimestamp")

    @property
    def deletion_timestamp(self) -> str | None:
        return self.get("deletionTimestamp")


class Spec(dict[str, Any]):
    """``spec`` (or {} when the object has none)."""


class Status(dict[str, Any]):
    """``status`` (or {} when the object has none)."""


class Body(dict[str, Any]):
    """The object with kopf's attribute access; its sections are Meta, Spec and Status dicts."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        super().__init__(source)
        self.wrap_sections()

    def wrap_sections(self) -> None:
        """Give metadata, spec and status their classes (where they are plain dicts)."""
        for name, kind in (("metadata", Meta), ("spec", Spec), ("status", Status)):
            value = self.get(name)
            if isinstance(value, dict) and not isinstance(value, kind):
                self[name] = kind(value)

    @property
    def metadata(self) -> Meta:
        value = self.get("metadata")
        return value if isinstance(value, Meta) else Meta()

    meta = metadata

    @property
    def spec(self) -> Spec:
        value = self.get("spec")
        return value if isinstance(value, Spec) else Spec()

    @property
    def status(self) -> Status:
        value = self.get("status")
        return value if isinstance(value, Status) else Status()


def refresh_in_place(target: dict[str, Any], fresh: Mapping[str, Any]) -> None:
    """Make ``target`` equal to ``fresh`` keeping its nested dicts the same objects, so that
    whoever holds ``target["spec"]`` or ``target["metadata"]["labels"]`` sees the new state
    (kopf's live bodies for daemons)."""
    for key in [k for k in target if k not in fresh]:
        del target[key]
    for key, value in fresh.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            refresh_in_place(current, value)
        else:
            target[key] = value
    if isinstance(target, Body):
        target.wrap_sections()
