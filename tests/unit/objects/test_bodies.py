"""Bodies with kopf's names and attribute access (opframe.objects.bodies; kopf's _cogs/structs/bodies.py,
rewritten as dicts), and LiveBody: a daemon's body (kopf's live body) and the sections it holds show the
object's latest state; the state is swapped whole, so one read never mixes two states.
"""

from __future__ import annotations

import json
import threading

import orjson

from opframe.objects.bodies import Body, LiveBody, Meta, Spec, Status

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


# -- LiveBody --------------------------------------------------------------------------------------


def test_sections_held_by_a_daemon_follow_the_object() -> None:
    body = LiveBody(Body({"metadata": {"name": "a", "labels": {"l": "1"}}, "spec": {"v": 1, "gone": True}}))
    spec, labels, meta, status = body.spec, body.meta.labels, body.meta, body.status
    assert status == {} and len(status) == 0
    body.replace(Body({"metadata": {"name": "a", "labels": {"l": "2"}}, "spec": {"v": 2}, "status": {"s": 1}}))
    assert spec == {"v": 2} and dict(spec) == {"v": 2} and "gone" not in spec
    assert labels == {"l": "2"} and meta.labels["l"] == "2" and meta.name == "a"
    assert status == {"s": 1} and body["status"] == {"s": 1}
    assert dict(body) == {"metadata": {"name": "a", "labels": {"l": "2"}}, "spec": {"v": 2}, "status": {"s": 1}}


def test_the_daemon_kwargs_are_the_live_sections() -> None:
    body = LiveBody({"metadata": {"name": "a", "annotations": {"x": "1"}}})
    kwargs = body.sections()
    body.replace({"metadata": {"name": "a", "annotations": {"x": "2"}}, "spec": {"v": 3}})
    assert kwargs["body"] is body
    assert kwargs["annotations"]["x"] == "2" and kwargs["spec"]["v"] == 3 and kwargs["meta"] == kwargs["metadata"]


def test_a_reader_never_sees_a_mix_of_two_states() -> None:
    """Each state is consistent (all values equal); replacing it while a reader copies the spec never
    shows a half-updated spec (refreshing in place did: a key deleted before its sibling was updated)."""
    states = [{"spec": {"a": i, "b": i, **{f"k{j}": i for j in range(50)}}} for i in range(2)]
    body = LiveBody(states[0])
    spec = body.spec
    stop = threading.Event()
    mixed: list[dict[str, int]] = []

    def read() -> None:
        reads = 0
        while not stop.is_set():
            reads += 1
            seen = dict(spec.items()) if reads % 2 else spec.copy()
            if len(set(seen.values())) != 1:
                mixed.append(seen)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(20000):
        body.replace(states[i % 2])
    stop.set()
    reader.join()
    assert mixed == []
