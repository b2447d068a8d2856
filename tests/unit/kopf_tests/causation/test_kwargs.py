"""kopf compatibility: what a cause gives its handlers (kwargs).

Mirrors kopf 1.45.2's ``tests/causation/test_kwargs.py`` (rewritten, not copied), run against
opframe's ``runtime.execution.kwargs.KwargsBuilder``.

Left out (see the report of this port): the exact sets of kwargs per cause (opframe
passes every handler the same superset, filtered by the handler's signature), and
activity, admission and daemon kwargs.
"""

from __future__ import annotations

from typing import Any

import pytest

from opframe.handlers.causes import Reason
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.kube.resources import Resource
from opframe.objects.bodies import Body
from opframe.objects.diffs import DiffItem
from opframe.objects.patches import Patch
from opframe.runtime.execution.kwargs import KwargsBuilder, fresh_body, serialised


def _mandatory(**_: Any) -> None:
    pass


# -- kwargs (kopf: test_kwargs.py) -------------------------------------------------------------------------

RESOURCE = Resource("kopf.dev", "v1", "kopfexamples", "KopfExample")


KWARGS_BODY = {"metadata": {"uid": "uid1", "name": "name1", "namespace": "ns1",
                            "labels": {"l1": "v1"}, "annotations": {"a1": "v1"}},
               "spec": {"field": "value"},
               "status": {"info": "payload"}}


#: What kopf gives every resource handler (ResourceCause's kwargs).
RESOURCE_KWARGS = {"logger", "resource", "patch", "memo", "body", "spec", "status", "meta", "uid", "name",
                   "namespace", "labels", "annotations"}


def handler_of(kind: Kind) -> Handler:
    return Handler(id="h", fn=_mandatory, kind=kind, resource=("kopfexamples",))


def builder(indexes: dict[str, Any] | None = None) -> KwargsBuilder:
    return KwargsBuilder(RESOURCE, None, Memo(), lambda: dict(indexes or {}))


def assert_the_object_kwargs(kwargs: dict[str, Any], body: Body) -> None:
    assert kwargs["body"] is body
    assert kwargs["spec"] is body.spec
    assert kwargs["meta"] is body.metadata
    assert kwargs["status"] is body.status
    assert kwargs["labels"] is body.metadata.labels
    assert kwargs["annotations"] is body.metadata.annotations
    assert (kwargs["uid"], kwargs["name"], kwargs["namespace"]) == ("uid1", "name1", "ns1")
    assert kwargs["resource"] is RESOURCE
    assert isinstance(kwargs["patch"], Patch)
    assert isinstance(kwargs["memo"], Memo)
    assert kwargs["logger"] is not None


@pytest.mark.parametrize("reason", [Reason.CREATE, Reason.UPDATE, Reason.DELETE, Reason.RESUME, Reason.NOOP])
def test_the_kwargs_of_a_change_handler(reason: Reason) -> None:
    body = fresh_body(serialised(KWARGS_BODY))
    patch = Patch()
    diff = (DiffItem("change", ("spec", "field"), "old", "value"),)
    old, new = {"spec": {"field": "old"}}, {"spec": {"field": "value"}}
    kwargs = builder().build(handler_of(Kind.UPDATE), body, "ns1/name1", reason=reason, diff=diff, old=old,
                             new=new, patch=patch)
    assert RESOURCE_KWARGS | {"reason", "diff", "old", "new"} <= set(kwargs)
    assert_the_object_kwargs(kwargs, body)
    assert kwargs["reason"] is reason
    assert kwargs["patch"] is patch
    assert kwargs["diff"] is diff
    assert (kwargs["old"], kwargs["new"]) == (old, new)


def test_the_kwargs_of_an_event_handler() -> None:
    body = fresh_body(serialised(KWARGS_BODY))
    event = {"type": "ADDED", "object": body}
    kwargs = builder().build(handler_of(Kind.EVENT), body, "ns1/name1", reason=None, event=event, type_="ADDED")
    assert RESOURCE_KWARGS | {"event", "type"} <= set(kwargs)
    assert_the_object_kwargs(kwargs, body)
    assert kwargs["event"] is event
    assert kwargs["type"] == "ADDED"


@pytest.mark.parametrize("kind", [Kind.TIMER, Kind.DAEMON])
def test_the_kwargs_of_a_spawned_handler(kind: Kind) -> None:
    body = fresh_body(serialised(KWARGS_BODY))
    kwargs = builder().build(handler_of(kind), body, "ns1/name1", reason=None)
    assert set(kwargs) >= RESOURCE_KWARGS
    assert_the_object_kwargs(kwargs, body)


@pytest.mark.parametrize("name", sorted(RESOURCE_KWARGS | {"reason", "diff", "old", "new", "event", "type",
                                                           "stopped", "param", "retry", "started", "runtime"}))
def test_an_index_overrides_a_kwarg_of_the_same_name(name: str) -> None:
    index1, index2, named = object(), object(), object()
    body = fresh_body(serialised(KWARGS_BODY))
    kwargs = builder({"index1": index1, "index2": index2, name: named}).build(
        handler_of(Kind.UPDATE), body, "ns1/name1", reason=Reason.UPDATE)
    assert kwargs["index1"] is index1
    assert kwargs["index2"] is index2
    assert kwargs[name] is named
