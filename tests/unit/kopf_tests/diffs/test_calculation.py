"""kopf compatibility: diffs as handlers see them, calculated.

Mirrors kopf 1.45.2's ``tests/diffs/test_calculation.py`` (rewritten, not copied), run against opframe's
``diff()``.

Left out: kopf's ``DiffScope`` (left/right-scoped diffs; not exported by kopf, and
opframe's ``diff()`` always compares both sides, as kopf's default ``FULL`` scope does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from opframe.objects.diffs import Diff, DiffItem, DiffOperation, diff

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
