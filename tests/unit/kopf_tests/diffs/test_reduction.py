"""kopf compatibility: diffs reduced to a field.

Mirrors kopf 1.45.2's ``tests/diffs/test_reduction.py`` (rewritten, not copied), run against opframe's ``reduce()``.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from opframe.objects.diffs import Diff, DiffItem, DiffOperation, reduce

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
