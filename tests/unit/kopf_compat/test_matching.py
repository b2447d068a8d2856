"""kopf compatibility: which handlers an object's state selects, and the filter helpers.

Mirrors kopf 1.45.2's ``tests/registries/test_matching_for_changing.py``,
``test_matching_for_watching.py``, ``test_matching_for_spawning.py``,
``test_matching_of_callbacks.py``, ``test_requires_finalizer.py`` and
``tests/test_filtering_helpers.py`` (rewritten, not copied).

kopf asks its registries for the handlers of a hand-made cause. opframe has no such
registry: a handler's filters are evaluated by ``FilterEvaluator.passes()`` (the data filters in
``filtering.static_verdict()``, callbacks with the handler's kwargs), and ``planner.plan()`` selects
the change handlers for the cause it detects from the object. So every case here is a
real object, as the API server would send it: its reason comes from its persisted
diff-base (none: creation; another one: an update; ``deletionTimestamp`` with our
finalizer: deletion; the same one on first sight: resuming), never from a forced field.

Left out, as opframe behaves differently (see the report of this port): ``field=``
without ``value=`` requiring the field's presence (creation, deletion, resuming, events,
timers, daemons), ``on.field`` handlers on deletion, silent de-duplication of a
function registered twice with the same id, and ``when=`` callbacks of change handlers
seeing the cause's ``reason``/``diff``/``old``/``new``. kopf's "catch-all" changing
handlers (no reason) are not a kind in opframe; their filter cases are run here for
every handler kind instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from unittest.mock import Mock

import orjson
import pytest

import opframe
from opframe import on
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.causes import detect
from opframe.handlers.diffs import essence
from opframe.handlers.filters import ABSENT, PRESENT, all_, any_, none_, not_
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry, make
from opframe.kube.resources import Resource
from opframe.runtime.execution.filtering import FilterEvaluator
from opframe.runtime.execution.kwargs import KwargsBuilder, serialised
from opframe.runtime.reconcile.planner import plan

NAMES = ("kopf.dev", "v1", "kopfexamples")
RESOURCE = Resource("kopf.dev", "v1", "kopfexamples", "KopfExample")
ANNOTATIONS = Bookkeeping()
FINALIZER = "opframe.dev/finalizer"
BOOKKEEPING = Bookkeeping(finalizer=FINALIZER)
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
KEY = "ns/name1"


def _never(*_: Any, **__: Any) -> bool:
    return False


def _always(*_: Any, **__: Any) -> bool:
    return True


def some_fn(**_: Any) -> None:
    pass


# -- the machinery: declare handlers, build objects, ask opframe what runs --------------------------

def declare(decorator: Callable[..., Any], *, fn: Callable[..., Any] = some_fn, registry: Registry | None = None,
            **options: Any) -> Handler:
    """A handler as the decorator registers it (the last one added)."""
    registry = registry if registry is not None else Registry()
    decorator(*NAMES, registry=registry, **options)(fn)
    return registry.handlers()[-1]


def timer(*names: str, **options: Any) -> Callable[[Any], Any]:
    return on.timer(*names, interval=1, **options)


def evaluator() -> FilterEvaluator:
    """The runtime's filter evaluator (its kwargs builder; no loop pool: the filters here are sync)."""
    return FilterEvaluator(KwargsBuilder(RESOURCE, None, Memo(), dict), None)


def passes(handler: Handler, body: dict[str, Any]) -> bool:
    """Whether the object passes all of the handler's filters, as the runtime decides it."""
    return evaluator().passes(handler, KEY, body, serialised(body))


def obj(fields: dict[str, Any] | None = None, *, handled: dict[str, Any] | None = None, deleting: bool = False,
        finalizers: list[str] | None = None, labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An object with these top-level fields; ``handled``: the fields when it was last handled."""
    metadata: dict[str, Any] = {"name": "name1", "namespace": "ns", "uid": "uid1", "resourceVersion": "1"}
    if labels is not None:
        metadata["labels"] = dict(labels)
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    if finalizers is not None:
        metadata["finalizers"] = list(finalizers)
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-01T11:59:00Z"
    body = {"apiVersion": "kopf.dev/v1", "kind": "KopfExample", "metadata": metadata, **(fields or {})}
    if handled is not None:
        base = essence(obj(handled, labels=labels, annotations=annotations), own_prefix=ANNOTATIONS.own_prefix)
        metadata.setdefault("annotations", {})[ANNOTATIONS.last_handled] = orjson.dumps(base).decode()
    return body


KNOWN = {"labels": {"known": "value"}, "annotations": {"known": "value"}}


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


def selected(handlers: list[Handler], body: dict[str, Any], *, first_sight: bool = False) -> list[str]:
    """Ids of the change handlers opframe selects for the object's cause, in their order."""
    cause = detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight)
    raw = serialised(body)
    found = evaluator().matching(handlers, KEY, body, raw, cause)
    return plan(body, handlers=handlers, matching=found, bookkeeping=BOOKKEEPING, first_sight=first_sight, now=NOW,
                cause=cause, old_new=evaluator().old_new(handlers, KEY, raw, cause)).selected


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

def fn1(**_: Any) -> None:
    pass


def fn2(**_: Any) -> None:
    pass


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


# -- combinators of callbacks (kopf: tests/test_filtering_helpers.py) ---------------------------------

def _never2(*_: Any, **__: Any) -> bool:
    return False


def _always2(*_: Any, **__: Any) -> bool:
    return True


def test_the_combinators_are_exported_as_in_kopf() -> None:
    assert (opframe.not_, opframe.all_, opframe.any_, opframe.none_) == (not_, all_, any_, none_)


@pytest.mark.parametrize(("fn", "expected"), [(_always, False), (_never, True)], ids=["when-true", "when-false"])
def test_not(fn: Callable[..., bool], expected: bool) -> None:
    assert not_(fn)() is expected


COMBINATIONS = pytest.mark.parametrize(("fns", "all_expected", "any_expected", "none_expected"), [
    ([_always, _always2], True, True, False),
    ([_always, _never], False, True, False),
    ([_never, _never2], False, False, True),
    ([], True, False, True),
], ids=["all-true", "one-false", "all-false", "no-functions"])


@COMBINATIONS
def test_all(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert all_(fns)() is all_expected


@COMBINATIONS
def test_any(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert any_(fns)() is any_expected


@COMBINATIONS
def test_none(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert none_(fns)() is none_expected


def test_combinators_pass_the_arguments_through() -> None:
    def is_web(value: Any, **_: Any) -> bool:
        return bool(value == "web")

    def named(*, name: str, **_: Any) -> bool:
        return name == "name1"

    assert all_([is_web, not_(_never)])("web", name="x")
    assert not any_([is_web])("db")
    assert not_(named)(name="other")


def test_combinators_as_filters_of_a_handler() -> None:
    def is_known(value: Any, **_: Any) -> bool:
        return bool(value == "value")

    def in_ns(*, namespace: str, **_: Any) -> bool:
        return namespace == "ns"

    body = obj(labels={"known": "value"})
    assert passes(declare(on.event, labels={"known": all_([is_known, _always])}, when=any_([_never, in_ns])), body)
    assert not passes(declare(on.event, labels={"known": not_(is_known)}), body)
    assert not passes(declare(on.event, when=none_([in_ns])), body)


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
