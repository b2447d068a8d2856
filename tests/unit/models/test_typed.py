"""Typed kwargs (models.typed.TypedCall): which parameters ask for models, what they get, what an
object that does not fit says, and what a handler's changes to a typed status become."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from opframe.models.resource import CustomResource
from opframe.models.typed import ModelMismatch, TypedCall, typed_parameters
from opframe.objects.bodies import Body


class Spec(BaseModel):
    size: int = Field(1, le=10)
    name: str = "x"


class Status(BaseModel):
    phase: str = "new"
    count: int = 0
    note: str | None = None


class Thing(CustomResource, group="things.test", version="v1"):
    spec: Spec
    status: Status = Field(default_factory=Status)


def typed_whole(thing: Thing, spec: dict[str, Any], **_: Any) -> None: ...


def typed_parts(spec: Spec, status: Status, body: Any, other: Spec, **_: Any) -> None: ...


def untyped(spec, status, **_):  # type: ignore[no-untyped-def]
    ...


@pytest.mark.parametrize(("function", "expected"), [
    (typed_whole, {"thing": Thing}),  # a dict-annotated spec keeps kopf's Spec
    (typed_parts, {"spec": Spec, "status": Status}),  # a model on another name is not a part
    (untyped, {}),
])
def test_which_parameters_ask_for_models(function: Any, expected: dict[str, type]) -> None:
    assert typed_parameters(function) == expected


BODY = Body({"apiVersion": "things.test/v1", "kind": "Thing", "metadata": {"name": "t"},
             "spec": {"size": 3}, "status": {"phase": "seen", "kopf": {"x": 1}}})


def test_typed_values_are_built_from_the_object_and_status_changes_are_what_the_handler_changed() -> None:
    call = TypedCall({"spec": Spec, "status": Status}, {"body": BODY})
    spec, status = call.values["spec"], call.values["status"]
    assert isinstance(spec, Spec) and spec.size == 3 and isinstance(status, Status) and status.phase == "seen"
    assert call.status_changes() == {}
    status.count = 2  # type: ignore[attr-defined]
    status.note = "hello"  # type: ignore[attr-defined]
    assert call.status_changes() == {"count": 2, "note": "hello"}
    assert BODY["status"] == {"phase": "seen", "kopf": {"x": 1}}  # the object is never touched


def test_the_whole_typed_object_and_its_status() -> None:
    call = TypedCall({"thing": Thing}, {"body": BODY})
    thing = call.values["thing"]
    assert isinstance(thing, Thing) and thing.metadata["name"] == "t" and thing.spec.size == 3
    thing.status.phase = "done"
    assert call.status_changes() == {"phase": "done"}


def test_an_object_that_does_not_fit_names_each_field() -> None:
    body = Body({"spec": {"size": 50, "name": 7}})
    with pytest.raises(ModelMismatch) as caught:
        TypedCall({"spec": Spec}, {"body": body})
    assert str(caught.value) == ("the object does not fit Spec: spec.size: Input should be less than or equal "
                                 "to 10; spec.name: Input should be a valid string")
    with pytest.raises(ModelMismatch, match="the object does not fit Thing: spec: Field required"):
        TypedCall({"thing": Thing}, {"body": Body({"metadata": {}})})


def test_the_docs_show_the_example_operator_as_it_is() -> None:
    """docs/typed-resources.md's code block is the example operator's code (its test runs it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    page = (root / "docs" / "typed-resources.md").read_text()
    block = page.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.strip() in (root / "examples" / "operators" / "typed_website" / "operator.py").read_text()


OTHER = {"type": "Ready", "status": "True"}
MISFIT = {"type": "Valid", "status": "False", "reason": "ModelMismatch", "message": "bad", "lastTransitionTime": "t0"}


@pytest.mark.parametrize(("conditions", "problem", "expected"), [
    ([], None, None),  # fits, never misfitted: no condition added
    ([OTHER], None, None),
    ([OTHER], "bad", [OTHER, {**MISFIT, "lastTransitionTime": "t1"}]),
    ([MISFIT, OTHER], "bad", None),  # said already
    ([MISFIT, OTHER], "worse", [OTHER, {**MISFIT, "message": "worse", "lastTransitionTime": "t1"}]),
    ([MISFIT, OTHER], None, [OTHER, {"type": "Valid", "status": "True", "reason": "FitsModels",
                                     "message": "the object fits the handlers' models", "lastTransitionTime": "t1"}]),
])
def test_the_valid_condition(conditions: list[dict[str, Any]], problem: str | None,
                             expected: list[dict[str, Any]] | None) -> None:
    from opframe.models.typed import validity_conditions

    assert validity_conditions(Body({"status": {"conditions": conditions}}), problem, "t1") == expected
