"""kopf compatibility: which watching and spawning handlers an object selects.

Mirrors the decorator cases of kopf 1.45.2's ``tests/registries/test_matching_for_spawning.py``
(timers, daemons) and ``tests/registries/test_matching_for_watching.py`` (events) (rewritten, not copied),
run together for the three kinds. Their "catch-all" cases are in
test_matching_for_changing.py.

kopf asks its registries for the handlers of a hand-made cause. opframe has no such
registry: a handler's filters are evaluated by ``FilterEvaluator.passes()`` (the data filters in
``filtering.static_verdict()``, callbacks with the handler's kwargs), and ``planner.plan()`` selects
the change handlers for the cause it detects from the object. So every case here is a
real object, as the API server would send it: its reason comes from its persisted
diff-base (none: creation; another one: an update; ``deletionTimestamp`` with our
finalizer: deletion; the same one on first sight: resuming), never from a forced field
(the machinery is in declarations.py).

Left out, as opframe behaves differently (see the report of this port): ``field=``
without ``value=`` requiring the field's presence (events, timers, daemons).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opframe import on
from opframe.handlers.filters import ABSENT, PRESENT

from .declarations import KNOWN, _always, _never, declare, obj, passes, timer

# -- fields of watching and spawning handlers (kopf: the decorator cases) ---------------------------------

WATCHING_AND_SPAWNING = pytest.mark.parametrize("decorator", [on.event, timer, on.daemon],
                                                ids=["event", "timer", "daemon"])


@WATCHING_AND_SPAWNING
@pytest.mark.parametrize("fields", [{}, {"known-field": "new"}], ids=["no-field", "with-field"])
def test_a_handler_without_field_is_found(decorator: Callable[..., Any], fields: dict[str, Any]) -> None:
    assert passes(declare(decorator, field=None), obj(fields, **KNOWN))


@WATCHING_AND_SPAWNING
def test_a_handler_with_field_is_found_when_the_field_is_there(decorator: Callable[..., Any]) -> None:
    assert passes(declare(decorator, field="known-field"), obj({"known-field": "new"}, **KNOWN))


@WATCHING_AND_SPAWNING
@pytest.mark.parametrize("fields", [{}, {"known-field": "new"}], ids=["no-field", "with-field"])
def test_a_handler_with_filters(decorator: Callable[..., Any], fields: dict[str, Any]) -> None:
    body = obj(fields, **KNOWN)
    assert passes(declare(decorator, labels={"known": PRESENT}), body)
    assert not passes(declare(decorator, labels={"extra": PRESENT}), body)
    assert passes(declare(decorator, annotations={"known": PRESENT}), body)
    assert not passes(declare(decorator, annotations={"extra": PRESENT}), body)
    assert passes(declare(decorator, when=_always), body)
    assert not passes(declare(decorator, when=_never), body)


@WATCHING_AND_SPAWNING
@pytest.mark.parametrize(("fields", "value", "expected"), [
    ({"known-field": "new"}, "new", True),
    ({"known-field": "new"}, "old", False),
    ({}, "new", False),
    ({"known-field": "new"}, PRESENT, True),
    ({}, PRESENT, False),
    ({"known-field": "new"}, ABSENT, False),
    ({}, ABSENT, True),
    ({"known-field": "new"}, lambda value, **_: value == "new", True),
    ({"known-field": "new"}, lambda value, **_: value == "old", False),
], ids=["literal", "other-literal", "literal-no-field", "present", "present-no-field", "absent-but-there",
        "absent", "callback-true", "callback-false"])
def test_a_value_filter_of_a_field(decorator: Callable[..., Any], fields: dict[str, Any], value: Any,
                                   expected: bool) -> None:
    assert passes(declare(decorator, field="known-field", value=value), obj(fields, **KNOWN)) is expected
