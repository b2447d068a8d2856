"""Sub-handlers (opframe.runtime.execution.parents.run_parent + planner.conclude): kopf's ids, records and filters."""

from __future__ import annotations

import datetime
from typing import Any

import opframe
from opframe import on
from opframe.handlers.outcomes import Succeeded, WithChildren
from opframe.handlers.progress import HandlerState, Progress
from opframe.handlers.registry import Registry
from opframe.runtime.execution.parents import run_parent

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def parent_of(fn: Any) -> Any:
    registry = Registry()
    on.update("configmaps", id="parent", registry=registry)(fn)
    return registry.handlers()[0]


def kwargs(diff: tuple[Any, ...], old: Any, new: Any) -> dict[str, Any]:
    body = {"metadata": {"name": "n", "labels": {"a": "1"}}, "data": new["data"]}
    return {"body": body, "meta": body["metadata"], "reason": "update", "diff": diff, "old": old, "new": new}


def test_sub_handlers_get_parent_slash_id_and_kopfs_field_filters() -> None:
    calls: list[tuple[str, Any]] = []

    def parent(**_: Any) -> str:
        @opframe.subhandler(id="x-changed", field="data.x")
        def on_x(old: Any, new: Any, **_: Any) -> None:
            calls.append(("x", (old, new)))

        @opframe.subhandler(id="y-changed", field="data.y")
        def on_y(**_: Any) -> None:
            calls.append(("y", None))

        @opframe.subhandler(id="labelled", labels={"a": "2"})
        def never(**_: Any) -> None:
            calls.append(("never", None))

        return "parent-result"

    progress = Progress(cause="update")
    old, new = {"data": {"x": "1", "y": "1"}}, {"data": {"x": "2", "y": "1"}}
    diff = (opframe.DiffItem(opframe.DiffOperation.CHANGE, ("data", "x"), "1", "2"),)
    outcome = run_parent(parent_of(parent), kwargs(diff, old, new), None, progress.record, NOW)
    assert isinstance(outcome, WithChildren)
    assert [h.id for h in outcome.declared] == ["parent/x-changed", "parent/y-changed", "parent/labelled"]
    assert calls == [("x", ("1", "2"))]  # y did not change; the label filter does not match
    assert outcome.result == "parent-result"


def test_a_finished_sub_handler_is_not_called_again() -> None:
    calls: list[str] = []

    def parent(**_: Any) -> None:
        opframe.register(lambda **_: calls.append("done"), id="done")
        opframe.register(lambda **_: calls.append("todo"), id="todo")

    progress = Progress(cause="update")
    progress.record("parent/done").state = HandlerState.SUCCEEDED
    outcome = run_parent(parent_of(parent), kwargs((), {"data": {}}, {"data": {}}), None, progress.record, NOW)
    assert calls == ["todo"]
    assert isinstance(outcome, WithChildren) and dict(outcome.ran) == {"parent/todo": Succeeded(None)}


def test_sub_handlers_results_go_to_status_under_parent_slash_id() -> None:
    """kopf stores a sub-handler's result as it stores a handler's: status["<parent>/<sub>"]."""
    from opframe.handlers.bookkeeping import Bookkeeping
    from opframe.runtime.reconcile.planner import conclude, plan

    def parent(**_: Any) -> str:
        opframe.register(lambda **_: {"n": 1}, id="one")
        opframe.register(lambda **_: None, id="none")
        return "parent-result"

    registry = Registry()
    on.create("configmaps", id="parent", registry=registry)(parent)
    handler = registry.handlers()[0]
    body = {"metadata": {"name": "n", "namespace": "ns", "resourceVersion": "1", "annotations": {}},
            "data": {"x": "1"}}
    annotations = Bookkeeping()
    the_plan = plan(body, handlers=[handler], matching={handler.id}, bookkeeping=annotations,
                    first_sight=False, now=NOW)
    assert [step.handler.id for step in the_plan.steps] == ["parent"]
    assert the_plan.progress is not None
    outcome = run_parent(handler, kwargs((), {"data": {}}, {"data": {"x": "1"}}), None, the_plan.progress.record,
                         NOW)
    decision = conclude(the_plan, {"parent": outcome}, body=body, bookkeeping=annotations,
                        now=NOW)
    assert decision.finished
    assert decision.patch["status"] == {"parent/one": {"n": 1}, "parent": "parent-result"}
