"""kopf compatibility: why handlers run (cause detection).

Mirrors kopf 1.45.2's ``tests/causation/test_detection.py`` (rewritten, not copied), run against
opframe's ``causes.detect()`` and ``Reason``, and ``planner.plan()`` (which handlers a
cause runs).

kopf detects a cause from a watch event; opframe from the latest object alone
(level-triggered), with ``first_sight`` in place of kopf's ``initial`` (the first
listing after the operator started). The factors are kopf's: our finalizer, a
deletion timestamp, and the diff-base (kopf's last-handled-configuration, opframe's
own annotation) being absent, equal to the object's essence, or different.

Left out (see the report of this port): kopf's GONE (a DELETED watch event; opframe
never sees an event, a deleted object just leaves its cache).
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import orjson
import pytest

from opframe import on
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.causes import Reason, detect
from opframe.handlers.registry import Registry
from opframe.objects.diffs import DiffItem
from opframe.runtime.reconcile.planner import plan

ANNOTATIONS = Bookkeeping()


LAST_SEEN = ANNOTATIONS.last_handled


FINALIZER = "fin"


BOOKKEEPING = Bookkeeping(finalizer=FINALIZER)


NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


SPEC_DATA = {"spec": {"field": "value"}}


SPEC_JSON = orjson.dumps(SPEC_DATA).decode()


ALT_DATA = {"spec": {"field": "other"}}


ALT_JSON = orjson.dumps(ALT_DATA).decode()


# -- the factors, combined as in kopf -------------------------------------------------------------------

ALL_FINALIZERS = [
    pytest.param({}, id="no-finalizers"),
    pytest.param({"finalizers": [FINALIZER]}, id="own-finalizer"),
    pytest.param({"finalizers": ["irrelevant", "another"]}, id="other-finalizers"),
    pytest.param({"finalizers": ["irrelevant", FINALIZER, "another"]}, id="mixed-finalizers"),
]


our_finalizers = pytest.mark.parametrize("finalizers", [p for p in ALL_FINALIZERS if "own" in str(p.id)
                                                        or "mixed" in str(p.id)])


no_finalizers = pytest.mark.parametrize("finalizers", [p for p in ALL_FINALIZERS if "own" not in str(p.id)
                                                       and "mixed" not in str(p.id)])


all_finalizers = pytest.mark.parametrize("finalizers", ALL_FINALIZERS)


real_deletions = pytest.mark.parametrize("deletion_ts", [pytest.param({"deletionTimestamp": "some"},
                                                                      id="real-deletion-ts")])


no_deletions = pytest.mark.parametrize("deletion_ts", [
    pytest.param({}, id="no-deletion-ts"),
    pytest.param({"deletionTimestamp": None}, id="empty-deletion-ts"),
])


absent_lastseen = pytest.mark.parametrize("annotations", [
    pytest.param({}, id="no-annotations"),
    pytest.param({"annotations": {}}, id="no-lastseen"),
])


matching_lastseen = pytest.mark.parametrize("annotations", [
    pytest.param({"annotations": {LAST_SEEN: SPEC_JSON}}, id="good-lastseen"),
])


mismatching_lastseen = pytest.mark.parametrize("annotations", [
    pytest.param({"annotations": {LAST_SEEN: ALT_JSON}}, id="wrong-lastseen"),
])


all_lastseen = pytest.mark.parametrize("annotations", [
    pytest.param({}, id="no-annotations"),
    pytest.param({"annotations": {}}, id="no-lastseen"),
    pytest.param({"annotations": {LAST_SEEN: SPEC_JSON}}, id="good-lastseen"),
    pytest.param({"annotations": {LAST_SEEN: ALT_JSON}}, id="wrong-lastseen"),
])


first_sights = pytest.mark.parametrize("first_sight", [False, True], ids=["later", "first-sight"])


def make_body(*metadata_parts: dict[str, Any], content: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {}}
    body |= copy.deepcopy(content or {})
    for part in metadata_parts:
        body["metadata"] |= copy.deepcopy(part)
    return body


def reason_of(body: dict[str, Any], *, first_sight: bool = False) -> Reason:
    return detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight).reason


# -- detection (kopf: test_detection.py) -----------------------------------------------------------------

@all_lastseen
@no_finalizers
@real_deletions
@first_sights
def test_deletion_without_our_finalizer_runs_no_handler(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                                       annotations: dict[str, Any], first_sight: bool) -> None:
    """kopf's FREE: the object goes away without us."""
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    body["metadata"]["resourceVersion"] = "1"
    registry = Registry()
    for optional, fn in ((False, _mandatory), (True, _optional)):
        on.delete("kopfexamples", optional=optional, registry=registry)(fn)
    on.resume("kopfexamples", deleted=True, registry=registry)(_resumed)
    handlers = registry.handlers()
    the_plan = plan(body, handlers=handlers, matching={h.id for h in handlers}, bookkeeping=BOOKKEEPING,
                    first_sight=first_sight, now=NOW)
    assert reason_of(body, first_sight=first_sight) is Reason.FREE
    assert the_plan.selected == [] and the_plan.steps == []
    assert dict(the_plan.patch) == {}


@our_finalizers
@real_deletions
@all_lastseen
@first_sights
def test_deletion_with_our_finalizer_is_delete(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                               annotations: dict[str, Any], first_sight: bool) -> None:
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    assert reason_of(body, first_sight=first_sight) is Reason.DELETE


@absent_lastseen
@all_finalizers
@no_deletions
@first_sights
def test_no_diff_base_is_create(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                annotations: dict[str, Any], first_sight: bool) -> None:
    """With or without a finalizer (kopf's "skip acquire" case); creation never mixes with resuming."""
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    assert reason_of(body, first_sight=first_sight) is Reason.CREATE


@matching_lastseen
@all_finalizers
@no_deletions
def test_an_unchanged_object_is_noop(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                     annotations: dict[str, Any]) -> None:
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    reason = reason_of(body)
    assert reason is Reason.NOOP
    assert reason == "noop"


@matching_lastseen
@all_finalizers
@no_deletions
def test_an_unchanged_object_on_first_sight_is_resume(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                                      annotations: dict[str, Any]) -> None:
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    assert reason_of(body, first_sight=True) is Reason.RESUME


@mismatching_lastseen
@all_finalizers
@no_deletions
@first_sights
def test_a_changed_object_is_update(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                    annotations: dict[str, Any], first_sight: bool) -> None:
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    cause = detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight)
    assert cause.reason is Reason.UPDATE
    assert cause.old == ALT_DATA
    assert cause.new == SPEC_DATA
    assert cause.diff == (DiffItem("change", ("spec", "field"), "other", "value"),)


@all_lastseen
@all_finalizers
@pytest.mark.parametrize("deletion_ts", [pytest.param({}, id="no-deletion-ts"),
                                         pytest.param({"deletionTimestamp": None}, id="empty-deletion-ts"),
                                         pytest.param({"deletionTimestamp": "some"}, id="real-deletion-ts")])
def test_the_cause_carries_the_object(finalizers: dict[str, Any], deletion_ts: dict[str, Any],
                                      annotations: dict[str, Any]) -> None:
    body = make_body(finalizers, deletion_ts, annotations, content=SPEC_DATA)
    cause = detect(body, bookkeeping=BOOKKEEPING, first_sight=False)
    assert cause.body is body
    assert cause.new == SPEC_DATA  # the essence: our diff-base annotation is not part of it


def test_reasons_are_kopf_s() -> None:
    assert [r.value for r in Reason] == ["create", "update", "delete", "resume", "noop",
                                                                  "free", "gone"]
    assert str(Reason.CREATE) == "create"
    assert Reason("update") is Reason.UPDATE
    assert Reason.DELETE == "delete"


# -- which handlers a deletion runs -----------------------------------------------------------------------

def _mandatory(**_: Any) -> None:
    pass


def _optional(**_: Any) -> None:
    pass


def _resumed(**_: Any) -> None:
    pass


@pytest.mark.parametrize(("finalizers", "expected"), [
    (["irrelevant", FINALIZER], ["_optional"]),
    (["irrelevant"], []),
    ([], []),
], ids=["our-finalizer", "other-finalizer", "no-finalizers"])
def test_an_optional_delete_handler_runs_only_while_the_finalizer_is_held(finalizers: list[str],
                                                                          expected: list[str]) -> None:
    body = make_body({"finalizers": finalizers, "deletionTimestamp": "some", "resourceVersion": "1"},
                     {"annotations": {LAST_SEEN: SPEC_JSON}}, content=SPEC_DATA)
    registry = Registry()
    on.delete("kopfexamples", optional=True, registry=registry)(_optional)
    handlers = registry.handlers()
    the_plan = plan(body, handlers=handlers, matching={h.id for h in handlers}, bookkeeping=BOOKKEEPING,
                    first_sight=False, now=NOW)
    assert the_plan.selected == expected
    assert [step.handler.fn for step in the_plan.steps] == ([_optional] if expected else [])
