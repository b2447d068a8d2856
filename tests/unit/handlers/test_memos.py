"""Memo (opframe.handlers.memos): kopf's dict with attribute access, shared by reference."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import opframe
from opframe.handlers.memos import Memo

# -- Memo ------------------------------------------------------------------------------------------


def test_memo_attribute_write_is_an_item() -> None:
    memo = Memo()
    memo.counter = 1
    assert memo == {"counter": 1}


def test_memo_item_reads_as_attribute() -> None:
    assert Memo(client="c").client == "c"


def test_memo_missing_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="absent"):
        _ = Memo().absent


def test_memo_getattr_default_and_hasattr_work() -> None:
    memo = Memo(a=1)
    assert (getattr(memo, "b", "default"), hasattr(memo, "a"), hasattr(memo, "b")) == ("default", True, False)


def test_memo_is_shared_by_reference() -> None:
    memo = Memo()
    alias = memo
    alias.seen = {"x"}
    memo.seen.add("y")
    assert memo["seen"] == {"x", "y"}


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["copy", "deepcopy", "pickle"])
def test_memo_copies(clone: Any) -> None:
    copied = clone(Memo(a=[1]))
    assert (type(copied), copied.a) == (Memo, [1])


def test_memo_attributes_can_be_deleted() -> None:
    memo = opframe.Memo()
    memo.cache = 1
    del memo.cache
    assert "cache" not in memo
