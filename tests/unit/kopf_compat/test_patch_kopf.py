"""kopf compatibility: ``Patch`` as kopf 1.45.2's ``kopf.Patch`` — constructor, fns, views, JSON patch.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch.py`` (constructor, truth, repr, fns and
their inheritance, ``clear()``), ``tests/basic-structs/test_patch_fields.py`` (the ``spec``,
``status``, ``metadata``/``meta``, ``labels`` and ``annotations`` views),
``tests/basic-structs/test_patch_fns.py`` and ``tests/basic-structs/test_patch_json.py``
(``as_json_patch()``), rewritten for opframe's ``Patch`` (``opframe.runtime.execution.calls.Patch``),
with opframe's own additions: reading a view adds nothing to the patch, mapping methods on the
views, the patch stays a plain serialisable dict of only what was written, copies.
"""

from __future__ import annotations

import copy
import pickle
import types
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from opframe.handlers.bodies import Body, RawBody
from opframe.handlers.patches import Patch


def noop(body: RawBody) -> None:
    pass


def other_noop(body: RawBody) -> None:
    pass


def by_path(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(ops, key=lambda op: str(op["path"]))


# -- the constructor (kopf: test_patch.py) ---------------------------------------------------------


@pytest.mark.parametrize("make", [Patch, lambda: Patch(None), lambda: Patch(body=Body({"a": 1}))],
                         ids=["no-args", "none", "body-only"])
def test_a_patch_made_without_changes_is_empty_with_no_fns(make: Callable[[], Patch]) -> None:
    patch = make()
    assert dict(patch) == {}
    assert patch.fns == []
    assert not patch


def test_the_body_given_is_the_reference_of_the_json_patch() -> None:
    patch = Patch(body=Body({"abc": 456}))
    patch["abc"] = 789
    assert patch.as_json_patch() == [{"op": "replace", "path": "/abc", "value": 789}]


def test_any_mapping_is_copied_into_the_patch() -> None:
    source = {"spec": {"x": 1}}
    patch = Patch(types.MappingProxyType(source))
    patch["status"] = {"y": 2}
    assert dict(patch) == {"spec": {"x": 1}, "status": {"y": 2}}
    assert source == {"spec": {"x": 1}}


def test_fns_are_kept_in_their_order() -> None:
    assert Patch(fns=[noop, other_noop]).fns == [noop, other_noop]
    assert Patch(fns=iter([other_noop])).fns == [other_noop]


def test_a_patch_from_a_patch_has_its_changes_and_fns_then_its_own_fns() -> None:
    first = Patch({"x": "y"}, fns=[noop])
    second = Patch(first, fns=[other_noop])
    assert (dict(second), second.fns) == ({"x": "y"}, [noop, other_noop])
    second.fns.append(noop)
    second["z"] = 1
    assert (dict(first), first.fns) == ({"x": "y"}, [noop])


def test_a_patch_from_a_dict_has_no_fns() -> None:
    assert Patch({"a": "b"}).fns == []


def test_fns_can_be_added_later() -> None:
    patch = Patch()
    patch.fns.append(noop)
    assert patch.fns == [noop]
    assert patch


# -- truth, repr, clear (kopf: test_patch.py) -----------------------------------------------------


@pytest.mark.parametrize(("patch", "truth"), [
    (Patch(), False),
    (Patch({"a": "b"}), True),
    (Patch(fns=[noop]), True),
    (Patch({"a": "b"}, fns=[noop]), True),
], ids=["empty", "changes", "fns", "both"])
def test_a_patch_is_true_with_changes_or_fns(patch: Patch, truth: bool) -> None:
    assert bool(patch) is truth


def test_repr_shows_the_changes_and_the_fns() -> None:
    assert repr(Patch()) == "Patch()"
    assert repr(Patch({"a": "b"})) == "Patch({'a': 'b'})"
    assert repr(Patch(fns=[noop])) == f"Patch(fns=[{noop!r}])"
    assert repr(Patch({"a": "b"}, fns=[noop])) == f"Patch({{'a': 'b'}}, fns=[{noop!r}])"


def test_clear_drops_the_changes_and_the_fns() -> None:
    patch = Patch({"a": "b"}, fns=[noop])
    patch.clear()
    assert (dict(patch), patch.fns, bool(patch)) == ({}, [], False)


# -- views (kopf: test_patch_fields.py) ------------------------------------------------------------

View = Callable[[Patch], Any]

VIEWS: list[tuple[tuple[str, ...], View]] = [
    (("spec",), lambda patch: patch.spec),
    (("status",), lambda patch: patch.status),
    (("metadata",), lambda patch: patch.metadata),
    (("metadata",), lambda patch: patch.meta),
    (("metadata", "labels"), lambda patch: patch.meta.labels),
    (("metadata", "annotations"), lambda patch: patch.metadata.annotations),
]
VIEW_IDS = ["spec", "status", "metadata", "meta", "labels", "annotations"]


def nested(path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_reading_a_view_adds_nothing_to_the_patch(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    assert (dict(section), len(section), list(section), "k" in section) == ({}, 0, [], False)
    assert (section.get("k"), section.get("k", 42), list(section.keys()), list(section.items())) == (None, 42, [], [])
    with pytest.raises(KeyError):
        section["k"]
    assert section == {}
    assert patch == {}
    assert not patch
    assert orjson.dumps(patch) == b"{}"


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_section_appears_once_a_key_is_written(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    view(patch)["k"] = "v"
    assert patch == nested(path, {"k": "v"})
    assert view(patch)["k"] == "v"


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_view_reads_the_changes_the_patch_was_made_with(path: tuple[str, ...], view: View) -> None:
    patch = Patch(nested(path, {"k": "v"}))
    assert (view(patch)["k"], view(patch).get("k", "default"), dict(view(patch))) == ("v", "v", {"k": "v"})


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_view_is_live_and_the_same_object_each_time(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    assert view(patch) is section
    patch.update(nested(path, {"late": 1}))
    assert section["late"] == 1


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_mapping_methods_of_a_view_change_the_patch(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    section.update({"a": "1", "b": "2"})
    assert section.setdefault("a", "x") == "1"
    assert section.pop("b") == "2"
    assert (sorted(section.keys()), list(section.values()), repr(section)) == (["a"], ["1"], "{'a': '1'}")
    del section["a"]
    assert patch == nested(path, {})  # kopf keeps the emptied section
    with pytest.raises(KeyError):
        del section["a"]


def test_deleting_from_a_missing_section_adds_nothing() -> None:
    patch = Patch()
    with pytest.raises(KeyError):
        del patch.status["x"]
    assert patch.status.pop("x", None) is None
    assert patch == {}


def test_meta_is_metadata() -> None:
    patch = Patch()
    assert patch.meta is patch.metadata
    assert patch.meta.labels is patch.metadata.labels
    assert patch.meta.annotations is patch.metadata.annotations


def test_none_stays_in_a_view_to_delete_the_field() -> None:
    patch = Patch()
    patch.meta.labels["app"] = None
    patch.spec["obsolete"] = None
    assert patch == {"metadata": {"labels": {"app": None}}, "spec": {"obsolete": None}}


def test_all_views_write_into_one_patch() -> None:
    patch = Patch()
    patch.meta["name"] = "obj"
    patch.meta.labels["app"] = "foo"
    patch.metadata.annotations["note"] = "bar"
    patch.spec["replicas"] = 3
    patch.status["ready"] = True
    assert patch == {
        "metadata": {"name": "obj", "labels": {"app": "foo"}, "annotations": {"note": "bar"}},
        "spec": {"replicas": 3},
        "status": {"ready": True},
    }


def test_writing_into_a_section_that_is_not_a_mapping_is_an_error() -> None:
    patch = Patch({"metadata": {"labels": "broken"}, "status": None})
    with pytest.raises(TypeError, match=r"patch\['metadata'\]\['labels'\] is not a mapping"):
        _ = patch.meta.labels
    assert dict(patch.status) == {}  # a whole section being deleted reads as empty
    with pytest.raises(TypeError, match=r"patch\['status'\] is not a mapping"):
        patch.status["x"] = 1


# -- a plain dict of only what was written ---------------------------------------------------------


def test_only_the_written_changes_serialise() -> None:
    patch = Patch(fns=[noop])
    patch.status["a"] = 1
    _ = patch.spec, patch.meta.labels
    assert isinstance(patch, dict)
    assert dict(patch) == {"status": {"a": 1}}
    assert orjson.loads(orjson.dumps(patch)) == {"status": {"a": 1}}


def test_copies_have_views_of_their_own() -> None:
    patch = Patch({"spec": {"x": 1}}, fns=[noop])
    for clone in (copy.copy(patch), copy.deepcopy(patch), pickle.loads(pickle.dumps(Patch(patch, fns=[])))):
        clone.status["y"] = 2
        assert clone == {"spec": {"x": 1}, "status": {"y": 2}}
        assert clone.status is clone.status
    assert patch == {"spec": {"x": 1}}
    assert copy.copy(patch).fns == [noop]


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
