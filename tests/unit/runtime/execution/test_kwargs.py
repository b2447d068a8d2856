"""Handler keyword arguments with kopf's meanings (opframe.runtime.execution.kwargs)."""

from __future__ import annotations

import datetime
from typing import Any, cast

import orjson

import opframe
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.handlers.progress import now_utc
from opframe.kopf.settings import OperatorSettings
from opframe.kube.resources import Resource
from opframe.runtime.execution.kwargs import Api, KwargsBuilder, fresh_body, serialised
from opframe.settings import Settings


def _handler(**_: Any) -> None:
    return None


HANDLER = Handler(id="h", fn=_handler, kind=Kind.UPDATE, resource=("configmaps",))


BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
        "data": {"k": "v"}}


def builder() -> KwargsBuilder:
    return KwargsBuilder(Resource("", "v1", "configmaps", "ConfigMap"), None, Memo(), dict)


def test_runtime_is_the_time_since_the_first_attempt_as_in_kopf() -> None:
    started = now_utc() - datetime.timedelta(seconds=42)
    kwargs = builder().build(HANDLER, fresh_body(serialised(BODY)), "ns/a", reason="update", retry=3, started=started)
    assert datetime.timedelta(seconds=42) <= kwargs["runtime"] < datetime.timedelta(seconds=52)
    assert kwargs["retry"] == 3 and kwargs["started"] == started


def test_runtime_is_zero_without_a_first_attempt() -> None:
    kwargs = builder().build(HANDLER, fresh_body(serialised(BODY)), "ns/a", reason=None)
    assert kwargs["runtime"] == datetime.timedelta(0)


def test_each_call_gets_its_own_copy_of_the_object() -> None:
    raw = serialised(BODY)
    first, second = fresh_body(raw), fresh_body(raw)
    first["data"]["k"] = "changed"
    assert second["data"]["k"] == "v" and BODY["data"]["k"] == "v"


def test_the_body_sections_are_views_of_the_same_copy() -> None:
    body = fresh_body(serialised(BODY))
    kwargs = builder().build(HANDLER, body, "ns/a", reason=None)
    assert kwargs["meta"] is body["metadata"] and kwargs["labels"] == {"x": "1"} and kwargs["name"] == "a"


RAW = {"apiVersion": "v1", "kind": "ConfigMap",
       "metadata": {"name": "a", "namespace": "ns", "uid": "u-1", "labels": {"x": "1"},
                    "creationTimestamp": "2026-12-01T00:00:00Z"},
       "spec": {"replicas": 2}, "status": {"phase": "Ready"}}


def test_handlers_get_bodies_and_the_source_is_untouched() -> None:
    body = fresh_body(orjson.dumps(RAW))
    assert isinstance(body, opframe.Body) and body.meta.name == "a"
    body.meta["name"] = "changed"
    assert RAW["metadata"]["name"] == "a"


def test_settings_is_the_operators_view_when_it_has_one_else_its_own_settings() -> None:
    """kopf's entry points give a view (kopf's OperatorSettings); an Operator built directly gets Settings."""
    settings, view = Settings(workers=3), OperatorSettings()
    view.bind(settings)
    resource = Resource("", "v1", "configmaps", "ConfigMap")
    for api_view, expected in ((view, view), (None, settings)):
        api = Api(cast(Any, None), settings, Memo(), api_view)
        kwargs = KwargsBuilder(resource, api, Memo(), dict).build(HANDLER, fresh_body(serialised(BODY)), "ns/a",
                                                                  reason=None)
        assert kwargs["settings"] is expected
    assert kwargs["settings"].workers == 3 and view.workers == 3
