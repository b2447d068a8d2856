"""kopf's rule: one function under one id runs once per cause, even when decorated for several kinds."""

from __future__ import annotations

import datetime
import json
from typing import Any

from opframe import on
from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.registry import Registry
from opframe.runtime.reconcile.planner import plan


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
