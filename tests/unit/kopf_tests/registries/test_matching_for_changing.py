"""kopf compatibility: which change handlers an object's state selects.

Mirrors kopf 1.45.2's ``tests/registries/test_matching_for_changing.py`` (rewritten, not copied); the
"catch-all" cases below are also those of ``test_matching_for_watching.py`` and
``test_matching_for_spawning.py``: kopf repeats them in each of the three files, here they
run once for every kind of handler (kopf's "catch-all" changing handlers, with no
reason, are not a kind in opframe).

kopf asks its registries for the handlers of a hand-made cause. opframe has no such
registry: a handler's filters are evaluated by ``FilterEvaluator.passes()`` (the data filters in
``filtering.static_verdict()``, callbacks with the handler's kwargs), and ``planner.plan()`` selects
the change handlers for the cause it detects from the object. So every case here is a
real object, as the API server would send it: its reason comes from its persisted
diff-base (none: creation; another one: an update; ``deletionTimestamp`` with our
finalizer: deletion; the same one on first sight: resuming), never from a forced field
(the machinery is in declarations.py).

Left out, as opframe behaves differently (see the report of this port): ``field=``
without ``value=`` requiring the field's presence (creation, deletion, resuming),
``on.field`` handlers on deletion, silent de-duplication of a function registered twice
with the same id, and ``when=`` callbacks of change handlers seeing the cause's
``reason``/``diff``/``old``/``new``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opframe import on
from opframe.handlers.causes import detect
from opframe.handlers.filters import ABSENT, PRESENT
from opframe.handlers.handler import Handler
from opframe.handlers.registry import Registry

from .declarations import (
    BOOKKEEPING,
    FINALIZER,
    KNOWN,
    NAMES,
    _always,
    _never,
    declare,
    fn1,
    fn2,
    obj,
    passes,
    selected,
    some_fn,
    timer,
)


def state(reason: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """An object whose cause is ``reason`` (with ``old`` as it was last handled, ``new`` now),
    labelled and annotated ``known: value``; and whether the operator sees it for the first time."""
    if reason == "create":
        return obj(new, **KNOWN), False
    if reason == "update":
        assert old != new
        return obj(new, handled=old, **KNOWN), False
    if reason == "delete":
        return obj(new, handled=old, deleting=True, finalizers=[FINALIZER], **KNOWN), False
    if reason == "resume":
        return obj(new, handled=new, **KNOWN), True
    raise AssertionError(reason)


def selected_for(reason: str, handler: Handler, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    body, first_sight = state(reason, old, new)
    # The premise: opframe detects the intended cause for this object.
    assert detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight).reason == reason
    return selected([handler], body, first_sight=first_sight)


# -- filters of every kind of handler (kopf: the "catch-all" cases of the three files) -----------------

ALL_KINDS = pytest.mark.parametrize("decorator", [
    on.create, on.update, on.delete, on.resume, on.event, timer, on.daemon,
], ids=["create", "update", "delete", "resume", "event", "timer", "daemon"])


@ALL_KINDS
@pytest.mark.parametrize("labels", [{"known": "value"}, {"known": "value", "extra": "other"}],
                         ids=["with-label", "with-extra-label"])
def test_an_exact_label_filter_satisfied(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert passes(declare(decorator, labels={"known": "value"}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"known": "other"}, {"extra": "other"}],
                         ids=["without-label", "with-other-value", "with-other-label"])
def test_an_exact_label_filter_not_satisfied(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert not passes(declare(decorator, labels={"known": "value"}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{"known": "value"}, {"known": "other"}], ids=["with-label", "with-other-value"])
def test_a_desired_label_present(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert passes(declare(decorator, labels={"known": PRESENT}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"extra": "other"}], ids=["without-label", "with-other-label"])
def test_a_desired_label_absent(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert not passes(declare(decorator, labels={"known": PRESENT}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{"known": "value"}, {"known": "other"}], ids=["with-label", "with-other-value"])
def test_an_undesired_label_present(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert not passes(declare(decorator, labels={"known": ABSENT}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"extra": "other"}], ids=["without-label", "with-other-label"])
def test_an_undesired_label_absent(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert passes(declare(decorator, labels={"known": ABSENT}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"known": "value"}, {"known": "other"}],
                         ids=["without-label", "with-label", "with-other-value"])
def test_a_label_callback_decides(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert passes(declare(decorator, labels={"known": _always}), obj(labels=labels))
    assert not passes(declare(decorator, labels={"known": _never}), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"known": "value"}, {"known": "other"}, {"extra": "other"},
                                    {"known": "value", "extra": "other"}],
                         ids=["without-label", "with-label", "with-other-value", "with-other-label",
                              "with-extra-label"])
def test_no_label_filter(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    assert passes(declare(decorator), obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{"known": "value"}, {"known": "value", "extra": "other"}],
                         ids=["with-annotation", "with-extra-annotation"])
def test_an_exact_annotation_filter_satisfied(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert passes(declare(decorator, annotations={"known": "value"}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{}, {"known": "other"}, {"extra": "other"}],
                         ids=["without-annotation", "with-other-value", "with-other-annotation"])
def test_an_exact_annotation_filter_not_satisfied(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert not passes(declare(decorator, annotations={"known": "value"}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{"known": "value"}, {"known": "other"}],
                         ids=["with-annotation", "with-other-value"])
def test_a_desired_annotation_present(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert passes(declare(decorator, annotations={"known": PRESENT}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{}, {"extra": "other"}], ids=["without-annotation", "with-other-annotation"])
def test_a_desired_annotation_absent(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert not passes(declare(decorator, annotations={"known": PRESENT}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{"known": "value"}, {"known": "other"}],
                         ids=["with-annotation", "with-other-value"])
def test_an_undesired_annotation_present(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert not passes(declare(decorator, annotations={"known": ABSENT}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{}, {"extra": "other"}], ids=["without-annotation", "with-other-annotation"])
def test_an_undesired_annotation_absent(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert passes(declare(decorator, annotations={"known": ABSENT}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{}, {"known": "value"}, {"known": "other"}],
                         ids=["without-annotation", "with-annotation", "with-other-value"])
def test_an_annotation_callback_decides(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert passes(declare(decorator, annotations={"known": _always}), obj(annotations=annotations))
    assert not passes(declare(decorator, annotations={"known": _never}), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("annotations", [{}, {"known": "value"}, {"known": "other"}, {"extra": "other"},
                                         {"known": "value", "extra": "other"}],
                         ids=["without-annotation", "with-annotation", "with-other-value", "with-other-annotation",
                              "with-extra-annotation"])
def test_no_annotation_filter(decorator: Callable[..., Any], annotations: dict[str, str]) -> None:
    assert passes(declare(decorator), obj(annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize(("labels", "annotations"), [
    ({"known": "value"}, {"known": "value"}),
    ({"known": "value", "extra": "other"}, {"known": "value"}),
    ({"known": "value"}, {"known": "value", "extra": "other"}),
    ({"known": "value", "extra": "other"}, {"known": "value", "extra": "other"}),
], ids=["with-label-annotation", "with-extra-label-annotation", "with-label-extra-annotation",
        "with-extra-label-extra-annotation"])
def test_label_and_annotation_filters_satisfied(decorator: Callable[..., Any], labels: dict[str, str],
                                                annotations: dict[str, str]) -> None:
    handler = declare(decorator, labels={"known": "value"}, annotations={"known": "value"})
    assert passes(handler, obj(labels=labels, annotations=annotations))


@ALL_KINDS
@pytest.mark.parametrize("labels", [{}, {"known": "value"}, {"known": "other"}, {"extra": "other"},
                                    {"known": "value", "extra": "other"}],
                         ids=["without-label", "with-label", "with-other-value", "with-other-label",
                              "with-extra-label"])
def test_label_and_annotation_filters_need_both(decorator: Callable[..., Any], labels: dict[str, str]) -> None:
    handler = declare(decorator, labels={"known": "value"}, annotations={"known": "value"})
    assert not passes(handler, obj(labels=labels))


@ALL_KINDS
@pytest.mark.parametrize("when", [
    None,
    lambda body=None, **_: body["spec"]["name"] == "test",
    lambda **_: True,
], ids=["without-when", "with-when", "with-other-when"])
def test_a_when_callback_matching(decorator: Callable[..., Any], when: Callable[..., bool] | None) -> None:
    assert passes(declare(decorator, when=when), obj({"spec": {"name": "test"}}))


@ALL_KINDS
@pytest.mark.parametrize("when", [
    lambda body=None, **_: body["spec"]["name"] != "test",
    lambda **_: False,
], ids=["with-when", "with-other-when"])
def test_a_when_callback_mismatching(decorator: Callable[..., Any], when: Callable[..., bool]) -> None:
    assert not passes(declare(decorator, when=when), obj({"spec": {"name": "test"}}))


# -- change handlers per cause (kopf: the relevant/irrelevant cases) --------------------------------------

MATCHING_REASON_AND_DECORATOR = pytest.mark.parametrize(("reason", "decorator"), [
    ("create", on.create), ("update", on.update), ("delete", on.delete), ("resume", on.resume),
], ids=["create", "update", "delete", "resume"])


MISMATCHING_REASON_AND_DECORATOR = pytest.mark.parametrize(("reason", "decorator"), [
    ("create", on.update), ("create", on.delete), ("create", on.resume),
    ("update", on.create), ("update", on.delete), ("update", on.resume),
    ("delete", on.create), ("delete", on.update), ("delete", on.resume),
    ("resume", on.create), ("resume", on.update), ("resume", on.delete),
], ids=["create-update", "create-delete", "create-resume", "update-create", "update-delete", "update-resume",
        "delete-create", "delete-update", "delete-resume", "resume-create", "resume-update", "resume-delete"])


#: The known field changed; or only another field changed (an update needs some change).
ANY_DIFF = pytest.mark.parametrize(("old", "new"), [
    ({"known-field": "old"}, {"known-field": "new"}),
    ({"other-field": "old"}, {"other-field": "new"}),
], ids=["with-field-diff", "with-other-diff"])


FIELD_DIFF = pytest.mark.parametrize(("old", "new"), [({"known-field": "old"}, {"known-field": "new"})],
                                     ids=["with-field-diff"])


NO_FIELD_DIFF = pytest.mark.parametrize(("old", "new"), [({"other-field": "old"}, {"other-field": "new"})],
                                        ids=["with-other-diff"])


@MATCHING_REASON_AND_DECORATOR
@ANY_DIFF
def test_a_relevant_handler_without_field_is_selected(reason: str, decorator: Callable[..., Any],
                                                       old: dict[str, Any], new: dict[str, Any]) -> None:
    handler = declare(decorator)
    assert selected_for(reason, handler, old, new) == [handler.id]


@pytest.mark.parametrize(("reason", "decorator"), [
    ("create", on.create), ("update", on.update), ("delete", on.delete), ("create", on.field), ("update", on.field),
], ids=["create", "update", "delete", "create-field", "update-field"])
@FIELD_DIFF
def test_a_relevant_handler_with_a_changed_field_is_selected(reason: str, decorator: Callable[..., Any],
                                                              old: dict[str, Any], new: dict[str, Any]) -> None:
    handler = declare(decorator, field="known-field")
    assert selected_for(reason, handler, old, new) == [handler.id]


@pytest.mark.parametrize(("reason", "decorator"), [
    ("update", on.update), ("create", on.field), ("update", on.field), ("delete", on.field),
], ids=["update", "create-field", "update-field", "delete-field"])
@NO_FIELD_DIFF
def test_a_relevant_handler_with_an_unchanged_field_is_not_selected(reason: str, decorator: Callable[..., Any],
                                                                     old: dict[str, Any], new: dict[str, Any]) -> None:
    assert selected_for(reason, declare(decorator, field="known-field"), old, new) == []


@MATCHING_REASON_AND_DECORATOR
@ANY_DIFF
def test_a_relevant_handler_with_label_filters(reason: str, decorator: Callable[..., Any],
                                               old: dict[str, Any], new: dict[str, Any]) -> None:
    handler = declare(decorator, labels={"known": PRESENT})
    assert selected_for(reason, handler, old, new) == [handler.id]
    assert selected_for(reason, declare(decorator, labels={"extra": PRESENT}), old, new) == []


@MATCHING_REASON_AND_DECORATOR
@ANY_DIFF
def test_a_relevant_handler_with_annotation_filters(reason: str, decorator: Callable[..., Any],
                                                    old: dict[str, Any], new: dict[str, Any]) -> None:
    handler = declare(decorator, annotations={"known": PRESENT})
    assert selected_for(reason, handler, old, new) == [handler.id]
    assert selected_for(reason, declare(decorator, annotations={"extra": PRESENT}), old, new) == []


@MATCHING_REASON_AND_DECORATOR
@ANY_DIFF
def test_a_relevant_handler_with_a_when_callback(reason: str, decorator: Callable[..., Any],
                                                 old: dict[str, Any], new: dict[str, Any]) -> None:
    handler = declare(decorator, when=_always)
    assert selected_for(reason, handler, old, new) == [handler.id]
    assert selected_for(reason, declare(decorator, when=_never), old, new) == []


@MISMATCHING_REASON_AND_DECORATOR
@ANY_DIFF
@pytest.mark.parametrize("options", [
    {}, {"labels": {"known": PRESENT}}, {"labels": {"extra": PRESENT}}, {"annotations": {"known": PRESENT}},
    {"annotations": {"extra": PRESENT}}, {"when": _always}, {"when": _never},
], ids=["no-filters", "labels-satisfied", "labels-not-satisfied", "annotations-satisfied",
        "annotations-not-satisfied", "when-satisfied", "when-not-satisfied"])
def test_an_irrelevant_handler_is_not_selected(reason: str, decorator: Callable[..., Any], old: dict[str, Any],
                                               new: dict[str, Any], options: dict[str, Any]) -> None:
    assert selected_for(reason, declare(decorator, **options), old, new) == []


@pytest.mark.parametrize(("reason", "decorator"), [
    ("update", on.update), ("create", on.field), ("update", on.field), ("delete", on.field),
], ids=["update", "create-field", "update-field", "delete-field"])
@ANY_DIFF
def test_a_handler_of_another_field_is_not_selected(reason: str, decorator: Callable[..., Any],
                                                    old: dict[str, Any], new: dict[str, Any]) -> None:
    assert selected_for(reason, declare(decorator, field="extra-field"), old, new) == []


# -- nested fields with shorter or longer diffs ------------------------------------------------------------

NESTED_OLD = {"level1": {"level2": "old"}}


NESTED_NEW = {"level1": {"level2": "new"}}


SELECTING_A_FIELD = pytest.mark.parametrize(("reason", "decorator"), [
    ("create", on.create), ("update", on.update), ("delete", on.delete), ("create", on.field), ("update", on.field),
], ids=["create", "update", "delete", "create-field", "update-field"])


@SELECTING_A_FIELD
@pytest.mark.parametrize("field", ["level1.level2", "level1"], ids=["same-as-diff", "shorter-than-diff"])
def test_a_field_at_or_above_the_change_is_selected(reason: str, decorator: Callable[..., Any], field: str) -> None:
    handler = declare(decorator, field=field)
    assert selected_for(reason, handler, NESTED_OLD, NESTED_NEW) == [handler.id]


@pytest.mark.parametrize(("reason", "decorator"), [
    ("update", on.update), ("create", on.field), ("update", on.field), ("delete", on.field),
], ids=["update", "create-field", "update-field", "delete-field"])
def test_a_field_below_a_changed_scalar_is_not_selected(reason: str, decorator: Callable[..., Any]) -> None:
    handler = declare(decorator, field="level1.level2.level3")
    assert selected_for(reason, handler, NESTED_OLD, NESTED_NEW) == []


@pytest.mark.parametrize(("old", "new"), [
    ({"level3": "old"}, {"level3": "new"}),
    ({"level3": "old"}, "new"),
    ("old", {"level3": "new"}),
    ({}, {"level3": "new"}),
    ({"level3": "old"}, {}),
], ids=["struct2struct", "struct2scalar", "scalar2struct", "empty2struct", "struct2empty"])
@pytest.mark.parametrize("decorator", [on.update, on.field], ids=["update", "field"])
def test_a_field_below_a_changed_structure_is_selected(decorator: Callable[..., Any], old: Any, new: Any) -> None:
    handler = declare(decorator, field="level1.level2.level3")
    found = selected_for("update", handler, {"level1": {"level2": old}}, {"level1": {"level2": new}})
    assert found == [handler.id]


# -- order and duplicates ----------------------------------------------------------------------------------

def fn3(**_: Any) -> None:
    pass


def fn4(**_: Any) -> None:
    pass


def fn5(**_: Any) -> None:
    pass


def test_handlers_are_selected_in_the_order_of_declaration_a() -> None:
    registry = Registry()
    declare(on.create, fn=fn1, registry=registry)  # selected
    declare(on.update, fn=fn2, registry=registry)  # another reason
    declare(on.create, fn=fn3, registry=registry)  # selected
    declare(on.field, fn=fn4, registry=registry, field="filtered-out-field")  # no such field
    declare(on.field, fn=fn5, registry=registry, field="known-field")  # selected
    body, _ = state("create", {}, {"known-field": "new"})
    assert selected(registry.handlers(), body) == ["fn1", "fn3", "fn5/known-field"]


def test_handlers_are_selected_in_the_order_of_declaration_b() -> None:
    registry = Registry()
    declare(on.field, fn=fn1, registry=registry, field="known-field")  # selected
    declare(on.field, fn=fn2, registry=registry, field="filtered-out-field")  # no such field
    declare(on.create, fn=fn3, registry=registry)  # selected
    declare(on.update, fn=fn4, registry=registry)  # another reason
    declare(on.create, fn=fn5, registry=registry)  # selected
    body, _ = state("create", {}, {"known-field": "new"})
    assert selected(registry.handlers(), body) == ["fn1/known-field", "fn3", "fn5"]


@MATCHING_REASON_AND_DECORATOR
@FIELD_DIFF
def test_one_function_under_two_ids_is_selected_twice(reason: str, decorator: Callable[..., Any],
                                                      old: dict[str, Any], new: dict[str, Any]) -> None:
    registry = Registry()
    decorator(*NAMES, id="b", registry=registry)(decorator(*NAMES, id="a", registry=registry)(some_fn))
    body, first_sight = state(reason, old, new)
    assert selected(registry.handlers(), body, first_sight=first_sight) == ["a", "b"]
