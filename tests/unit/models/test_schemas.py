"""Models to structural schemas (models.schemas) and resource classes to CRDs (models.crds), as tables."""

from __future__ import annotations

import datetime
import enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, create_model

from opframe.models import crds
from opframe.models.resource import CustomResource, PrinterColumn, Scale
from opframe.models.schemas import SchemaError, structural


class Tier(enum.StrEnum):
    FREE = "free"
    PAID = "paid"


class Backend(BaseModel):
    """Where requests go."""

    host: str


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    known: int = 0


class Tree(BaseModel):
    children: list[Tree] = []


def field_schema(annotation: Any, default: Any = ...) -> dict[str, Any]:
    model = create_model("M", x=(annotation, default))
    return structural(model.model_json_schema())["properties"]["x"]


@pytest.mark.parametrize(("annotation", "default", "expected"), [
    (str, ..., {"type": "string"}),
    (int, 3, {"type": "integer", "default": 3}),
    (float, ..., {"type": "number"}),
    (bool, False, {"type": "boolean", "default": False}),
    (str | None, None, {"type": "string", "nullable": True}),
    (int | str, ..., {"x-kubernetes-int-or-string": True}),
    (int | str | None, None, {"x-kubernetes-int-or-string": True, "nullable": True}),
    (list[str], ..., {"type": "array", "items": {"type": "string"}}),
    (dict[str, int], ..., {"type": "object", "additionalProperties": {"type": "integer"}}),
    (dict[str, Any], ..., {"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
    (Any, None, {"x-kubernetes-preserve-unknown-fields": True}),
    (Literal["a", "b"], "a", {"type": "string", "enum": ["a", "b"], "default": "a"}),
    (Literal["only"], ..., {"type": "string", "enum": ["only"]}),
    (Tier, Tier.FREE, {"type": "string", "enum": ["free", "paid"], "default": "free"}),
    (datetime.datetime, ..., {"type": "string", "format": "date-time"}),
    (Backend, ..., {"type": "object", "description": "Where requests go.",
                    "properties": {"host": {"type": "string"}}, "required": ["host"]}),
    (list[Backend], ..., {"type": "array", "items": {"type": "object", "description": "Where requests go.",
                                                      "properties": {"host": {"type": "string"}},
                                                      "required": ["host"]}}),
    (Open, ..., {"type": "object", "properties": {"known": {"type": "integer", "default": 0}},
                 "x-kubernetes-preserve-unknown-fields": True}),
])
def test_types(annotation: Any, default: Any, expected: dict[str, Any]) -> None:
    assert field_schema(annotation, default) == expected


@pytest.mark.parametrize(("field", "expected"), [
    (Field(ge=1, le=10), {"type": "integer", "minimum": 1, "maximum": 10}),
    (Field(gt=0, lt=5), {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 5}),
    (Field(multiple_of=2, description="even"), {"type": "integer", "multipleOf": 2, "description": "even"}),
])
def test_number_constraints(field: Any, expected: dict[str, Any]) -> None:
    assert field_schema(int, field) == expected


def test_string_list_constraints_and_cel_rules_are_kept() -> None:
    class Spec(BaseModel):
        model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [{"rule": "self.a <= self.b"}]})
        a: int = 0
        b: int = 0
        name: str = Field(min_length=1, max_length=8, pattern="^[a-z]+$")
        tags: list[str] = Field(default_factory=list, max_length=3,
                                json_schema_extra={"x-kubernetes-list-type": "set"})

    schema = structural(Spec.model_json_schema())
    assert schema["x-kubernetes-validations"] == [{"rule": "self.a <= self.b"}]
    assert schema["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z]+$"}
    assert schema["properties"]["tags"] == {"type": "array", "maxItems": 3, "items": {"type": "string"},
                                            "x-kubernetes-list-type": "set"}
    assert schema["required"] == ["name"]


@pytest.mark.parametrize(("annotation", "complaint"), [
    (str | list[str], r"Spec.x: a union of string, array has no structural schema"),
    (Backend | Open, r"Spec.x: a union of Backend, Open has no structural schema"),
    (tuple[int, str], r"Spec.x: a list needs one type of item"),
    (Tree, r"Spec.x.children\[\]: the model Tree contains itself"),
])
def test_what_has_no_structural_schema_is_named(annotation: Any, complaint: str) -> None:
    model = create_model("M", x=(annotation, ...))
    with pytest.raises(SchemaError, match=complaint):
        structural(model.model_json_schema(), root="Spec")


class Spec(BaseModel):
    replicas: int = 1


class Status(BaseModel):
    ready: bool = False


def test_a_resource_class_is_a_crd() -> None:
    class Widget(CustomResource, group="gadgets.test", version="v1", short_names=["wd"], categories=["all"],
                 printer_columns=[PrinterColumn("Replicas", ".spec.replicas", type="integer")], scale=Scale()):
        """A widget."""

        spec: Spec
        status: Status = Field(default_factory=Status)

    (definition,) = crds.definitions([Widget])
    assert definition["metadata"]["name"] == "widgets.gadgets.test"
    assert definition["spec"]["names"] == {"kind": "Widget", "plural": "widgets", "singular": "widget",
                                           "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]}
    (version,) = definition["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    root = version["schema"]["openAPIV3Schema"]
    assert root["required"] == ["spec"] and root["description"] == "A widget."
    assert root["properties"]["spec"] == {"type": "object",
                                          "properties": {"replicas": {"type": "integer", "default": 1}}}
    assert version["subresources"] == {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                              "statusReplicasPath": ".status.replicas"}}
    assert version["additionalPrinterColumns"] == [{"name": "Replicas", "type": "integer",
                                                    "jsonPath": ".spec.replicas"}]


def test_versions_of_one_resource_share_names_and_one_is_stored() -> None:
    class GizmoV1(CustomResource, group="gadgets.test", version="v1", kind="Gizmo", storage=False):
        spec: Spec

    class GizmoV2(CustomResource, group="gadgets.test", version="v2", kind="Gizmo"):
        spec: Spec

    (definition,) = crds.definitions([GizmoV1, GizmoV2])
    assert [(v["name"], v["storage"]) for v in definition["spec"]["versions"]] == [("v1", False), ("v2", True)]
    assert "subresources" not in definition["spec"]["versions"][0]  # no status field, no status subresource

    class GizmoV3(CustomResource, group="gadgets.test", version="v3", kind="Gizmo"):
        spec: Spec

    with pytest.raises(SchemaError, match="exactly one version is stored"):
        crds.definitions([GizmoV1, GizmoV2, GizmoV3])

    class GizmoOther(CustomResource, group="gadgets.test", version="v4", kind="Gizmo", short_names=["gz"],
                     storage=False):
        spec: Spec

    with pytest.raises(SchemaError, match="give different short_names"):
        crds.definitions([GizmoV2, GizmoOther])


def test_a_resource_class_says_what_it_lacks() -> None:
    with pytest.raises(TypeError, match="names both its group= and its version="):
        type("Bad", (CustomResource,), {"__annotations__": {"spec": Spec}}, group="g.test")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="give it a spec field"):
        class NoSpec(CustomResource, group="gadgets.test", version="v1"):
            pass
    with pytest.raises(TypeError, match="scope='Global'"):
        class Scoped(CustomResource, group="gadgets.test", version="v1", scope="Global"):
            spec: Spec


def test_the_sites_examples_chart_holds_the_crd_its_models_generate() -> None:
    """examples/operators/sites/chart/crds/ is `opframe crd`'s output for the example (regenerate it with
    `opframe crd examples/operators/sites/operator.py --chart examples/operators/sites/chart`)."""
    import importlib.util
    from pathlib import Path

    import yaml

    example = Path(__file__).resolve().parents[3] / "examples" / "operators" / "sites"
    spec = importlib.util.spec_from_file_location("sites_example_for_drift", example / "operator.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    from opframe.handlers.registry import Registry, get_default_registry, set_default_registry

    default = get_default_registry()  # its handlers must not join the process's default registry
    set_default_registry(Registry())
    try:
        spec.loader.exec_module(module)
    finally:
        set_default_registry(default)
    (generated,) = crds.definitions([module.SiteV2, module.SiteV1])
    assert yaml.safe_load((example / "chart" / "crds" / "sites.sites.opframe.dev.yaml").read_text()) == generated
