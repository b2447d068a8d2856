"""The planner as a table of cases: plan() and conclude() are pure, so every decision is data in, data out."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import pathlib
from typing import Any

import orjson
import pytest

from opframe import on
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.outcomes import Raised, Succeeded
from opframe.handlers.progress import HandlerRecord, HandlerState, Progress, digest
from opframe.handlers.registry import Registry
from opframe.handlers.retries import ErrorsMode, PermanentError, TemporaryError
from opframe.objects.patches import Patch
from opframe.runtime.reconcile.planner import conclude, diff_base_only, plan, release
from opframe.runtime.reconcile.planner import earliest as _earliest

from ..objects import ANNOTATIONS, essence_of, handler, obj

FINALIZER = "opframe.dev/finalizer"


BOOKKEEPING = Bookkeeping(finalizer=FINALIZER)


NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


CREATE = handler("on_create", Kind.CREATE)


UPDATE = handler("on_update", Kind.UPDATE)


DELETE = handler("on_delete", Kind.DELETE)


RESUME = handler("on_resume", Kind.RESUME)


FIELD = handler("on_replicas", Kind.FIELD, field=("spec", "replicas"))


UPDATE_FIELD = handler("on_update_replicas", Kind.UPDATE, field=("spec", "replicas"))


TIMER = handler("tick", Kind.TIMER, interval=5.0)


ALL = [CREATE, UPDATE, DELETE, RESUME, FIELD]


def planned(body: dict[str, Any], handlers: list[Handler] = ALL, *, matching: set[str] | None = None,
            first_sight: bool = False) -> Any:
    ids = {h.id for h in handlers} if matching is None else matching
    return plan(body, handlers=handlers, matching=ids, bookkeeping=BOOKKEEPING,
                first_sight=first_sight, now=NOW)


def concluded(body: dict[str, Any], the_plan: Any, outcomes: dict[str, Any]) -> Any:
    return conclude(the_plan, outcomes, body=body, bookkeeping=BOOKKEEPING, now=NOW)


@dataclasses.dataclass
class Row:
    """One line of the table: an object and what the planner must decide for it."""

    name: str
    body: dict[str, Any]
    runs: list[str]
    finalizer: str  # "add", "remove" or "keep"
    handlers: list[Handler] = dataclasses.field(default_factory=lambda: list(ALL))
    matching: set[str] | None = None
    first_sight: bool = False


DELAYED = Progress(cause="update", digest=digest(essence_of({"replicas": 2})), handlers={
    "on_update": HandlerRecord(state=HandlerState.DELAYED, retries=1, started=NOW - datetime.timedelta(seconds=9),
                               delayed_until=NOW + datetime.timedelta(seconds=30)),
    "on_replicas": HandlerRecord(state=HandlerState.SUCCEEDED)})


DUE = Progress(cause="update", digest=digest(essence_of({"replicas": 2})), handlers={
    "on_update": HandlerRecord(state=HandlerState.DELAYED, retries=2, started=NOW - datetime.timedelta(seconds=9),
                               delayed_until=NOW - datetime.timedelta(seconds=1)),
    "on_replicas": HandlerRecord(state=HandlerState.SUCCEEDED)})


TABLE = [
    # kopf's rule: a cycle that adds the finalizer runs no handler; the next one (its echo) does.
    Row("create: the finalizer first, alone", obj({"replicas": 1}), [], "add"),
    Row("resume, first sight, no finalizer yet: the finalizer first, alone",
        obj({"replicas": 1}, handled={"replicas": 1}), [], "add", first_sight=True),
    Row("create, finalizer already there", obj({"replicas": 1}, finalizers=[FINALIZER]),
        ["on_create", "on_replicas"], "keep"),
    Row("update of a field", obj({"replicas": 2}, handled={"replicas": 1}, finalizers=[FINALIZER]),
        ["on_update", "on_replicas"], "keep"),
    Row("update elsewhere: the field handler is not run", obj({"replicas": 1, "x": 1}, handled={"replicas": 1},
                                                                finalizers=[FINALIZER]),
        ["on_update"], "keep"),
    Row("no change", obj({"replicas": 1}, handled={"replicas": 1}, finalizers=[FINALIZER]), [], "keep"),
    Row("resume: first sight, unchanged", obj({"replicas": 1}, handled={"replicas": 1}, finalizers=[FINALIZER]),
        ["on_resume"], "keep", first_sight=True),
    Row("retrying, not due yet", obj({"replicas": 2}, handled={"replicas": 1}, progress=DELAYED,
                                     finalizers=[FINALIZER]), [], "keep"),
    Row("retrying, due", obj({"replicas": 2}, handled={"replicas": 1}, progress=DUE, finalizers=[FINALIZER]),
        ["on_update"], "keep"),
    Row("being deleted, our finalizer", obj({"replicas": 1}, handled={"replicas": 1}, finalizers=[FINALIZER],
                                            deleting=True), ["on_delete"], "keep"),
    Row("being deleted, no finalizer of ours", obj({"replicas": 1}, handled={"replicas": 1},
                                                    finalizers=["other/f"], deleting=True), [], "keep"),
    Row("being deleted, delete handler filtered out", obj({"replicas": 1}, handled={"replicas": 1},
                                                          finalizers=[FINALIZER], deleting=True),
        [], "remove", matching={"on_create", "on_update", "on_resume", "on_replicas"}),
    Row("filtered out entirely", obj({"replicas": 1}), [], "keep", matching=set()),
    Row("label lost: no handler needing the finalizer matches", obj({"replicas": 1}, handled={"replicas": 1},
                                                                   finalizers=[FINALIZER, "other/f"]),
        [], "remove", matching=set()),
    Row("only a timer: finalizer for it, no diff-base", obj({"replicas": 1}), [], "add", handlers=[TIMER]),
    # kopf's field_needs_change (kopf/on.py, checked against kopf 1.45.2 running): on.update and on.field
    # with field= run only when the field changed; on.create/on.resume with field= only need it present.
    Row("on.update(field=), another field changed: not run", obj({"replicas": 1, "x": 2},
                                                                   handled={"replicas": 1, "x": 1}),
        [], "keep", handlers=[UPDATE_FIELD]),
    Row("on.update(field=), the field changed: run", obj({"replicas": 2}, handled={"replicas": 1}),
        ["on_update_replicas"], "keep", handlers=[UPDATE_FIELD]),
    Row("on.create(field=) with the field present: run", obj({"replicas": 1}), ["on_create_replicas"], "keep",
        handlers=[handler("on_create_replicas", Kind.CREATE, field=("spec", "replicas"))]),
    Row("on.resume(field=), unchanged, first sight: run", obj({"replicas": 1}, handled={"replicas": 1}),
        ["on_resume_replicas"], "keep", first_sight=True,
        handlers=[handler("on_resume_replicas", Kind.RESUME, field=("spec", "replicas"))]),
]


@pytest.mark.parametrize("row", TABLE, ids=[row.name for row in TABLE])
def test_plan_table(row: Row) -> None:
    result = planned(row.body, row.handlers, matching=row.matching, first_sight=row.first_sight)
    assert [step.handler.id for step in result.steps] == row.runs
    finalizers = (result.patch.get("metadata") or {}).get("finalizers")
    before = row.body["metadata"].get("finalizers") or []
    if row.finalizer == "keep":
        assert finalizers is None
    elif row.finalizer == "add":
        assert finalizers == [*before, FINALIZER]
        assert result.patch["metadata"]["resourceVersion"] == "7"
    else:
        assert finalizers == [f for f in before if f != FINALIZER]
        assert result.patch["metadata"]["resourceVersion"] == "7"


def test_a_delayed_handler_comes_back_when_due() -> None:
    result = planned(obj({"replicas": 2}, handled={"replicas": 1}, progress=DELAYED, finalizers=[FINALIZER]))
    assert result.come_back == pytest.approx(30.0)


def test_a_retry_keeps_its_count_and_first_start() -> None:
    step = planned(obj({"replicas": 2}, handled={"replicas": 1}, progress=DUE, finalizers=[FINALIZER])).steps[0]
    assert step.retry == 2 and step.started == NOW - datetime.timedelta(seconds=9)


def test_field_handler_sees_the_field_values_and_a_relative_diff() -> None:
    step = next(s for s in planned(obj({"replicas": 2}, handled={"replicas": 1}, finalizers=[FINALIZER])).steps
                if s.handler is FIELD)
    assert (step.old, step.new) == (1, 2)
    assert [(item.op, item.path) for item in step.diff] == [("change", ())]


def test_all_succeeded_writes_the_diff_base_the_marker_and_drops_progress() -> None:
    body = obj({"replicas": 2}, handled={"replicas": 1}, progress=DUE, finalizers=[FINALIZER])
    the_plan = planned(body)
    decision = concluded(body, the_plan, {"on_update": Succeeded({"ok": True})})
    notes = decision.patch["metadata"]["annotations"]
    assert orjson.loads(notes[ANNOTATIONS.last_handled]) == essence_of({"replicas": 2})
    assert notes[ANNOTATIONS.progress] is None
    assert decision.patch["status"] == {"on_update": {"ok": True}}
    assert decision.come_back is None and not decision.retrying and decision.succeeded == ["on_update"]


def test_a_first_write_also_marks_the_prefix_as_managed() -> None:
    body = obj({"replicas": 1}, finalizers=[FINALIZER])
    decision = concluded(body, planned(body), {"on_create": Succeeded(), "on_replicas": Succeeded()})
    assert decision.patch["metadata"]["annotations"][ANNOTATIONS.marker] == "yes"


def test_a_temporary_error_delays_that_handler_and_keeps_progress() -> None:
    body = obj({"replicas": 1}, finalizers=[FINALIZER])
    decision = concluded(body, planned(body), {"on_create": Raised(TemporaryError("later", delay=4)),
                                               "on_replicas": Succeeded()})
    progress = Progress.from_annotation(decision.patch["metadata"]["annotations"][ANNOTATIONS.progress])
    assert progress is not None
    assert progress.handlers["on_create"].state is HandlerState.DELAYED
    assert progress.handlers["on_create"].retries == 1
    assert progress.handlers["on_replicas"].state is HandlerState.SUCCEEDED
    assert decision.come_back == 4 and decision.retrying
    assert ANNOTATIONS.last_handled not in decision.patch["metadata"]["annotations"]


def test_a_permanent_error_finishes_the_cause() -> None:
    body = obj({"replicas": 1}, finalizers=[FINALIZER])
    decision = concluded(body, planned(body), {"on_create": Raised(PermanentError("no")),
                                               "on_replicas": Succeeded()})
    assert decision.failures[0].retry_in is None
    assert ANNOTATIONS.last_handled in decision.patch["metadata"]["annotations"]
    assert not decision.retrying


@pytest.mark.parametrize(("error", "errors", "traceback", "succeeded"), [
    (ValueError("boom"), None, True, []),  # any exception: its traceback is logged (kopf's logger.exception)
    (TemporaryError("later", delay=1), None, False, []),  # opframe's own errors say what went wrong
    (PermanentError("no"), None, False, []),
    (ValueError("boom"), ErrorsMode.IGNORED, True, ["on_create"]),  # logged as a failure, counted a success
    (ValueError("boom"), ErrorsMode.PERMANENT, True, []),
], ids=["exception", "temporary", "permanent", "ignored", "errors-permanent"])
def test_a_failure_carries_the_exception_whose_traceback_is_logged(
        error: BaseException, errors: ErrorsMode | None, traceback: bool, succeeded: list[str]) -> None:
    on_create = handler("on_create", Kind.CREATE, **({"errors": errors} if errors else {}))
    body = obj({"replicas": 1})
    decision = concluded(body, planned(body, [on_create]), {"on_create": Raised(error)})
    [failure] = decision.failures
    assert (failure.error is error) is traceback and (failure.error is None) is not traceback
    assert failure.ignored is (errors is ErrorsMode.IGNORED)
    assert decision.succeeded == succeeded


def test_delete_removes_the_finalizer_only_after_the_delete_handler_finished() -> None:
    body = obj({"replicas": 1}, handled={"replicas": 1}, finalizers=["other/f", FINALIZER], deleting=True)
    failed = concluded(body, planned(body), {"on_delete": Raised(TemporaryError("wait", delay=1))})
    assert "finalizers" not in failed.patch.get("metadata", {})
    done = concluded(body, planned(body), {"on_delete": Succeeded()})
    assert done.patch["metadata"]["finalizers"] == ["other/f"]


def test_a_deleted_objects_running_daemons_keep_the_finalizer_and_the_delete_records() -> None:
    """kopf's rule: the finalizer stays while the daemons run; the delete handler's record stays with
    it, so the visit after the daemons' end releases the finalizer without running it again."""
    body = obj({"replicas": 1}, handled={"replicas": 1}, finalizers=[FINALIZER], deleting=True)
    holding = plan(body, handlers=ALL, matching={h.id for h in ALL}, bookkeeping=BOOKKEEPING,
                   first_sight=False, now=NOW, daemons_running=True)
    done = concluded(body, holding, {"on_delete": Succeeded()})
    assert "finalizers" not in done.patch["metadata"]
    kept = Progress.from_annotation(done.patch["metadata"]["annotations"][ANNOTATIONS.progress])
    assert kept is not None and kept.record("on_delete").state is HandlerState.SUCCEEDED
    later = obj({"replicas": 1}, handled={"replicas": 1}, finalizers=[FINALIZER], deleting=True, progress=kept)
    released = planned(later)
    assert released.steps == []
    assert concluded(later, released, {}).patch["metadata"]["finalizers"] == []
    no_delete_handlers = plan(body, handlers=[CREATE], matching={CREATE.id}, bookkeeping=BOOKKEEPING,
                              first_sight=False, now=NOW, daemons_running=True)
    assert "finalizers" not in (no_delete_handlers.patch.get("metadata") or {})


def test_an_object_no_change_handler_matches_is_left_untouched() -> None:
    """kopf's "be blind to it": no diff-base, no marker, so it is handled as created once it matches."""
    for body in (obj({"replicas": 1}), obj({"replicas": 2}, handled={"replicas": 1})):
        result = planned(body, matching=set())
        assert result.steps == [] and not result.patch, result.patch
    # a handler whose field= is absent from the object is not interested in it either
    with_field = planned(obj({"other": 1}), [FIELD, handler("on_create_replicas", Kind.CREATE,
                                                              field=("spec", "replicas"))])
    assert with_field.steps == [] and not with_field.patch
    # nor one whose value= matches neither the old nor the new value
    valued = handler("on_create_three", Kind.CREATE, field=("spec", "replicas"), value=3)
    assert not planned(obj({"replicas": 1}), [valued]).patch


def test_an_object_matched_by_a_handler_of_another_cause_records_the_diff_base() -> None:
    """Only an update handler matches a new object: nothing runs, and the diff-base records what was
    seen, so the next change is an update (kopf's ``skip``)."""
    body = obj({"replicas": 1})
    result = planned(body, matching={UPDATE.id})
    assert result.steps == [] and ANNOTATIONS.last_handled in result.patch["metadata"]["annotations"]
    unchanged_field = planned(obj({"replicas": 2}, handled={"replicas": 2, "other": 1}), [FIELD])
    assert unchanged_field.steps == [] and ANNOTATIONS.last_handled in unchanged_field.patch["metadata"]["annotations"]


def test_release_removes_only_our_finalizer() -> None:
    patch = release(obj({}, finalizers=["a/b", FINALIZER]), BOOKKEEPING)
    assert patch is not None and patch["metadata"]["finalizers"] == ["a/b"]
    assert release(obj({}, finalizers=["a/b"]), BOOKKEEPING) is None


def test_plan_does_not_touch_its_input() -> None:
    body = obj({"replicas": 2}, handled={"replicas": 1}, progress=DUE, finalizers=[FINALIZER])
    before = orjson.dumps(body)
    concluded(body, planned(body), {"on_update": Succeeded({"x": 1})})
    assert orjson.dumps(body) == before


# -- purity: same inputs, same outputs; inputs never changed; user code never called --------------------


def _raise_if_called(*_: Any, **__: Any) -> Any:
    raise AssertionError("the planner called user code")


def test_conclude_twice_on_one_plan_counts_a_failure_once_and_decides_the_same() -> None:
    body = obj({"a": 1})
    the_plan = planned(body, [CREATE, FIELD])
    before = (copy.deepcopy(dict(the_plan.patch)), copy.deepcopy(the_plan.progress), list(the_plan.steps))
    outcomes = {CREATE.id: Raised(RuntimeError("boom")), FIELD.id: Succeeded("ok")}
    first = conclude(the_plan, outcomes, body=body, bookkeeping=BOOKKEEPING, now=NOW, backoffs={CREATE.id: 3.0})
    second = conclude(the_plan, outcomes, body=body, bookkeeping=BOOKKEEPING, now=NOW, backoffs={CREATE.id: 3.0})
    assert first == second
    assert (dict(the_plan.patch), the_plan.progress, the_plan.steps) == before  # nothing written into it
    record = Progress.from_annotation(first.patch["metadata"]["annotations"][ANNOTATIONS.progress])
    assert record is not None and record.handlers[CREATE.id].retries == 1
    assert first.come_back == 3.0  # the backoff the caller computed, not one drawn here


def test_plan_leaves_its_inputs_as_they_were() -> None:
    progress = Progress(cause="update", digest=digest(essence_of({"a": 2})))
    progress.record(UPDATE.id).retries = 2
    body = obj({"a": 2}, handled={"a": 1}, progress=progress)
    frozen = copy.deepcopy(body)
    first = planned(body)
    assert planned(body) == first
    assert body == frozen


def test_callable_old_and_new_filters_are_the_callers_verdicts() -> None:
    watched = handler("watched", Kind.UPDATE, field=("spec", "a"), old=_raise_if_called, new=_raise_if_called)
    body = obj({"a": 2}, handled={"a": 1})
    kwargs: dict[str, Any] = dict(handlers=[watched], matching={watched.id}, bookkeeping=BOOKKEEPING,
                                  first_sight=False, now=NOW)
    assert [s.handler.id for s in plan(body, **kwargs, old_new={watched.id}).steps] == [watched.id]
    assert plan(body, **kwargs, old_new=set()).steps == []


def test_the_planner_module_imports_nothing_that_runs_threads_loops_or_sockets() -> None:
    import opframe.runtime.reconcile.planner as module

    source = pathlib.Path(module.__file__).read_text()
    for forbidden in ("threading", "asyncio", "concurrent", "socket", "urllib3", "random"):
        assert f"import {forbidden}" not in source


# -- earliest() -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "earliest"), [
    (None, None, None),
    (None, 5.0, 5.0),
    (5.0, None, 5.0),
    (3.0, 5.0, 3.0),
    (5.0, 3.0, 3.0),
    (0.0, 5.0, 0.0),
    (None, 0.0, 0.0),
], ids=["both-none", "first-none", "second-none", "first-earlier", "second-earlier", "zero", "none-and-zero"])
def test_earliest(a: float | None, b: float | None, earliest: float | None) -> None:
    assert _earliest(a, b) == earliest


# -- kopf's rule: one function under one id runs once per cause, even when decorated for several kinds --


def reconcile(**_: Any) -> None:
    pass


def test_update_and_resume_of_one_function_run_it_once_on_the_first_update_after_a_start() -> None:
    registry = Registry()
    for decorator in (on.create, on.update, on.resume):
        decorator("configmaps", registry=registry)(reconcile)
    annotations = Bookkeeping("opframe.dev")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "2"},
            "metadata": {"name": "c", "namespace": "n", "resourceVersion": "1",
                         "annotations": {annotations.last_handled: json.dumps({"data": {"a": "1"}})}}}
    handlers = registry.handlers()
    the_plan = plan(body, handlers=handlers, matching={h.id for h in handlers}, bookkeeping=annotations,
                    first_sight=True,
                    now=datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC))
    assert [(s.handler.kind.value, s.handler.id) for s in the_plan.steps] == [("update", "reconcile")]


_BASE = "opframe.dev/last-handled-configuration"


@pytest.mark.parametrize(("patch", "held"), [
    (Patch({"metadata": {"annotations": {_BASE: '{"spec":{}}'}}}), '{"spec":{}}'),
    # anything else in the write must be written now: results, progress, the marker, finalizers, fns
    (Patch({"metadata": {"annotations": {_BASE: "{}"}}, "status": {"h": 1}}), None),
    (Patch({"metadata": {"annotations": {_BASE: "{}", "opframe.dev/progress": None}}}), None),
    (Patch({"metadata": {"annotations": {_BASE: "{}", "opframe.dev/kopf-managed": "yes"}}}), None),
    (Patch({"metadata": {"annotations": {_BASE: "{}"}, "finalizers": [FINALIZER]}}), None),
    (Patch({"metadata": {"annotations": {_BASE: "{}"}}}, fns=[lambda body: None]), None),
    (Patch({"metadata": {"annotations": {"opframe.dev/progress": "{}"}}}), None),
    (Patch(), None),
], ids=["diff-base-alone", "results", "progress-removed", "marker", "finalizer", "fns", "progress-alone", "empty"])
def test_only_a_write_of_the_diff_base_alone_may_be_held_back(patch: Patch, held: str | None) -> None:
    assert diff_base_only(patch, BOOKKEEPING) == held
