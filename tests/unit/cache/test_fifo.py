"""DeltaFIFO: client-go semantics 2.1 to 2.9."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from opframe.cache.fifo import (
    DeletedFinalStateUnknown,
    Delta,
    DeltaFIFO,
    DeltaObject,
    DeltaType,
    FIFOClosedError,
    delta_key,
)
from opframe.cache.store import Indexer, Packed

JOIN_SECONDS = 2.0
STILL_WAITING_SECONDS = 0.03


def pod(name: str, rv: str = "1", **metadata: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv, **metadata}}


def known(*objects: dict[str, Any]) -> Indexer:
    store = Indexer()
    for obj in objects:
        store.add(obj)
    return store


class Popped:
    """A pop callback that keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Delta], bool]] = []

    def __call__(self, deltas: list[Delta], is_in_initial_list: bool) -> None:
        self.calls.append((deltas, is_in_initial_list))


def pop_one(fifo: DeltaFIFO) -> tuple[list[Delta], bool]:
    popped = Popped()
    assert fifo.pop(popped, timeout=0)
    return popped.calls[0]


def kinds(deltas: list[Delta]) -> list[DeltaType]:
    return [delta.type for delta in deltas]


def stamp(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "transformed": True}


def is_stamped(obj: DeltaObject) -> bool:
    return isinstance(obj, dict) and obj.get("transformed") is True


# -- 2.1 delta types, one queue entry per key ------------------------------------------------------


def test_2_1_delta_types_are_added_updated_deleted_replaced_sync() -> None:
    assert [kind.value for kind in DeltaType] == ["Added", "Updated", "Deleted", "Replaced", "Sync"]


def test_2_1_a_key_is_queued_once_however_many_deltas_it_has() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a", "1"))
    fifo.add(pod("b", "1"))
    fifo.update(pod("a", "2"))
    fifo.update(pod("a", "3"))
    assert fifo.list_keys() == ["ns/a", "ns/b"]
    assert len(fifo) == 2
    assert kinds(fifo.deltas("ns/a")) == [DeltaType.ADDED, DeltaType.UPDATED, DeltaType.UPDATED]


def test_2_1_keys_pop_in_the_order_they_were_first_queued() -> None:
    fifo = DeltaFIFO()
    for name in ("c", "a", "b"):
        fifo.add(pod(name))
    fifo.update(pod("c", "2"))
    order = [delta_key(pop_one(fifo)[0][0].object) for _ in range(3)]
    assert order == ["ns/c", "ns/a", "ns/b"]
    assert len(fifo) == 0


# -- 2.2 keys -------------------------------------------------------------------------------------


def test_2_2_the_key_is_the_newest_objects_and_a_tombstone_carries_its_own() -> None:
    assert delta_key(pod("a")) == "ns/a"
    assert delta_key({"metadata": {"name": "node-1"}}) == "node-1"
    assert delta_key(DeletedFinalStateUnknown("ns/b", pod("something-else"))) == "ns/b"
    assert delta_key(DeletedFinalStateUnknown("ns/c", None)) == "ns/c"


def test_2_2_a_tombstone_is_queued_under_its_own_key() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("b")))
    fifo.delete(DeletedFinalStateUnknown("ns/b", None))
    assert fifo.list_keys() == ["ns/b"]
    assert kinds(fifo.deltas("ns/b")) == [DeltaType.DELETED]


# -- 2.3 de-duplication ---------------------------------------------------------------------------


@pytest.mark.parametrize(("older_is_tombstone", "newer_is_tombstone", "kept"), [
    (False, False, "older"),
    (True, False, "newer"),
    (False, True, "older"),
    (True, True, "newer"),
], ids=["object-object", "tombstone-object", "object-tombstone", "tombstone-tombstone"])
def test_2_3_two_deletes_collapse_keeping_the_older_unless_it_is_a_tombstone(
        older_is_tombstone: bool, newer_is_tombstone: bool, kept: str) -> None:
    fifo = DeltaFIFO(known_objects=known(pod("a", "1")))
    older: DeltaObject = (DeletedFinalStateUnknown("ns/a", pod("a", "1")) if older_is_tombstone
                          else pod("a", "2"))
    newer: DeltaObject = (DeletedFinalStateUnknown("ns/a", pod("a", "1")) if newer_is_tombstone
                          else pod("a", "3"))
    fifo.delete(older)
    fifo.delete(newer)
    deltas = fifo.deltas("ns/a")
    assert kinds(deltas) == [DeltaType.DELETED]
    assert deltas[0].object is (older if kept == "older" else newer)


def test_2_3_only_a_trailing_pair_of_deletes_is_merged() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a", "1"))
    fifo.update(pod("a", "1"))
    fifo.update(pod("a", "1"))  # identical updates are kept
    fifo.delete(pod("a", "2"))
    fifo.add(pod("a", "3"))
    fifo.delete(pod("a", "4"))
    assert kinds(fifo.deltas("ns/a")) == [DeltaType.ADDED, DeltaType.UPDATED, DeltaType.UPDATED,
                                          DeltaType.DELETED, DeltaType.ADDED, DeltaType.DELETED]


# -- 2.4 transform -------------------------------------------------------------------------------


def test_2_4_transform_is_applied_on_add_update_delete_and_replace() -> None:
    fifo = DeltaFIFO(transform=stamp)
    fifo.add(pod("a", "1"))
    fifo.update(pod("a", "2"))
    fifo.delete(pod("a", "3"))
    assert kinds(fifo.deltas("ns/a")) == [DeltaType.ADDED, DeltaType.UPDATED, DeltaType.DELETED]
    assert all(is_stamped(delta.object) for delta in fifo.deltas("ns/a"))
    listed = DeltaFIFO(transform=stamp)
    listed.replace([pod("b", "1")], "10")
    assert kinds(listed.deltas("ns/b")) == [DeltaType.REPLACED]
    assert is_stamped(listed.deltas("ns/b")[0].object)


def test_2_4_transform_applies_to_replaced_items_also_when_emitted_as_sync() -> None:
    fifo = DeltaFIFO(transform=stamp, emit_replaced=False)
    fifo.replace([pod("a", "1")], "10")
    (delta,) = fifo.deltas("ns/a")
    assert delta.type is DeltaType.SYNC
    assert is_stamped(delta.object)


def test_2_4_transform_is_not_applied_to_tombstones() -> None:
    transformed: list[DeltaObject] = []

    def transform(obj: dict[str, Any]) -> dict[str, Any]:
        transformed.append(obj)
        return obj

    fifo = DeltaFIFO(known_objects=known(pod("a"), pod("b")), transform=transform)
    fifo.delete(DeletedFinalStateUnknown("ns/a", pod("a")))
    fifo.replace([], "10")  # queues a tombstone for ns/b
    assert transformed == []
    assert isinstance(fifo.deltas("ns/b")[0].object, DeletedFinalStateUnknown)


def test_2_4_transform_is_not_applied_to_sync_deltas() -> None:
    transformed: list[DeltaObject] = []

    def transform(obj: dict[str, Any]) -> dict[str, Any]:
        transformed.append(obj)
        return obj

    fifo = DeltaFIFO(known_objects=known(pod("a")), transform=transform)
    fifo.resync()
    assert kinds(fifo.deltas("ns/a")) == [DeltaType.SYNC]
    assert transformed == []


# -- 2.5 delete of an unknown key -----------------------------------------------------------------


def test_2_5_delete_of_a_key_unknown_to_the_fifo_and_the_store_is_a_no_op() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("b")))
    fifo.delete(pod("a"))
    fifo.delete(DeletedFinalStateUnknown("ns/a", None))
    assert len(fifo) == 0
    fifo.delete(pod("b"))  # known to the store
    fifo.add(pod("c"))
    fifo.delete(pod("c"))  # known to the FIFO
    assert fifo.list_keys() == ["ns/b", "ns/c"]


def test_2_5_without_a_store_only_keys_in_the_fifo_can_be_deleted() -> None:
    fifo = DeltaFIFO()
    fifo.delete(pod("a"))
    assert len(fifo) == 0
    fifo.add(pod("b"))
    fifo.delete(pod("b"))
    assert kinds(fifo.deltas("ns/b")) == [DeltaType.ADDED, DeltaType.DELETED]


# -- 2.6 replace ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("emit_replaced", "kind"), [(True, DeltaType.REPLACED), (False, DeltaType.SYNC)])
def test_2_6_replace_queues_each_item_as_replaced_or_sync(emit_replaced: bool, kind: DeltaType) -> None:
    fifo = DeltaFIFO(emit_replaced=emit_replaced)
    fifo.replace([pod("a"), pod("b")], "10")
    assert fifo.list_keys() == ["ns/a", "ns/b"]
    assert kinds(fifo.deltas("ns/a")) == [kind]
    assert kinds(fifo.deltas("ns/b")) == [kind]


def test_2_6_replace_tombstones_queued_keys_missing_from_the_list_with_their_newest_object() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("a", "1")))
    fifo.add(pod("b", "1"))
    fifo.update(pod("b", "2"))
    fifo.update(pod("a", "2"))  # queued and known: tombstoned once, from the queue
    fifo.replace([pod("c", "1")], "10")
    b_deltas = fifo.deltas("ns/b")
    assert kinds(b_deltas) == [DeltaType.ADDED, DeltaType.UPDATED, DeltaType.DELETED]
    assert b_deltas[-1].object == DeletedFinalStateUnknown("ns/b", pod("b", "2"))
    a_deltas = fifo.deltas("ns/a")
    assert kinds(a_deltas) == [DeltaType.UPDATED, DeltaType.DELETED]
    assert a_deltas[-1].object == DeletedFinalStateUnknown("ns/a", pod("a", "2"))


def test_2_6_replace_unwraps_a_queued_tombstone_for_the_last_known_object() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("a", "1")))
    fifo.delete(DeletedFinalStateUnknown("ns/a", pod("a", "1")))
    fifo.replace([], "10")
    deltas = fifo.deltas("ns/a")
    # Two tombstones in a row collapse to the newer, whose object is the unwrapped last state.
    assert kinds(deltas) == [DeltaType.DELETED]
    assert deltas[0].object == DeletedFinalStateUnknown("ns/a", pod("a", "1"))


def test_2_6_replace_tombstones_known_objects_missing_from_the_list() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("a", "1"), pod("b", "1")))
    fifo.replace([pod("a", "2")], "10")
    assert fifo.list_keys() == ["ns/a", "ns/b"]
    assert kinds(fifo.deltas("ns/a")) == [DeltaType.REPLACED]
    assert fifo.deltas("ns/b") == [Delta(DeltaType.DELETED, DeletedFinalStateUnknown("ns/b", pod("b", "1")))]


def test_2_6_first_replace_counts_items_and_queued_deletions_as_the_initial_population() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("x")))
    fifo.replace([pod("a"), pod("b")], "10")  # two items and a tombstone for ns/x
    assert not fifo.has_synced()
    assert [pop_one(fifo)[1] for _ in range(3)] == [True, True, True]
    assert fifo.has_synced()
    fifo.replace([pod("c")], "11")  # a later replace is not an initial list
    assert fifo.list_keys() == ["ns/c", "ns/x"]
    assert [pop_one(fifo)[1] for _ in range(2)] == [False, False]


# -- 2.7 resync ---------------------------------------------------------------------------------


def test_2_7_resync_queues_sync_for_every_known_key_with_nothing_pending() -> None:
    fifo = DeltaFIFO(known_objects=known(pod("a", "1"), pod("b", "1"), pod("c", "1")))
    fifo.update(pod("b", "2"))
    fifo.resync()
    assert fifo.list_keys() == ["ns/b", "ns/a", "ns/c"]
    assert fifo.deltas("ns/a") == [Delta(DeltaType.SYNC, pod("a", "1"))]
    assert kinds(fifo.deltas("ns/b")) == [DeltaType.UPDATED]
    assert fifo.deltas("ns/c") == [Delta(DeltaType.SYNC, pod("c", "1"))]


def test_2_7_resync_without_a_store_does_nothing() -> None:
    fifo = DeltaFIFO()
    fifo.resync()
    assert len(fifo) == 0


# -- 2.8 pop ------------------------------------------------------------------------------------


def test_2_8_pop_blocks_until_an_item_exists() -> None:
    fifo = DeltaFIFO()
    popped = Popped()
    waiter = threading.Thread(target=fifo.pop, args=(popped,), daemon=True)
    waiter.start()
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    fifo.add(pod("a"))
    waiter.join(JOIN_SECONDS)
    assert not waiter.is_alive()
    assert [kinds(deltas) for deltas, _ in popped.calls] == [[DeltaType.ADDED]]


def test_2_8_pop_with_a_timeout_returns_false_when_nothing_came() -> None:
    fifo = DeltaFIFO()
    popped = Popped()
    assert fifo.pop(popped, timeout=0.001) is False
    assert popped.calls == []


def test_2_8_pop_takes_the_whole_key_with_every_delta_oldest_first() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a", "1"))
    fifo.update(pod("a", "2"))
    fifo.delete(pod("a", "3"))
    deltas, _ = pop_one(fifo)
    assert [(delta.type, delta_key(delta.object)) for delta in deltas] == [
        (DeltaType.ADDED, "ns/a"), (DeltaType.UPDATED, "ns/a"), (DeltaType.DELETED, "ns/a")]
    assert [delta.object for delta in deltas] == [pod("a", "1"), pod("a", "2"), pod("a", "3")]
    assert fifo.deltas("ns/a") == []
    assert len(fifo) == 0


def test_2_8_pop_computes_is_in_initial_list_before_counting_the_item_down() -> None:
    fifo = DeltaFIFO()
    fifo.replace([pod("a"), pod("b")], "10")
    fifo.add(pod("c"))
    assert [pop_one(fifo)[1] for _ in range(3)] == [True, True, False]


def test_2_8_a_key_whose_processing_raised_is_not_requeued() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a"))

    def fail(deltas: list[Delta], is_in_initial_list: bool) -> None:
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        fifo.pop(fail, timeout=0)
    assert len(fifo) == 0
    assert fifo.deltas("ns/a") == []


def test_2_8_closed_fifo_still_pops_what_it_holds_then_raises_closed() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a"))
    fifo.close()
    assert kinds(pop_one(fifo)[0]) == [DeltaType.ADDED]
    with pytest.raises(FIFOClosedError):
        fifo.pop(Popped(), timeout=0)


def test_2_8_close_wakes_a_blocked_pop_with_closed() -> None:
    fifo = DeltaFIFO()
    outcome: list[BaseException] = []

    def pop() -> None:
        try:
            fifo.pop(Popped())
        except FIFOClosedError as error:
            outcome.append(error)

    waiter = threading.Thread(target=pop, daemon=True)
    waiter.start()
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    fifo.close()
    waiter.join(JOIN_SECONDS)
    assert not waiter.is_alive()
    assert len(outcome) == 1


# -- 2.9 has_synced ------------------------------------------------------------------------------


def test_2_9_has_synced_after_the_first_replace_is_fully_popped() -> None:
    fifo = DeltaFIFO()
    assert not fifo.has_synced()
    fifo.replace([pod("a"), pod("b")], "10")
    assert not fifo.has_synced()
    pop_one(fifo)
    assert not fifo.has_synced()
    fifo.add(pod("c"))
    pop_one(fifo)
    assert fifo.has_synced()
    assert fifo.list_keys() == ["ns/c"]  # later changes do not hold the sync back


def test_2_9_empty_first_replace_is_synced_at_once() -> None:
    fifo = DeltaFIFO()
    fifo.replace([], "10")
    assert fifo.has_synced()


def test_2_9_an_add_before_any_replace_counts_as_populated() -> None:
    fifo = DeltaFIFO()
    fifo.add(pod("a"))
    assert fifo.has_synced()
    fifo.replace([pod("b")], "10")  # not the first population any more
    assert fifo.has_synced()


def test_2_4_prepare_applies_the_transform_ahead_and_replace_keeps_packed_objects_as_they_are() -> None:
    calls: list[str] = []

    def pack(obj: dict[str, Any]) -> Packed:
        calls.append(obj["metadata"]["name"])
        return Packed.of(obj)

    fifo = DeltaFIFO(transform=pack)
    page = fifo.prepare([pod("a", "1"), pod("b", "1")])  # as each page of a LIST arrives
    assert calls == ["a", "b"] and all(isinstance(obj, Packed) for obj in page)
    fifo.replace(page, "10")
    assert calls == ["a", "b"]  # not transformed again
    (delta,) = fifo.deltas("ns/a")
    assert delta.type is DeltaType.REPLACED and isinstance(delta.object, Packed)
    assert delta.object.unpack() == pod("a", "1")
    fifo.replace([], "11")  # a's pending Packed becomes its tombstone's last state
    assert isinstance(fifo.deltas("ns/a")[-1].object, DeletedFinalStateUnknown)
    assert DeltaFIFO().prepare([pod("c")]) == [pod("c")]  # no transform: the objects as they are
