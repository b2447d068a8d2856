"""kopf compatibility: diffs as handlers see them.

Mirrors kopf 1.45.2's ``tests/diffs/test_calculation.py``, ``tests/diffs/test_reduction.py``
and ``tests/diffs/test_protocols.py`` (rewritten), run against opframe's ``diff()``,
``reduce()``, ``Diff``, ``DiffItem`` and ``DiffOperation``.

Left out: kopf's ``DiffScope`` (left/right-scoped diffs; not exported by kopf, and
opframe's ``diff()`` always compares both sides, as kopf's default ``FULL`` scope does).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import opframe
from opframe.handlers.diffs import Diff, DiffItem, DiffOperation, diff, reduce

# -- calculation (kopf: test_calculation.py) ------------------------------------------------------

SENTINEL = object()


def test_a_value_appearing_from_none_is_one_addition_at_the_root() -> None:
    assert diff(None, SENTINEL) == (("add", (), None, SENTINEL),)


def test_a_value_vanishing_to_none_is_one_removal_at_the_root() -> None:
    assert diff(SENTINEL, None) == (("remove", (), SENTINEL, None),)


@pytest.mark.parametrize(("old", "new"), [
    (None, None),
    (100, 100),
    ("hello", "hello"),
    ([100, 200, 300], [100, 200, 300]),
    ({"hello": "world", "key": "val"}, {"key": "val", "hello": "world"}),
], ids=["nones", "scalars", "strings", "lists", "dicts-in-another-order"])
def test_equal_values_make_an_empty_diff(old: Any, new: Any) -> None:
    assert diff(old, new) == ()


@pytest.mark.parametrize(("old", "new"), [
    (100, 200),
    ("hello", "world"),
    ([100, 200, 300], [100, 666, 300]),
], ids=["scalars", "strings", "lists-as-a-whole"])
def test_unequal_non_dicts_are_one_change_at_the_root(old: Any, new: Any) -> None:
    assert diff(old, new) == (("change", (), old, new),)


def test_a_key_only_in_the_new_dict_is_an_addition() -> None:
    assert diff({"hello": "world"}, {"hello": "world", "key": "val"}) == (("add", ("key",), None, "val"),)


def test_a_key_only_in_the_old_dict_is_a_removal() -> None:
    assert diff({"hello": "world", "key": "val"}, {"hello": "world"}) == (("remove", ("key",), "val", None),)


def test_a_key_with_another_value_is_a_change() -> None:
    assert diff({"hello": "world", "key": "old"}, {"hello": "world", "key": "new"}) == (
        ("change", ("key",), "old", "new"),)


def test_nested_dicts_are_compared_key_by_key_with_the_full_path() -> None:
    old = {"main": {"hello": "world", "key": "old"}}
    new = {"main": {"hello": "world", "key": "new"}}
    assert diff(old, new) == (("change", ("main", "key"), "old", "new"),)


class _ReadOnlyMapping(Mapping[str, Any]):
    """A mapping that is not a dict; two subclasses of it are of different types."""

    def __init__(self, **items: Any) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class _LeftMapping(_ReadOnlyMapping):
    pass


class _RightMapping(_ReadOnlyMapping):
    pass


def test_mappings_of_any_class_are_compared_key_by_key() -> None:
    old = _LeftMapping(a=100, b=200)
    new = _RightMapping(b=300, c=400)
    result = diff(old, new)
    assert (DiffOperation.REMOVE, ("a",), 100, None) in result
    assert (DiffOperation.CHANGE, ("b",), 200, 300) in result
    assert (DiffOperation.ADD, ("c",), None, 400) in result
    assert (DiffOperation.CHANGE, (), old, new) not in result


def test_a_label_stanza_added_to_metadata() -> None:
    assert diff({"metadata": {}}, {"metadata": {"labels": "LABEL"}}) == (
        ("add", ("metadata", "labels"), None, "LABEL"),)


def test_a_resized_volume_is_a_change_of_the_spec_field() -> None:
    assert diff({"spec": {"size": "42G"}}, {"spec": {"size": "76G"}}) == (("change", ("spec", "size"), "42G", "76G"),)


def test_a_list_in_the_spec_is_replaced_as_a_whole() -> None:
    old = {"spec": {"items": ["task1", "task2"]}}
    new = {"spec": {"items": ["task3", "task4"]}}
    assert diff(old, new) == (("change", ("spec", "items"), ["task1", "task2"], ["task3", "task4"]),)


def test_a_calculated_diff_is_a_diff_of_items_with_operations() -> None:
    result = diff({"a": 1, "b": 2}, {"b": 3, "c": 4})
    assert isinstance(result, Diff)
    assert all(isinstance(item, DiffItem) for item in result)
    assert {item.operation for item in result} == set(DiffOperation)
    assert all(isinstance(item.operation, DiffOperation) for item in result)


# -- reduction (kopf: test_reduction.py) ----------------------------------------------------------

# Deliberately not a real diff (an "add" with an old value, a "remove" with a new one):
# reduction must pass items through as they are, not recalculate them.
SAMPLE = Diff([
    DiffItem(DiffOperation.ADD, ("key1",), None, "new1"),
    DiffItem(DiffOperation.CHANGE, ("key2",), "old2", "new2"),
    DiffItem(DiffOperation.ADD, ("key2", "suba"), "olda", "newa"),
    DiffItem(DiffOperation.REMOVE, ("key2", "subb"), "oldb", "newb"),
    DiffItem(DiffOperation.REMOVE, ("key3",), "old3", None),
    DiffItem(DiffOperation.CHANGE, ("key4",), {"suba": "olda", "subc": "oldc"}, {"subb": "newb", "subc": "newc"}),
])


def _shaped(outer: type, item: type, field: type) -> Any:
    return outer([item(["op", field(["key", "sub"]), "old", "new"])])


SHAPES = list(itertools.product([list, tuple], repeat=3))


@pytest.mark.parametrize("shape", SHAPES, ids=["-".join(t.__name__ for t in shape) for shape in SHAPES])
@pytest.mark.parametrize("path_type", [list, tuple])
def test_reduction_takes_lists_or_tuples_and_gives_tuples(shape: tuple[type, type, type], path_type: type) -> None:
    result = reduce(_shaped(*shape), path_type(["key", "sub"]))
    assert result == (("op", (), "old", "new"),)
    assert all(isinstance(item, DiffItem) and isinstance(item.field, tuple) for item in result)


def test_reduction_to_the_root_keeps_the_whole_diff() -> None:
    assert reduce(SAMPLE, []) == SAMPLE


def test_reduction_to_a_key_keeps_its_items_with_relative_paths() -> None:
    assert reduce(SAMPLE, ["key2"]) == (
        ("change", (), "old2", "new2"),
        ("add", ("suba",), "olda", "newa"),
        ("remove", ("subb",), "oldb", "newb"),
    )


@pytest.mark.parametrize("path", [
    ["nonexistent-key"],
    ["key1", "nonexistent-key"],
    ["key2", "nonexistent-key"],
    ["key3", "nonexistent-key"],
    ["key4", "nonexistent-key"],
    ["key4", "suba", "nonexistent-key"],
    ["key4", "subb", "nonexistent-key"],
    ["key4", "subc", "nonexistent-key"],
    ["key4", "nonexistent-dict", "nonexistent-key"],
])
def test_reduction_to_a_path_nothing_touched_is_empty(path: list[str]) -> None:
    assert reduce(SAMPLE, path) == ()


@pytest.mark.parametrize(("subkey", "expected"), [
    ("subb", ("add", (), None, "newb")),
    ("suba", ("remove", (), "olda", None)),
    ("subc", ("change", (), "oldc", "newc")),
], ids=["addition", "removal", "change"])
def test_reduction_below_a_changed_dict_diffs_its_values(subkey: str, expected: tuple[Any, ...]) -> None:
    assert reduce(SAMPLE, ["key4", subkey]) == (expected,)


# -- protocols (kopf: test_protocols.py) ----------------------------------------------------------


@pytest.mark.parametrize("operation", list(DiffOperation))
def test_an_operation_is_its_string(operation: DiffOperation) -> None:
    assert isinstance(operation, str)
    assert operation == operation.value
    assert str(operation) == str(operation.value)
    assert repr(operation) == repr(operation.value)


def test_the_operations_are_kopfs_three() -> None:
    assert sorted(op.value for op in DiffOperation) == ["add", "change", "remove"]


@pytest.mark.parametrize("operation", list(DiffOperation))
def test_an_item_has_kopfs_attributes(operation: DiffOperation) -> None:
    item = DiffItem(operation, ("field",), "a", "b")
    assert item.operation is operation and item.op is operation
    assert (item.field, item.old, item.new) == (("field",), "a", "b")


@pytest.mark.parametrize("operation", list(DiffOperation))
@pytest.mark.parametrize("other", [tuple, list, lambda values: DiffItem(*values)], ids=["tuple", "list", "item"])
def test_an_item_equals_a_sequence_of_its_values(operation: DiffOperation, other: Any) -> None:
    item = DiffItem(operation.value, (), "a", "b")  # type: ignore[arg-type]  # kopf's tests use plain strings
    values = [operation.value, (), "a", "b"]
    assert item == other(values)
    assert not item != other(values)  # noqa: SIM202  # __ne__ on purpose
    assert item != other([operation.value, (), "a", "c"])


def test_an_item_unpacks_as_a_tuple() -> None:
    op, field, old, new = DiffItem(DiffOperation.CHANGE, ("spec", "x"), 1, 2)
    assert (op, field, old, new) == ("change", ("spec", "x"), 1, 2)


def _three_items() -> list[DiffItem]:
    return [
        DiffItem(DiffOperation.ADD, ("key1",), None, "new1"),
        DiffItem(DiffOperation.CHANGE, ("key2",), "old2", "new2"),
        DiffItem(DiffOperation.REMOVE, ("key3",), "old3", None),
    ]


def test_equal_diffs_are_equal_and_hash_alike() -> None:
    first, second = Diff(_three_items()), Diff(_three_items())
    assert first is not second
    assert first == second
    assert hash(first) == hash(second)


def test_a_diff_equals_sequences_of_its_items_and_makes_items_of_them() -> None:
    raw = [["add", ("key1",), None, "new1"], ("remove", ("key3",), "old3", None)]
    result = Diff(raw)
    assert all(isinstance(item, DiffItem) for item in result)
    assert result == raw
    assert result == tuple(tuple(item) for item in raw)
    assert result != raw[:1]
    assert len(result) == 2 and result[1].op == "remove"


def test_the_diff_names_are_exported_at_the_top() -> None:
    assert (opframe.Diff, opframe.DiffItem, opframe.DiffOperation) == (Diff, DiffItem, DiffOperation)
