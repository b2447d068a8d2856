"""kopf's posting helpers route Events to the running operator's recorder (opframe/kopf/posting.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import opframe
from opframe.kopf.settings import OperatorSettings
from opframe.runtime.operator.operator import announce, withdraw


class Recorder:
    """Stands in for the EventRecorder (whose own tests post to the real API server)."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, str]] = []

    def post(self, body: dict[str, Any], *, type_: str, reason: str, message: str) -> None:
        self.posted.append((body["metadata"]["name"], type_, reason, message))


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, OperatorSettings]]:
    recorder, settings = Recorder(), OperatorSettings()
    operator = SimpleNamespace(events=recorder, settings_view=settings)
    announce(operator)  # type: ignore[arg-type]
    yield recorder, settings
    withdraw(operator)  # type: ignore[arg-type]


def body(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n", "uid": name}}


def test_the_four_helpers_post_kopfs_types(recorder: tuple[Recorder, OperatorSettings]) -> None:
    events, _ = recorder
    opframe.event(body("a"), type="SomeType", reason="R", message="m")
    opframe.info(body("a"), reason="R", message="m")
    opframe.warn(body("a"), reason="R", message="m")
    try:
        raise RuntimeError("Exception text.")
    except RuntimeError:
        opframe.exception(body("a"), reason="R", message="Some exception:")
    opframe.exception(body("a"), exc=ValueError("v"))
    assert events.posted == [("a", "SomeType", "R", "m"), ("a", "Normal", "R", "m"), ("a", "Warning", "R", "m"),
                             ("a", "Error", "R", "Some exception: Exception text."), ("a", "Error", "ValueError", "v")]


def test_nested_lists_of_bodies_are_walked_and_an_empty_one_posts_nothing(
        recorder: tuple[Recorder, OperatorSettings]) -> None:
    events, _ = recorder
    opframe.info([body("a"), [body("b"), (body("c"),)]], reason="R")
    opframe.info([], reason="R")
    assert [name for name, *_ in events.posted] == ["a", "b", "c"]


def test_settings_gate_them_as_in_kopf(recorder: tuple[Recorder, OperatorSettings]) -> None:
    events, settings = recorder
    settings.posting.level = logging.WARNING
    opframe.info(body("a"), reason="R")
    opframe.warn(body("b"), reason="R")
    settings.posting.enabled = False
    opframe.event(body("c"), type="X", reason="R")
    opframe.exception(body("d"), reason="R", exc=RuntimeError("x"))
    opframe.warn(body("e"), reason="R")  # kopf's warn() checks the level only
    assert [name for name, *_ in events.posted] == ["b", "e"]


def test_outside_a_running_operator_it_says_so() -> None:
    with pytest.raises(LookupError, match="post through a running operator"):
        opframe.info(body("a"), reason="R")


def test_something_not_a_body_is_named() -> None:
    operator = SimpleNamespace(events=Recorder(), settings_view=OperatorSettings())
    announce(operator)  # type: ignore[arg-type]
    try:
        with pytest.raises(TypeError, match="cannot post an Event about int"):
            opframe.info(3, reason="R")
    finally:
        withdraw(operator)  # type: ignore[arg-type]
