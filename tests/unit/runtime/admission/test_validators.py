"""Which validating handlers write to their patch (refused at start-up), as a table of functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opframe.runtime.admission.validators import patch_write


def reads(patch: Any, body: Any, **_: Any) -> None:
    if patch.get("spec") or body:
        return


def rebinds(patch: Any, **_: Any) -> None:
    patch = {"spec": 1}  # a local name now; the answer's patch is untouched
    del patch


def sets_an_item(patch: Any, **_: Any) -> None:
    patch["spec"] = {"replicas": 1}


def sets_deep(patch: Any, **_: Any) -> None:
    patch.metadata.labels["checked"] = "yes"


def updates(patch: Any, **_: Any) -> None:
    patch.spec.update({"a": 1})


def through_kwargs(**kwargs: Any) -> None:
    kwargs["patch"].setdefault("spec", {})


def through_get(**kwargs: Any) -> None:
    kwargs.get("patch")["spec"] = 1  # type: ignore[index]


def augments(patch: Any, **_: Any) -> None:
    patch.spec["count"] += 1


def deletes(patch: Any, **_: Any) -> None:
    del patch.metadata["labels"]


def other_kwargs(body: Any, **kwargs: Any) -> None:
    kwargs["memo"]["seen"] = True


async def async_writes(patch: Any, **_: Any) -> None:
    patch["x"] = 1


@pytest.mark.parametrize(("function", "writes"), [
    (reads, False), (rebinds, False), (other_kwargs, False), (len, False),
    (sets_an_item, True), (sets_deep, True), (updates, True), (through_kwargs, True), (through_get, True),
    (augments, True), (deletes, True), (async_writes, True),
])
def test_writes_to_the_patch_are_found(function: Callable[..., Any], writes: bool) -> None:
    found = patch_write(function)
    assert (found is not None) is writes
    if found is not None:
        assert found[0] == __file__
        with open(__file__) as source:
            assert "patch" in source.read().splitlines()[found[1] - 1]


def test_the_operator_refuses_a_validating_handler_that_writes_its_patch() -> None:
    from opframe import on
    from opframe.handlers.handler import ADMISSION_KINDS
    from opframe.handlers.memos import Memo
    from opframe.handlers.registry import Registry
    from opframe.kube import Resource
    from opframe.runtime.admission.configurations import ConfigurationError
    from opframe.runtime.admission.webhooks import Webhooks
    from opframe.settings import Settings

    registry = Registry()
    on.validate("configmaps", id="fine", registry=registry)(reads)
    on.mutate("configmaps", id="mutator", registry=registry)(sets_deep)  # a mutator may
    configmaps = Resource("", "v1", "configmaps", "ConfigMap")

    def webhooks() -> Webhooks:
        return Webhooks(Settings(), [(h, configmaps) for h in registry.handlers(*ADMISSION_KINDS)],
                        client=None, loops=None, memo=Memo(), indexes=dict)  # type: ignore[arg-type]

    webhooks()
    on.validate("configmaps", id="sneaky", registry=registry)(sets_an_item)
    with pytest.raises(ConfigurationError, match=r"the validating handler sneaky writes to its patch "
                                                 r"\(.*test_validators.py:\d+\); .* make it an on.mutate handler"):
        webhooks()
