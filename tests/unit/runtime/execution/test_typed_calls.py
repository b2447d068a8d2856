"""A handler asking for typed kwargs, called as the runtime calls it (calls.call): its typed status
changes land in its patch, and an object its models refuse is a PermanentError before any call."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from opframe import on
from opframe.handlers.registry import Registry
from opframe.handlers.retries import PermanentError
from opframe.objects.bodies import Body
from opframe.objects.patches import Patch
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.kwargs import object_kwargs


class GadgetSpec(BaseModel):
    size: int = Field(1, le=10)


class GadgetStatus(BaseModel):
    seen: int = 0


calls: list[int] = []


def handle(spec: GadgetSpec, status: GadgetStatus, **_: Any) -> str:
    calls.append(spec.size)
    status.seen = spec.size * 2
    return "done"


def test_typed_status_changes_go_into_the_patch_and_misfits_are_permanent() -> None:
    registry = Registry()
    on.create("gadgets.test", registry=registry)(handle)
    (handler,) = registry.handlers()
    body = Body({"metadata": {"name": "g"}, "spec": {"size": 4}, "status": {"other": True}})
    patch = Patch()
    assert call(handler, {**object_kwargs(body), "patch": patch}, None) == "done"
    assert dict(patch) == {"status": {"seen": 8}}
    misfit = Patch()
    with pytest.raises(PermanentError, match=r"the object does not fit GadgetSpec, GadgetStatus: spec\.size"):
        call(handler, {**object_kwargs(Body({"spec": {"size": 40}})), "patch": misfit}, None)
    assert calls == [4]  # the misfit never reached the handler
    (condition,) = misfit["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Valid", "False", "ModelMismatch")
    assert condition["message"].startswith("the object does not fit GadgetSpec, GadgetStatus: spec.size: ")
    fixed = Patch()  # the object changed and fits: the condition says so
    call(handler, {**object_kwargs(Body({"spec": {"size": 2}, "status": {"conditions": [condition]}})),
                   "patch": fixed}, None)
    assert fixed["status"]["conditions"][0]["status"] == "True" and fixed["status"]["seen"] == 4
