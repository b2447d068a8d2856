"""The data filters of a handler (opframe.runtime.execution.filtering.static_verdict)."""

from __future__ import annotations

from opframe.handlers.handler import Kind
from opframe.runtime.execution.filtering import static_verdict as matches

from ..objects import handler, obj


def test_matches_defers_to_when_only_after_the_data_filters_pass() -> None:
    labelled = handler("h", Kind.CREATE, labels={"app": "web"}, when=lambda **_: True)
    assert matches(labelled, obj({}, labels={"app": "db"})) is False
    assert matches(labelled, obj({}, labels={"app": "web"})) is None
    assert matches(handler("h", Kind.CREATE, labels={"app": "web"}), obj({}, labels={"app": "web"})) is True
