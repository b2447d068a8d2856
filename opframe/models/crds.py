"""CustomResourceDefinitions generated from resource classes (models.CustomResource). Pure.

One CRD per ``<plural>.<group>``, with a version per class of it: the structural schema of the class's
``spec`` and ``status`` (schemas.structural; the status also keeps fields beyond the model, where
handlers' results go, as kopf stores them), the status subresource when there is a ``status`` field,
the scale subresource when declared, the printer columns, ``served`` and ``storage``.

Invariants (SchemaError otherwise, naming the classes): the classes of one CRD agree on kind, plural,
singular, scope, short names and categories; exactly one version is the storage version (a lone
version is it); versions are unique.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opframe.models.resource import CustomResource, PrinterColumn
from opframe.models.schemas import SchemaError, structural


def definitions(resources: Iterable[type[CustomResource]]) -> list[dict[str, Any]]:
    """The CRDs of ``resources``, in the order their first classes come."""
    by_name: dict[str, list[type[CustomResource]]] = {}
    for resource in resources:
        by_name.setdefault(resource.declaration.name, []).append(resource)
    return [definition(classes) for classes in by_name.values()]


def definition(classes: Sequence[type[CustomResource]]) -> dict[str, Any]:
    first = classes[0].declaration
    names = ", ".join(cls.__name__ for cls in classes)
    for cls in classes[1:]:
        other = cls.declaration
        for field in ("kind", "plural", "singular", "scope", "short_names", "categories"):
            if getattr(other, field) != getattr(first, field):
                raise SchemaError(f"{first.name}: {cls.__name__} and {classes[0].__name__} give different {field} "
                                  f"({getattr(other, field)!r}, {getattr(first, field)!r}); the versions of one "
                                  "resource share its names")
    versions = [cls.declaration.version for cls in classes]
    if len(set(versions)) < len(versions):
        raise SchemaError(f"{first.name}: two classes ({names}) declare the same version")
    storage = [cls for cls in classes if cls.declaration.storage]
    if len(classes) > 1 and len(storage) != 1:
        raise SchemaError(f"{first.name}: exactly one version is stored; mark one of {names} storage=True and the "
                          "others storage=False")
    names_part: dict[str, Any] = {"kind": first.kind, "plural": first.plural, "singular": first.singular,
                                  "listKind": f"{first.kind}List"}
    if first.short_names:
        names_part["shortNames"] = list(first.short_names)
    if first.categories:
        names_part["categories"] = list(first.categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": first.name},
        "spec": {"group": first.group, "names": names_part, "scope": first.scope,
                 "versions": [version(cls, lone=len(classes) == 1) for cls in classes]},
    }


def version(cls: type[CustomResource], *, lone: bool = False) -> dict[str, Any]:
    declaration = cls.declaration
    properties: dict[str, Any] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                  "metadata": {"type": "object"}}
    required = []
    for part in ("spec", "status"):
        model = cls.part_model(part)
        if model is None:
            if part in cls.model_fields:
                raise SchemaError(f"{cls.__name__}.{part}: type it with a pydantic model")
            continue
        properties[part] = structural(model.model_json_schema(mode="validation"), root=f"{cls.__name__}.{part}")
        if part == "status":  # handler results (kopf's status.<handler id>) are kept beside the model's fields
            properties[part]["x-kubernetes-preserve-unknown-fields"] = True
        if cls.model_fields[part].is_required():
            required.append(part)
    schema_root: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema_root["required"] = required
    if cls.__doc__ and cls.__doc__ is not CustomResource.__doc__:
        schema_root["description"] = cls.__doc__.strip()
    result: dict[str, Any] = {"name": declaration.version, "served": declaration.served,
                              "storage": True if lone else declaration.storage,
                              "schema": {"openAPIV3Schema": schema_root}}
    subresources: dict[str, Any] = {}
    if "status" in properties:
        subresources["status"] = {}
    if declaration.scale is not None:
        scale = {"specReplicasPath": declaration.scale.spec_replicas,
                 "statusReplicasPath": declaration.scale.status_replicas}
        if declaration.scale.label_selector:
            scale["labelSelectorPath"] = declaration.scale.label_selector
        subresources["scale"] = scale
    if subresources:
        result["subresources"] = subresources
    if declaration.printer_columns:
        result["additionalPrinterColumns"] = [_column(column) for column in declaration.printer_columns]
    return result


def _column(column: PrinterColumn) -> dict[str, Any]:
    result: dict[str, Any] = {"name": column.name, "type": column.type, "jsonPath": column.json_path}
    if column.description:
        result["description"] = column.description
    if column.priority:
        result["priority"] = column.priority
    if column.format:
        result["format"] = column.format
    return result
