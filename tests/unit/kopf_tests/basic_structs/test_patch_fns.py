"""kopf compatibility: a ``Patch``'s fns, applied by ``as_json_patch()``.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch_fns.py`` (and the fns cases of
``test_patch_json.py``) (rewritten, not copied), run against opframe's ``Patch`` (``opframe.objects.patches``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from opframe.objects.bodies import Body, RawBody
from opframe.objects.patches import Patch


def noop(body: RawBody) -> None:
    pass


def by_path(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(ops, key=lambda op: str(op["path"]))


# -- fns in as_json_patch() (kopf: test_patch_fns.py, test_patch_json.py) --------------------------

BODY = {"metadata": {"resourceVersion": "rv1", "finalizers": ["a", "b", "c"]}, "spec": {"x": "old"}}


def set_x(body: RawBody) -> None:
    body["spec"]["x"] = "new"


def append_finalizer(body: RawBody) -> None:
    body["metadata"]["finalizers"].append("d")


def remove_finalizer(body: RawBody) -> None:
    body["metadata"]["finalizers"].remove("b")


def add_y(body: RawBody) -> None:
    body["spec"]["y"] = 2


def bump_y(body: RawBody) -> None:
    body["spec"]["y"] += 1


@pytest.mark.parametrize(("fns", "ops"), [
    ([], []),
    ([noop], []),
    ([set_x], [{"op": "replace", "path": "/spec/x", "value": "new"}]),
    ([append_finalizer], [{"op": "add", "path": "/metadata/finalizers/3", "value": "d"}]),
    ([remove_finalizer], [{"op": "remove", "path": "/metadata/finalizers/1"}]),
    ([add_y, bump_y], [{"op": "add", "path": "/spec/y", "value": 3}]),
], ids=["none", "noop", "field-replaced", "list-appended", "list-item-removed", "chained"])
def test_fns_change_a_copy_of_the_body_and_give_the_difference(fns: list[Callable[[RawBody], None]],
                                                               ops: list[dict[str, Any]]) -> None:
    body = copy.deepcopy(BODY)
    assert Patch(fns=fns).as_json_patch(body) == ops
    assert body == BODY


def test_fns_combine_with_the_merge_patch_and_run_after_it() -> None:
    patch = Patch({"label": "new", "xyz": 200}, body=Body({"items": [1, 2], "label": "old", "xyz": 100}),
                  fns=[lambda b: b["items"].append(3), lambda b: b.update(xyz=b["xyz"] + 1)])
    assert by_path(patch.as_json_patch()) == [
        {"op": "add", "path": "/items/2", "value": 3},
        {"op": "replace", "path": "/label", "value": "new"},
        {"op": "replace", "path": "/xyz", "value": 201},
    ]


@pytest.mark.parametrize(("old", "new", "ops"), [
    (["a", "b", "c"], ["x", "a", "b", "c"], [{"op": "add", "path": "/l/0", "value": "x"}]),
    (["a", "b", "c"], ["a", "c", "d"], [{"op": "remove", "path": "/l/1"}, {"op": "add", "path": "/l/2", "value": "d"}]),
    ([{"n": 1}, {"n": 2}], [{"n": 1}, {"n": 3}], [{"op": "replace", "path": "/l/1/n", "value": 3}]),
    ([1, True], [1.0, 1], [{"op": "replace", "path": "/l/1", "value": 1}]),
], ids=["prepended", "removed-and-appended", "item-field-changed", "json-equality"])
def test_list_changes_are_ops_on_the_list_as_the_earlier_ops_leave_it(old: list[Any], new: list[Any],
                                                                      ops: list[dict[str, Any]]) -> None:
    patch = Patch(fns=[lambda body: body.update(l=copy.deepcopy(new))])
    assert patch.as_json_patch({"l": old}) == ops
    assert apply(ops, {"l": old}) == {"l": new}


def apply(ops: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """A small RFC 6902 applier for the ops the tests expect (add/replace/remove)."""
    result = copy.deepcopy(body)
    for op in ops:
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in op["path"].split("/")[1:]]
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if op["op"] == "remove":
            del node[key]
        elif op["op"] == "add" and isinstance(node, list):
            node.insert(key, op["value"])
        else:
            node[key] = op["value"]
    return result
