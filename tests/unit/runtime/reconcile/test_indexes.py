"""Index and Store (opframe.runtime.reconcile.indexes), generic as kopf's."""

from __future__ import annotations

import opframe


def test_index_and_store_are_generic_as_in_kopf() -> None:
    from opframe.runtime.reconcile.indexes import Index, Store

    index: Index[str, int] = Index()
    index._set("ns/a", {"x": 1})
    index._set("ns/b", {"x": 2})
    assert isinstance(index["x"], Store) and sorted(index["x"]) == [1, 2] and 2 in index["x"]
    assert opframe.Index[str, bool] is not None  # kopf's examples subscript it in evaluated annotations
