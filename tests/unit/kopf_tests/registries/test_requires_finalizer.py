"""kopf compatibility: which handlers need the finalizer on an object.

Mirrors kopf 1.45.2's ``tests/registries/test_requires_finalizer.py`` (rewritten, not copied).

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

import pytest

from opframe import on
from opframe.handlers.filters import PRESENT
from opframe.handlers.handler import Handler
from opframe.handlers.registry import Registry
from opframe.runtime.execution.kwargs import serialised
from opframe.runtime.reconcile.planner import plan

from .declarations import BOOKKEEPING, FINALIZER, KEY, NOW, declare, evaluator, fn1, fn2, obj

# -- the finalizer (kopf: test_requires_finalizer.py) --------------------------------------------------

FINALIZER_BODY = obj({"spec": {}}, labels={"key": "value"}, annotations={"key": "value"})


def adds_finalizer(handlers: list[Handler]) -> bool:
    """Whether opframe puts its finalizer on the (new, live) object before any handler runs."""
    found = evaluator().matching(handlers, KEY, FINALIZER_BODY, serialised(FINALIZER_BODY))
    the_plan = plan(FINALIZER_BODY, handlers=handlers, matching=found, bookkeeping=BOOKKEEPING,
                    first_sight=False, now=NOW)
    return FINALIZER in (the_plan.patch.get("metadata") or {}).get("finalizers", [])


OPTIONAL = pytest.mark.parametrize(("optional", "expected"), [(True, False), (False, True)],
                                   ids=["optional", "mandatory"])


@OPTIONAL
def test_a_delete_handler_requires_the_finalizer_unless_optional(optional: bool, expected: bool) -> None:
    assert adds_finalizer([declare(on.delete, optional=optional)]) is expected


@OPTIONAL
def test_the_finalizer_with_other_handlers_too(optional: bool, expected: bool) -> None:
    registry = Registry()
    declare(on.create, fn=fn1, registry=registry)
    declare(on.delete, fn=fn2, registry=registry, optional=optional)
    assert adds_finalizer(registry.handlers()) is expected


def test_no_finalizer_without_a_delete_handler() -> None:
    assert adds_finalizer([declare(on.create)]) is False


@OPTIONAL
@pytest.mark.parametrize("option", ["labels", "annotations"])
@pytest.mark.parametrize("wanted", [{"key": "value"}, {"key": PRESENT}], ids=["value-matches", "key-exists"])
def test_the_finalizer_for_a_delete_handler_whose_filter_matches(optional: bool, expected: bool, option: str,
                                                                 wanted: dict[str, Any]) -> None:
    assert adds_finalizer([declare(on.delete, optional=optional, **{option: wanted})]) is expected


@pytest.mark.parametrize("optional", [True, False], ids=["optional", "mandatory"])
@pytest.mark.parametrize("option", ["labels", "annotations"])
@pytest.mark.parametrize("wanted", [{"key": "othervalue"}, {"otherkey": PRESENT}],
                         ids=["value-mismatch", "key-doesnt-exist"])
def test_no_finalizer_for_a_delete_handler_whose_filter_does_not_match(optional: bool, option: str,
                                                                       wanted: dict[str, Any]) -> None:
    assert adds_finalizer([declare(on.delete, optional=optional, **{option: wanted})]) is False
