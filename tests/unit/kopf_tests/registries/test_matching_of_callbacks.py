"""kopf compatibility: the callbacks of a handler's filters.

Mirrors kopf 1.45.2's ``tests/registries/test_matching_of_callbacks.py`` (rewritten, not copied).

kopf asks its registries for the handlers of a hand-made cause. opframe has no such
registry: a handler's filters are evaluated by ``FilterEvaluator.passes()`` (the data filters in
``filtering.static_verdict()``, callbacks with the handler's kwargs), and ``planner.plan()`` selects
the change handlers for the cause it detects from the object. So every case here is a
real object, as the API server would send it: its reason comes from its persisted
diff-base (none: creation; another one: an update; ``deletionTimestamp`` with our
finalizer: deletion; the same one on first sight: resuming), never from a forced field
(the machinery is in declarations.py).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

import pytest

from opframe import on
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.registry import make

from .declarations import declare, obj, passes, selected

# -- callbacks (kopf: test_matching_of_callbacks.py) ---------------------------------------------------

CALLBACK_BODY = obj({"spec": {"field": "value"}}, labels={"known": "value"}, annotations={"known": "value"})


@pytest.fixture(params=["labels", "annotations", "value", "when"])
def with_callback(request: pytest.FixtureRequest) -> tuple[Handler, Mock]:
    """A watching handler whose filters all match CALLBACK_BODY, one of them being the callback."""
    callback = Mock(return_value=True)
    options: dict[str, Any] = dict(labels={"known": "value"}, annotations={"known": "value"}, field="spec.field",
                                   value="value")
    if request.param in ("labels", "annotations"):
        options[request.param] = {"known": callback}
    else:
        options[request.param] = callback
    return declare(on.event, **options), callback


def test_a_callback_filter_is_called_for_a_matching_object(with_callback: tuple[Handler, Mock]) -> None:
    handler, callback = with_callback
    assert passes(handler, CALLBACK_BODY)
    assert callback.called


def test_a_callback_filter_is_not_called_when_a_data_filter_already_failed(
        with_callback: tuple[Handler, Mock]) -> None:
    handler, callback = with_callback
    # Labels come first in kopf's order; here they fail unless they are the callback itself.
    body = obj({"spec": {"field": "value"}}, labels={"known": "other"}, annotations={"known": "value"})
    outcome = passes(handler, body)
    if handler.labels == {"known": "value"}:
        assert not outcome
        assert not callback.called
    else:
        assert outcome
        assert callback.called


def test_a_metadata_callback_gets_the_value_and_the_handler_kwargs() -> None:
    seen: dict[str, Any] = {}

    def callback(value: Any, /, *, name: str, labels: Any, body: Any, **_: Any) -> bool:
        seen.update(value=value, name=name, labels=dict(labels), spec=body["spec"])
        return True

    assert passes(declare(on.event, labels={"known": callback}), CALLBACK_BODY)
    assert seen == {"value": "value", "name": "name1", "labels": {"known": "value"}, "spec": {"field": "value"}}


def test_a_metadata_callback_gets_none_for_a_missing_key() -> None:
    callback = Mock(return_value=False)
    assert not passes(declare(on.event, labels={"missing": callback}), CALLBACK_BODY)
    assert callback.call_args.args == (None,)


def test_a_value_callback_gets_the_field_value() -> None:
    callback = Mock(return_value=True)
    assert passes(declare(on.event, field="spec.field", value=callback), CALLBACK_BODY)
    assert callback.call_args.args == ("value",)
    assert callback.call_args.kwargs["name"] == "name1"


def test_a_when_callback_gets_only_kwargs() -> None:
    callback = Mock(return_value=True)
    assert passes(declare(on.event, when=callback), CALLBACK_BODY)
    assert callback.call_args.args == ()
    assert callback.call_args.kwargs["body"]["spec"] == {"field": "value"}


def test_callable_old_and_new_filters_get_the_handlers_kwargs_as_in_kopf() -> None:
    seen: list[tuple[str, Any, dict[str, Any]]] = []

    def old_is_one(value: Any, **kwargs: Any) -> bool:
        seen.append(("old", value, kwargs))
        return bool(value == 1)

    def new_is_two(value: Any, *, body: Any, diff: Any, reason: Any, **_: Any) -> bool:
        seen.append(("new", value, {"body": body, "diff": diff, "reason": reason}))
        return bool(value == 2)

    watched = make(Kind.UPDATE, lambda **_: None, ("kopfexamples",), id="w", field="spec.a", old=old_is_one,
                   new=new_is_two)
    assert selected([watched], obj({"spec": {"a": 2}}, handled={"spec": {"a": 1}})) == ["w/spec.a"]
    assert [(which, value) for which, value, _ in seen] == [("old", 1), ("new", 2)]
    old_kwargs, new_kwargs = seen[0][2], seen[1][2]
    assert {"body", "spec", "old", "new", "diff", "reason", "logger", "patch"} <= set(old_kwargs)
    assert new_kwargs["reason"] == "update" and new_kwargs["body"]["spec"] == {"a": 2}
    assert selected([watched], obj({"spec": {"a": 3}}, handled={"spec": {"a": 1}})) == []
