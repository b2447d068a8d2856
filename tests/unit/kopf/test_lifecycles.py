"""kopf's lifecycles (opframe.kopf.lifecycles)."""

from __future__ import annotations

import opframe
from opframe.kopf import lifecycles


class _Record:
    def __init__(self, retries: int) -> None:
        self.retries = retries


class _Handler:
    def __init__(self, id: str) -> None:
        self.id = id


def test_lifecycles_choose_as_kopfs_do() -> None:
    handlers = [_Handler("a"), _Handler("b"), _Handler("c")]
    state = {"a": _Record(2), "b": _Record(0), "c": _Record(1)}
    assert [h.id for h in lifecycles.all_at_once(handlers)] == ["a", "b", "c"]
    assert [h.id for h in lifecycles.one_by_one(handlers)] == ["a"]
    assert [h.id for h in lifecycles.asap(handlers, state=state)] == ["b"]
    assert sorted(h.id for h in lifecycles.shuffled(handlers)) == ["a", "b", "c"]
    assert len(lifecycles.randomized(handlers)) == 1
    before = lifecycles.get_default_lifecycle()
    try:
        lifecycles.set_default_lifecycle(lifecycles.asap)
        assert opframe.get_default_lifecycle() is lifecycles.asap
        lifecycles.set_default_lifecycle(None)
        assert opframe.get_default_lifecycle() is lifecycles.all_at_once
    finally:
        lifecycles.set_default_lifecycle(before)
