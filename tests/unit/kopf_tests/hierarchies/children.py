"""Objects for the hierarchy tests: an owner, children of each flavour kopf accepts, their metadata,
containers of them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes.client as k8s
import pytest

from opframe.objects.bodies import Body

OWNER_RAW: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Parent",
    "metadata": {"namespace": "parent-ns", "name": "parent", "uid": "uid-parent",
                 "labels": {"team": "blue", "tier": "db"}},
}


def owner(**meta: Any) -> Body:
    """The owner, with some metadata fields replaced (None removes one)."""
    raw = copy.deepcopy(OWNER_RAW)
    raw["metadata"].update(meta)
    raw["metadata"] = {key: value for key, value in raw["metadata"].items() if value is not None}
    return Body(raw)


class FakePykube:
    """What the helpers see of a pykube-ng APIObject: the raw dict in ``.obj``."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj


class Bag:
    """An iterable that is neither a list nor a tuple."""

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[Any]:
        yield from self._items


FLAVOURS = ["dict", "pykube", "kubernetes"]


def make(flavour: str, meta: dict[str, Any] | None = None) -> Any:
    """A child object of the flavour; ``meta`` is camelCase raw metadata, None for no metadata at all."""
    raw: dict[str, Any] = {} if meta is None else {"metadata": copy.deepcopy(meta)}
    if flavour == "dict":
        return raw
    if flavour == "pykube":
        return FakePykube(raw)
    model_meta = None if meta is None else k8s.V1ObjectMeta(
        name=meta.get("name"), generate_name=meta.get("generateName"),
        namespace=meta.get("namespace"), labels=copy.deepcopy(meta.get("labels")),
    )
    return k8s.V1Pod(metadata=model_meta)


def meta_of(obj: Any) -> dict[str, Any]:
    """The child's metadata as a camelCase dict (for models: with None fields left out)."""
    if isinstance(obj, dict):
        return obj["metadata"]  # type: ignore[no-any-return]
    if isinstance(obj, FakePykube):
        return obj.obj["metadata"]  # type: ignore[no-any-return]
    assert obj.metadata is not None
    return k8s.ApiClient().sanitize_for_serialization(obj.metadata)  # type: ignore[no-any-return,no-untyped-call]


CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {
    "list": list,
    "tuple": tuple,
    "custom-iterable": Bag,
    "generator": lambda items: (item for item in items),
    "nested-lists": lambda items: [[items[0]], [[item] for item in items[1:]]],
}


NOT_FORCED = [pytest.param({"forced": False}, id="not-forced"), pytest.param({}, id="forced-default")]


ANY_FORCED = [pytest.param({"forced": True}, id="forced"), *NOT_FORCED]
