"""kopf compatibility: the types of a diff.

Mirrors kopf 1.45.2's ``tests/diffs/test_protocols.py`` (rewritten, not copied), run against opframe's
``Diff``, ``DiffItem`` and ``DiffOperation``.
"""

from __future__ import annotations

from typing import Any

import pytest

import opframe
from opframe.objects.diffs import Diff, DiffItem, DiffOperation

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
