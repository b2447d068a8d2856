"""Diffs, reduction to a field, and the essence of an object (kopf's definitions)."""

from __future__ import annotations

from typing import Any

import pytest

from opframe.objects.diffs import (
    KUBECTL_LAST_APPLIED,
    DiffItem,
    diff,
    essence,
    managed_prefixes,
    parse_path,
    reduce,
    resolve_path,
    same_essence,
    without_managed,
)

OWN = "opframe.dev/"

# -- diff ----------------------------------------------------------------------------------------


def test_equal_values_have_no_diff() -> None:
    assert diff({"spec": {"a": 1}}, {"spec": {"a": 1}}) == ()


def test_added_key() -> None:
    assert diff({}, {"a": 1}) == (DiffItem("add", ("a",), None, 1),)


def test_removed_key() -> None:
    assert diff({"a": 1}, {}) == (DiffItem("remove", ("a",), 1, None),)


def test_changed_value() -> None:
    assert diff({"a": 1}, {"a": 2}) == (DiffItem("change", ("a",), 1, 2),)


def test_nested_change_has_the_full_path() -> None:
    assert diff({"spec": {"x": {"y": 1}}}, {"spec": {"x": {"y": 2}}}) == (
        DiffItem("change", ("spec", "x", "y"), 1, 2),)


def test_added_subtree_is_one_item() -> None:
    assert diff({"spec": {}}, {"spec": {"x": {"y": 1}}}) == (DiffItem("add", ("spec", "x"), None, {"y": 1}),)


def test_lists_are_compared_as_whole_values() -> None:
    assert diff({"l": [1, 2]}, {"l": [1, 3]}) == (DiffItem("change", ("l",), [1, 2], [1, 3]),)


def test_dict_replaced_by_scalar_is_a_change() -> None:
    assert diff({"a": {"b": 1}}, {"a": 5}) == (DiffItem("change", ("a",), {"b": 1}, 5),)


@pytest.mark.parametrize(("old", "new", "item"), [
    (None, {"a": 1}, DiffItem("add", (), None, {"a": 1})),
    ({"a": 1}, None, DiffItem("remove", (), {"a": 1}, None)),
    (None, 3, DiffItem("add", (), None, 3)),
    ({"a": None}, {"a": 1}, DiffItem("add", ("a",), None, 1)),
    ({"a": 1}, {"a": None}, DiffItem("remove", ("a",), 1, None)),
], ids=["from-none", "to-none", "scalar-from-none", "key-from-none", "key-to-none"])
def test_none_counts_as_absent(old: Any, new: Any, item: DiffItem) -> None:
    assert diff(old, new) == (item,)


def test_items_are_ordered_by_key() -> None:
    assert [item.path for item in diff({"b": 1, "c": 1}, {"a": 1, "b": 2})] == [("a",), ("b",), ("c",)]


def test_diff_with_a_base_path_prefixes_every_path() -> None:
    assert diff({"a": 1}, {"a": 2}, ("spec",)) == (DiffItem("change", ("spec", "a"), 1, 2),)


# -- reduce --------------------------------------------------------------------------------------

FULL = diff({"spec": {"replicas": 1, "image": "a"}, "data": {"k": "v"}},
            {"spec": {"replicas": 2, "image": "a", "port": 80}, "data": {}})


def test_reduce_keeps_only_items_under_the_field_with_relative_paths() -> None:
    assert reduce(FULL, ("spec",)) == (DiffItem("add", ("port",), None, 80), DiffItem("change", ("replicas",), 1, 2))


def test_reduce_to_the_exact_field_has_an_empty_path() -> None:
    assert reduce(FULL, ("spec", "replicas")) == (DiffItem("change", (), 1, 2),)


def test_reduce_to_an_unchanged_field_is_empty() -> None:
    assert reduce(FULL, ("spec", "image")) == ()


def test_reduce_to_the_root_keeps_everything() -> None:
    assert reduce(FULL, ()) == FULL


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({}, {"spec": {"replicas": 3}}, (DiffItem("add", (), None, 3),)),
    ({"spec": {"replicas": 3}}, {}, (DiffItem("remove", (), 3, None),)),
    ({"spec": "text"}, {"spec": {"replicas": 3}}, (DiffItem("add", (), None, 3),)),
    ({"spec": {"replicas": 3}}, {"spec": ["x"]}, (DiffItem("remove", (), 3, None),)),
    ({}, {"spec": {"other": 1}}, ()),
], ids=["parent-added", "parent-removed", "parent-was-scalar", "parent-became-list", "parent-added-without-field"])
def test_reduce_sees_a_change_above_the_field(old: Any, new: Any, expected: tuple[DiffItem, ...]) -> None:
    assert reduce(diff(old, new), ("spec", "replicas")) == expected


def test_reduce_of_a_change_above_reaches_nested_field_values() -> None:
    items = diff({}, {"spec": {"template": {"image": "nginx", "port": 80}}})
    assert reduce(items, ("spec", "template")) == (DiffItem("add", (), None, {"image": "nginx", "port": 80}),)


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "path"), [
    (None, ()),
    ("", ()),
    ("spec", ("spec",)),
    ("spec.replicas", ("spec", "replicas")),
    ("spec..replicas.", ("spec", "replicas")),
    (("spec", "replicas"), ("spec", "replicas")),
    (["spec", "replicas"], ("spec", "replicas")),
], ids=["none", "empty", "one", "dotted", "stray-dots", "tuple", "list"])
def test_parse_path(field: Any, path: tuple[str, ...]) -> None:
    assert parse_path(field) == path


@pytest.mark.parametrize(("body", "path", "value"), [
    ({"a": {"b": 1}}, ("a", "b"), 1),
    ({"a": {"b": 1}}, (), {"a": {"b": 1}}),
    ({"a": {"b": 1}}, ("a", "c"), None),
    ({"a": [1]}, ("a", "0"), None),
    (None, ("a",), None),
], ids=["nested", "root", "missing", "through-a-list", "no-body"])
def test_resolve_path(body: Any, path: tuple[str, ...], value: Any) -> None:
    assert resolve_path(body, path) == value


# -- essence -------------------------------------------------------------------------------------


def body(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Website",
        "metadata": {
            "name": "site", "namespace": "default", "uid": "u-1", "resourceVersion": "42", "generation": 3,
            "finalizers": ["opframe.dev/finalizer"], "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"app": "web"},
            "annotations": {
                "team": "blue",
                "opframe.dev/last-handled-configuration": "{}",
                "opframe.dev/progress": "{}",
                KUBECTL_LAST_APPLIED: "{...}",
            },
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"replicas": 2},
        "status": {"ready": True},
        **extra,
    }


def test_essence_keeps_spec() -> None:
    assert essence(body(), own_prefix=OWN)["spec"] == {"replicas": 2}


def test_essence_drops_api_version_kind_and_status() -> None:
    assert set(essence(body(), own_prefix=OWN)) == {"spec", "metadata"}


def test_essence_keeps_only_labels_and_annotations_of_metadata() -> None:
    assert set(essence(body(), own_prefix=OWN)["metadata"]) == {"labels", "annotations"}


def test_essence_keeps_labels() -> None:
    assert essence(body(), own_prefix=OWN)["metadata"]["labels"] == {"app": "web"}


def test_essence_drops_own_and_kubectl_annotations() -> None:
    assert essence(body(), own_prefix=OWN)["metadata"]["annotations"] == {"team": "blue"}


def test_essence_keeps_another_operators_annotations() -> None:
    obj = body()
    obj["metadata"]["annotations"]["other.dev/progress"] = "x"
    assert "other.dev/progress" in essence(obj, own_prefix=OWN)["metadata"]["annotations"]


def test_essence_of_a_prefix_lookalike_is_kept() -> None:
    obj = body()
    obj["metadata"]["annotations"]["opframe.dev.example/x"] = "y"
    assert "opframe.dev.example/x" in essence(obj, own_prefix=OWN)["metadata"]["annotations"]


def test_essence_keeps_every_other_top_level_field() -> None:
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                 "data": {"k": "v"}, "binaryData": {"b": "AA=="}}
    assert essence(configmap, own_prefix=OWN) == {"data": {"k": "v"}, "binaryData": {"b": "AA=="}}


def test_essence_omits_metadata_without_labels_or_foreign_annotations() -> None:
    obj = {"metadata": {"name": "x", "labels": {}, "annotations": {"opframe.dev/progress": "{}"}}, "spec": {}}
    assert essence(obj, own_prefix=OWN) == {"spec": {}}


def test_essence_does_not_change_with_own_annotations() -> None:
    before = body()
    after = body()
    after["metadata"]["annotations"]["opframe.dev/progress"] = '{"cause": "update"}'
    after["metadata"]["resourceVersion"] = "43"
    after["status"] = {"ready": False}
    assert essence(before, own_prefix=OWN) == essence(after, own_prefix=OWN)


def test_essence_is_a_deep_copy() -> None:
    obj = body()
    result = essence(obj, own_prefix=OWN)
    result["spec"]["replicas"] = 99
    result["metadata"]["labels"]["app"] = "changed"
    assert obj["spec"]["replicas"] == 2
    assert obj["metadata"]["labels"]["app"] == "web"


def test_essence_of_an_object_without_metadata() -> None:
    assert essence({"spec": {"a": 1}}, own_prefix=OWN) == {"spec": {"a": 1}}


# -- other operators' bookkeeping (kopf's "kopf-managed" convention; issue 10, defect 2) --------------


def _annotated(annotations: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations}, "spec": {"a": 1}}


def test_a_prefix_marked_kopf_managed_is_left_out_of_the_essence() -> None:
    obj = _annotated({"other.example/kopf-managed": "yes", "other.example/last-handled-configuration": "{}",
                      "other.example/progress": "{}", "team": "blue"})
    assert essence(obj, own_prefix=OWN)["metadata"]["annotations"] == {"team": "blue"}


def test_kopfs_default_prefix_and_its_subdomains_count_as_marked() -> None:
    obj = _annotated({"kopf.zalando.org/last-handled-configuration": "{}",
                      "my-op.kopf.zalando.org/touch-dummy": "x", "team": "blue"})
    assert essence(obj, own_prefix=OWN)["metadata"]["annotations"] == {"team": "blue"}


def test_an_unmarked_foreign_prefix_still_counts() -> None:
    obj = _annotated({"other.example/progress": "{}"})
    assert "other.example/progress" in essence(obj, own_prefix=OWN)["metadata"]["annotations"]


def test_another_operators_write_is_no_change_for_us() -> None:
    before = _annotated({"team": "blue"})
    after = _annotated({"team": "blue", "second.dev/kopf-managed": "yes",
                        "second.dev/last-handled-configuration": '{"spec": {"a": 1}}'})
    assert essence(before, own_prefix=OWN) == essence(after, own_prefix=OWN)


def test_without_managed_strips_an_old_diff_base_of_newly_marked_prefixes() -> None:
    old = {"spec": {"a": 1}, "metadata": {"annotations": {"second.dev/x": "1"}}}
    assert without_managed(old, managed_prefixes({"second.dev/kopf-managed": "yes"})) == {"spec": {"a": 1}}
    assert without_managed(old, frozenset()) is old


# -- kopf's names for diff items (kopf: _cogs/structs/diffs.py) -------------------------------------


def test_diff_items_carry_kopfs_field_names_and_aliases() -> None:
    item = diff({"a": 1}, {"a": 2})[0]
    assert (item.operation, item.field, item.old, item.new) == ("change", ("a",), 1, 2)
    assert item.op is item.operation and item.path == item.field
    assert item == ("change", ("a",), 1, 2)  # a tuple, as kopf's handlers unpack it


def test_diff_operations_are_a_str_enum() -> None:
    import json

    import opframe

    operations = {item.operation for item in diff({"a": 1, "b": 1}, {"b": 2, "c": 3})}
    assert operations == {opframe.DiffOperation.ADD, opframe.DiffOperation.CHANGE, opframe.DiffOperation.REMOVE}
    assert json.dumps(sorted(operations)) == '["add", "change", "remove"]'


_BASE = {"apiVersion": "v1", "kind": "Thing", "spec": {"size": 1},
         "metadata": {"name": "a", "resourceVersion": "1", "labels": {"app": "x"},
                      "annotations": {"team": "red", "opframe.dev/last-handled-configuration": "{}"}},
         "status": {"phase": "Ready"}}


def _changed(**changes: Any) -> dict[str, Any]:
    body = {**_BASE, "metadata": {**_BASE["metadata"], "annotations": {**_BASE["metadata"]["annotations"]}}}
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = body
        for part in parents:
            target[part] = dict(target.get(part) or {})
            target = target[part]
        target[last] = value
    return body


@pytest.mark.parametrize(("new", "include", "same"), [
    (_changed(metadata__resourceVersion="2"), (), True),  # a new resourceVersion alone
    (_changed(status__phase="Failed"), (), True),  # status alone
    (_changed(metadata__finalizers=["opframe.dev/finalizer"]), (), True),  # our finalizer
    (_changed(metadata__annotations={"team": "red", "opframe.dev/last-handled-configuration": '{"x": 1}'}),
     (), True),  # our own bookkeeping write coming back
    (_changed(spec={"size": 2}), (), False),
    (_changed(data={"k": "v"}), (), False),  # any other top-level field
    (_changed(metadata__labels={"app": "y"}), (), False),
    (_changed(metadata__annotations={"team": "blue", "opframe.dev/last-handled-configuration": "{}"}), (), False),
    (_changed(status__phase="Failed"), (("status", "phase"),), False),  # a handler names status.phase
])
def test_same_essence_tells_changes_to_handle_from_the_rest(new: dict[str, Any], include: tuple[tuple[str, ...], ...],
                                                            same: bool) -> None:
    assert same_essence(_BASE, new, own_prefix=OWN, include=include) is same
    assert essence(_BASE, own_prefix=OWN) == essence(_BASE, own_prefix=OWN, copied=False)
