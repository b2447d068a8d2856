"""kopf compatibility: ``Patch.as_json_patch()``.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch_json.py`` (rewritten, not copied), run against
opframe's ``Patch`` (``opframe.objects.patches``).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from opframe.objects.bodies import Body, RawBody
from opframe.objects.patches import Patch


def noop(body: RawBody) -> None:
    pass


def by_path(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(ops, key=lambda op: str(op["path"]))


# -- as_json_patch() (kopf: test_patch_json.py) ---------------------------------------------------


def test_a_json_patch_needs_a_body_unless_the_patch_is_empty() -> None:
    assert Patch().as_json_patch() == []
    for patch in (Patch({"xyz": 123}), Patch(fns=[noop])):
        with pytest.raises(ValueError, match="Cannot build a JSON-patch without the original body"):
            patch.as_json_patch()


def test_the_body_argument_wins_over_the_patchs_body() -> None:
    patch = Patch(body=Body({"abc": 456}))
    patch["abc"] = None
    patch["xyz"] = 123
    assert patch.as_json_patch({"xyz": 789}) == [{"op": "replace", "path": "/xyz", "value": 123}]


@pytest.mark.parametrize(("body", "changes", "ops"), [
    ({"abc": 456}, {}, []),
    ({"xyz": {"abc": 456}}, {"xyz": {}}, []),
    ({"xyz": 123}, {"xyz": 123}, []),
    ({"abc": 456}, {"xyz": None}, []),
    ({"abc": 456}, {"xyz": 123}, [{"op": "add", "path": "/xyz", "value": 123}]),
    ({"xyz": 456}, {"xyz": 123}, [{"op": "replace", "path": "/xyz", "value": 123}]),
    ({"xyz": 456}, {"xyz": None}, [{"op": "remove", "path": "/xyz"}]),
    ({"xyz": {"def": 456}}, {"xyz": {"abc": 123}}, [{"op": "add", "path": "/xyz/abc", "value": 123}]),
    ({"xyz": {"abc": 456}}, {"xyz": {"abc": 123}}, [{"op": "replace", "path": "/xyz/abc", "value": 123}]),
    ({}, {"xyz": {"abc": 123}}, [{"op": "add", "path": "/xyz", "value": {"abc": 123}}]),
    ({"xyz": {"uvw": 123}}, {"xyz": {"abc": {"def": {"ghi": 456}}}},
     [{"op": "add", "path": "/xyz/abc", "value": {"def": {"ghi": 456}}}]),
    ({"xyz": {"abc": 456, "other": "..."}}, {"xyz": {"abc": None}}, [{"op": "remove", "path": "/xyz/abc"}]),
    ({"xyz": {"abc": 456}}, {"xyz": {"abc": None}}, [{"op": "remove", "path": "/xyz"}]),
    ({"abc": 456}, {"xyz": [1, 2, 3]}, [{"op": "add", "path": "/xyz", "value": [1, 2, 3]}]),
    ({"xyz": [1, 2, 3]}, {"xyz": [4, 5]}, [{"op": "replace", "path": "/xyz/0", "value": 4},
                                           {"op": "replace", "path": "/xyz/1", "value": 5},
                                           {"op": "remove", "path": "/xyz/2"}]),
    ({"existing": 1, "toremove": 2}, {"existing": 99, "toremove": None, "newkey": "hello"},
     [{"op": "replace", "path": "/existing", "value": 99}, {"op": "add", "path": "/newkey", "value": "hello"},
      {"op": "remove", "path": "/toremove"}]),
    ({"~xyz/test": {"abc": "...", "other": "..."}}, {"~xyz/test": {"abc": None}},
     [{"op": "remove", "path": "/~0xyz~1test/abc"}]),
    ({"x/y/~z": {"a/b/~0c": "...", "other": "..."}}, {"x/y/~z": {"a/b/~0c": None}},
     [{"op": "remove", "path": "/x~1y~1~0z/a~1b~1~00c"}]),
], ids=["empty-patch", "empty-dict-merged", "same-value", "absent-key-deleted", "key-added", "key-replaced",
        "key-removed", "subkey-added", "subkey-replaced", "key-added-with-new-parent", "sub-subkey-added",
        "subkey-removed-parent-stays", "subkey-removed-emptied-parent-goes", "list-added", "list-replaced",
        "several", "escaped-key", "escaped-keys-recursively"])
def test_merge_patch_changes_as_json_patch_ops(body: dict[str, Any], changes: dict[str, Any],
                                               ops: list[dict[str, Any]]) -> None:
    patch = Patch(changes, body=Body(copy.deepcopy(body)))
    assert by_path(patch.as_json_patch()) == by_path(ops)


def test_a_mapping_over_a_value_replaces_it_as_a_merge_patch_does() -> None:
    patch = Patch({"xyz": {"abc": 1}, "empty": {}})
    assert patch.as_json_patch({"xyz": 5, "empty": 6}) == [{"op": "replace", "path": "/xyz", "value": {"abc": 1}}]


def test_neither_the_body_nor_the_patch_is_changed() -> None:
    body = {"spec": {"x": "original", "items": [1]}}
    patch = Patch({"spec": {"x": "modified", "items": [2]}}, body=Body(body),
                  fns=[lambda b: b.setdefault("extra", "added"), lambda b: b["spec"]["items"].append(3)])
    ops = patch.as_json_patch()
    assert by_path(ops) == [{"op": "add", "path": "/extra", "value": "added"},
                            {"op": "replace", "path": "/spec/items/0", "value": 2},
                            {"op": "add", "path": "/spec/items/1", "value": 3},
                            {"op": "replace", "path": "/spec/x", "value": "modified"}]
    assert body == {"spec": {"x": "original", "items": [1]}}
    assert patch == {"spec": {"x": "modified", "items": [2]}}  # the fns changed a copy of its list
