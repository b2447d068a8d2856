"""Conversion between the versions of a resource declared as models (hub and spokes, as
controller-runtime's Hub/Convertible), and the answer to the API server's ConversionReview. Pure: the
user's to_hub()/from_hub() are the only code run.

A → B goes through the hub: ``A.to_hub()`` (unless A is the hub), then ``B.from_hub(hub)`` (unless B is
the hub). The converted object keeps the original's metadata, except labels and annotations, which a
conversion may change (the API server refuses any other metadata change); fields of the status beyond
the source model (handlers' results, kopf's storage) are carried over as they are. A field the models
do not hold is lost: make the versions hold what the others need (an annotation, say).

A review is all or nothing: any object that fails (does not fit its model, a conversion that raises,
or changes the uid, name or namespace) makes the answer a Failure naming the object and the reason,
and no object is converted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from opframe.models.resource import CustomResource

REVIEW_API_VERSION = "apiextensions.k8s.io/v1"
IDENTITY = ("uid", "name", "namespace")


class ConversionError(Exception):
    """One object could not be converted; the message names it and why."""


class Conversion:
    """The versions of one resource (its CRD ``name``: <plural>.<group>) and how to convert between them."""

    def __init__(self, classes: Sequence[type[CustomResource]]) -> None:
        self.classes = {cls.declaration.api_version: cls for cls in classes}
        hubs = [cls for cls in classes if cls.declaration.hub]
        first = classes[0].declaration
        self.name = first.name
        if len(hubs) != 1:
            raise TypeError(f"{self.name}: mark exactly one of its versions hub=True (now: "
                            f"{[cls.__name__ for cls in hubs]}); the others convert through it")
        self.hub = hubs[0]
        for cls in classes:
            if cls is not self.hub and not (callable(getattr(cls, "to_hub", None))
                                            and callable(getattr(cls, "from_hub", None))):
                raise TypeError(f"{cls.__name__}: a version that is not the hub defines to_hub(self) -> "
                                f"{self.hub.__name__} and a classmethod from_hub(cls, hub)")

    def convert(self, obj: Mapping[str, Any], desired: str) -> dict[str, Any]:
        source = self.classes.get(str(obj.get("apiVersion")))
        target = self.classes.get(desired)
        metadata = dict(obj.get("metadata") or {})
        namespace = metadata.get("namespace")
        named = f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))
        if source is None or target is None:
            unknown = obj.get("apiVersion") if source is None else desired
            raise ConversionError(f"{named}: {unknown} is not a version of {self.name} this operator declares")
        if source is target:
            return {**obj}
        try:
            typed = source.model_validate(obj)
            hub = typed if source is self.hub else typed.to_hub()  # type: ignore[attr-defined]
            converted = hub if target is self.hub else target.from_hub(hub)  # type: ignore[attr-defined]
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConversionError(f"{named}: does not fit {source.__name__}: {problems}") from None
        except Exception as exc:
            raise ConversionError(f"{named}: converting {source.__name__} to {target.__name__} raised "
                                  f"{type(exc).__name__}: {exc}") from None
        if not isinstance(converted, target):
            raise ConversionError(f"{named}: converting to {target.__name__} gave a {type(converted).__name__}")
        result = converted.model_dump(mode="json", by_alias=True, exclude_none=True)
        new_metadata = result.get("metadata") or {}
        for key in IDENTITY:
            if new_metadata.get(key, metadata.get(key)) != metadata.get(key):
                raise ConversionError(f"{named}: converting to {target.__name__} changed metadata.{key} "
                                      f"({metadata.get(key)!r} to {new_metadata.get(key)!r}); a conversion keeps it")
        result["metadata"] = {**metadata, **{key: new_metadata[key] for key in ("labels", "annotations")
                                             if key in new_metadata}}
        result["apiVersion"], result["kind"] = desired, target.declaration.kind
        _carry_status(obj, source, result)
        return result

    def review(self, review: Mapping[str, Any]) -> dict[str, Any]:
        """The answer to a ConversionReview: every object converted, or a Failure and none."""
        request = review.get("request") or {}
        answer: dict[str, Any] = {"uid": request.get("uid", "")}
        try:
            desired = str(request["desiredAPIVersion"])
            answer["convertedObjects"] = [self.convert(obj, desired) for obj in request.get("objects") or []]
            answer["result"] = {"status": "Success"}
        except ConversionError as exc:
            answer = {"uid": answer["uid"], "convertedObjects": [],
                      "result": {"status": "Failure", "message": str(exc)}}
        except KeyError:
            answer = {"uid": answer["uid"], "convertedObjects": [],
                      "result": {"status": "Failure", "message": "the review has no request.desiredAPIVersion"}}
        return {"apiVersion": review.get("apiVersion", REVIEW_API_VERSION), "kind": "ConversionReview",
                "response": answer}


def _carry_status(obj: Mapping[str, Any], source: type[CustomResource], result: dict[str, Any]) -> None:
    status = obj.get("status")
    model = source.part_model("status")
    if not isinstance(status, Mapping) or model is None:
        return
    known = {field.alias or name for name, field in model.model_fields.items()}
    extra = {key: value for key, value in status.items() if key not in known}
    if extra:
        result["status"] = {**extra, **(result.get("status") or {})}


def conversions(resources: Sequence[type[CustomResource]], names: set[str] | None = None) -> list[Conversion]:
    """A Conversion for each resource (of ``names``, CRD names, when given) declared in several versions
    with a hub; versions without one are left to the API server's None strategy."""
    by_name: dict[str, list[type[CustomResource]]] = {}
    for resource in resources:
        if names is None or resource.declaration.name in names:
            by_name.setdefault(resource.declaration.name, []).append(resource)
    return [Conversion(classes) for classes in by_name.values()
            if len(classes) > 1 and any(cls.declaration.hub for cls in classes)]
