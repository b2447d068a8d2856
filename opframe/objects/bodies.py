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

``LiveBody`` is a daemon's body (kopf's live body): a read-only mapping over the
object's latest state, which ``replace()`` swaps in one assignment. Its sections
(``spec``, ``meta``, ``meta.labels``, ...) are views that look their state up on every
read, so one held by a daemon follows the object; a single read (one key, ``items()``,
``copy()``) never mixes two states, as the states themselves are never changed in place.
The other names are kopf's type aliases, for handlers' annotations.
"""

from __future__ import annotations

import logging
from collections.abc import ItemsView, Iterator, Mapping
from typing import Any, Literal, NewType, TypedDict, cast

Labels = Mapping[str, str]
Annotations = Mapping[str, str]
RawBody = dict[str, Any]
BodyEssence = dict[str, Any]
RawEventType = Literal[None, "ADDED", "MODIFIED", "DELETED"]
FieldPath = tuple[str, ...]
FieldSpec = None | str | FieldPath | list[str]
HandlerId = NewType("HandlerId", str)
Logger = logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]


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


class _MetaFields:
    """kopf's attributes of ``metadata``, for any mapping; absent fields read as None."""

    def _field(self, name: str) -> Any:
        return cast(Mapping[str, Any], self).get(name)

    @property
    def uid(self) -> str | None:
        return cast("str | None", self._field("uid"))

    @property
    def name(self) -> str | None:
        return cast("str | None", self._field("name"))

    @property
    def namespace(self) -> str | None:
        return cast("str | None", self._field("namespace"))

    @property
    def creation_timestamp(self) -> str | None:
        return cast("str | None", self._field("creationTimestamp"))

    @property
    def deletion_timestamp(self) -> str | None:
        return cast("str | None", self._field("deletionTimestamp"))


class Meta(dict[str, Any], _MetaFields):
    """``metadata`` with kopf's attributes; absent fields read as None (labels/annotations as {})."""

    @property
    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.get("labels") or {}
        return labels

    @property
    def annotations(self) -> dict[str, str]:
        annotations: dict[str, str] = self.get("annotations") or {}
        return annotations


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


class LiveView(Mapping[str, Any]):
    """A read-only view of one section of a LiveBody (``path`` from the object's root): every
    read looks the section up in the body's current state; absent, it reads as empty."""

    def __init__(self, live: LiveBody, path: tuple[str, ...]) -> None:
        self._live = live
        self._path = path

    def _current(self) -> Mapping[str, Any]:
        value: Any = self._live.state
        for step in self._path:
            value = value.get(step) if isinstance(value, Mapping) else None
        return value if isinstance(value, Mapping) else {}

    def __getitem__(self, key: str) -> Any:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._current()))

    def __len__(self) -> int:
        return len(self._current())

    def items(self) -> ItemsView[str, Any]:
        """The items of one state (``dict(view)`` reads key by key, and may span a replacement)."""
        return self._current().items()

    def copy(self) -> dict[str, Any]:
        """A plain dict of one state."""
        return dict(self._current())

    def __repr__(self) -> str:
        return repr(dict(self._current()))

    def __eq__(self, other: object) -> bool:
        return dict(self._current()) == other

    __hash__ = None  # type: ignore[assignment]


class LiveMeta(LiveView, _MetaFields):
    """A live ``metadata`` view with kopf's attributes; ``labels`` and ``annotations`` are live too."""

    @property
    def labels(self) -> LiveView:
        return LiveView(self._live, (*self._path, "labels"))

    @property
    def annotations(self) -> LiveView:
        return LiveView(self._live, (*self._path, "annotations"))


class LiveBody(LiveView):
    """A daemon's body: the object's latest state, swapped whole by ``replace()`` (one assignment,
    so a concurrent reader sees either the old state or the new one). Read-only, as kopf's. It is
    the view of its own root."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(self, ())
        self.state = state

    def replace(self, state: dict[str, Any]) -> None:
        self.state = state

    @property
    def metadata(self) -> LiveMeta:
        return LiveMeta(self, ("metadata",))

    meta = metadata

    @property
    def spec(self) -> LiveView:
        return LiveView(self, ("spec",))

    @property
    def status(self) -> LiveView:
        return LiveView(self, ("status",))

    def sections(self) -> dict[str, Any]:
        """The live keyword arguments of a daemon: its body's sections as views."""
        meta = self.metadata
        return {"body": self, "spec": self.spec, "meta": meta, "metadata": meta, "status": self.status,
                "labels": meta.labels, "annotations": meta.annotations}
