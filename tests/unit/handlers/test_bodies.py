"""Bodies with kopf's names and attribute access (kopf's _cogs/structs/bodies.py, rewritten as dicts)."""

from __future__ import annotations

import json

import orjson

import opframe
from opframe.handlers.bodies import Body, Meta, Spec, Status
from opframe.runtime.execution.kwargs import fresh_body

RAW = {"apiVersion": "v1", "kind": "ConfigMap",
       "metadata": {"name": "a", "namespace": "ns", "uid": "u-1", "labels": {"x": "1"},
                    "creationTimestamp": "2026-12-01T00:00:00Z"},
       "spec": {"replicas": 2}, "status": {"phase": "Ready"}}


def test_attribute_access_as_in_kopf() -> None:
    body = Body(RAW)
    assert (body.meta.name, body.meta.namespace, body.meta.uid) == ("a", "ns", "u-1")
    assert body.metadata.labels == {"x": "1"} and body.meta.annotations == {}
    assert body.meta.creation_timestamp == "2026-12-01T00:00:00Z" and body.meta.deletion_timestamp is None
    assert body.spec["replicas"] == 2 and body.status.get("phase") == "Ready"
    assert isinstance(body.meta, Meta) and isinstance(body.spec, Spec) and isinstance(body.status, Status)


def test_sections_are_the_dicts_inside_the_body() -> None:
    body = Body(RAW)
    assert body["metadata"] is body.meta and body["spec"] is body.spec and body["status"] is body.status
    body.spec["replicas"] = 3
    assert body["spec"]["replicas"] == 3


def test_a_body_is_still_a_plain_dict_for_every_other_purpose() -> None:
    body = Body(RAW)
    assert body == RAW and json.loads(json.dumps(body)) == RAW and orjson.loads(orjson.dumps(body)) == RAW


def test_absent_sections_read_as_empty() -> None:
    body = Body({"metadata": {"name": "b"}})
    assert body.spec == {} and body.status == {} and body.meta.labels == {} and "spec" not in body


def test_handlers_get_bodies_and_the_source_is_untouched() -> None:
    body = fresh_body(orjson.dumps(RAW))
    assert isinstance(body, opframe.Body) and body.meta.name == "a"
    body.meta["name"] = "changed"
    assert RAW["metadata"]["name"] == "a"


def test_kopfs_type_names_are_exported() -> None:
    for name in ("Body", "Meta", "Spec", "Status", "Labels", "Annotations", "RawBody", "RawEvent", "RawEventType",
                 "BodyEssence", "ObjectReference", "OwnerReference", "FieldPath", "FieldSpec", "HandlerId", "Logger",
                 "PatchFn", "Patch", "Memo", "Resource", "PermanentError", "TemporaryError", "DaemonStopped"):
        assert hasattr(opframe, name), name


def test_index_and_store_are_generic_as_in_kopf() -> None:
    from opframe.runtime.reconcile.indexes import Index, Store

    index: Index[str, int] = Index()
    index._set("ns/a", {"x": 1})
    index._set("ns/b", {"x": 2})
    assert isinstance(index["x"], Store) and sorted(index["x"]) == [1, 2] and 2 in index["x"]
    assert opframe.Index[str, bool] is not None  # kopf's examples subscript it in evaluated annotations


def test_memo_attributes_can_be_deleted() -> None:
    memo = opframe.Memo()
    memo.cache = 1
    del memo.cache
    assert "cache" not in memo
