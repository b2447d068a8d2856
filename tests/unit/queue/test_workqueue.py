"""WorkQueue: client-go semantics 5.1 to 5.4 (add, get, done, shut down)."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from opframe.queue.workqueue import ShutDown, WorkQueue

from ..harness import WaitCountingClock, queued, started

# 5.1 Add


def test_5_1_items_are_handed_out_in_the_order_they_were_added() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for item in ("c", "a", "b"):
        queue.add(item)
    assert queued(queue) == ["c", "a", "b"]


def test_5_1_add_after_shut_down_is_ignored() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.shut_down()
    queue.add("a")
    assert len(queue) == 0
    with pytest.raises(ShutDown):
        queue.get(timeout=0)


def test_5_1_add_of_a_dirty_item_changes_nothing() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a")
    queue.add("a")
    assert len(queue) == 2
    assert queued(queue) == ["a", "b"]


def test_5_1_add_while_processing_marks_dirty_but_does_not_queue() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0
    assert queue.processing() == frozenset({"a"})
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)


# 5.2 Get


def test_5_2_get_blocks_until_an_item_is_added() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    getter = started(queue.get)
    clock.await_waits(1)
    getter.join(0.005)
    assert getter.is_alive()
    queue.add("a")
    assert getter.finish().result == "a"
    assert queue.processing() == frozenset({"a"})


def test_5_2_get_moves_the_item_from_dirty_to_processing() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.processing() == frozenset()
    assert queue.get() == "a"
    assert queue.processing() == frozenset({"a"})
    # No longer dirty: the next add is not collapsed into the one already handed out.
    queue.add("a")
    queue.done("a")
    assert queue.processing() == frozenset()
    assert queued(queue) == ["a"]


def test_5_2_queued_items_are_still_handed_out_after_shut_down() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    assert queue.shutting_down
    assert queue.get() == "a"
    assert queue.get() == "b"
    with pytest.raises(ShutDown):
        queue.get()


def test_5_2_get_reports_shutdown_only_when_the_queue_is_empty() -> None:
    queue: WorkQueue[str] = WorkQueue(name="things")
    queue.add("a")
    queue.shut_down()
    assert queue.get() == "a"
    with pytest.raises(ShutDown, match="things"):
        queue.get()
    # Still shut down after the worker reported "a" done: nothing was re-added.
    queue.done("a")
    with pytest.raises(ShutDown):
        queue.get()


def test_5_2_get_with_timeout_raises_timeout_error_when_the_timeout_passes() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(name="things", clock=clock)
    getter = started(lambda: queue.get(timeout=5))
    clock.await_waits(1)
    clock.step(4.5)
    clock.settle()
    assert getter.is_alive()
    clock.step(0.5)
    error = getter.finish().error
    assert isinstance(error, TimeoutError)
    assert "'things'" in str(error)


def test_5_2_get_with_zero_timeout_on_an_empty_queue_raises_timeout_error_at_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)


def test_5_2_get_with_timeout_returns_an_item_added_before_the_deadline() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    getter = started(lambda: queue.get(timeout=5))
    clock.await_waits(1)
    clock.step(4)
    queue.add("a")
    assert getter.finish().result == "a"


# 5.3 Done


def test_5_3_item_readded_while_processing_is_handed_again_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0
    queue.done("a")
    assert len(queue) == 1
    assert queue.get() == "a"


def test_5_3_done_without_a_readd_does_not_queue_the_item_again() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.done(queue.get())
    assert len(queue) == 0
    assert queue.processing() == frozenset()


def test_5_3_duplicate_adds_while_processing_collapse_into_one_more_get() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get() == "a"
    for _ in range(5):
        queue.add("a")
    queue.done("a")
    assert queued(queue) == ["a"]


def test_5_3_done_wakes_a_worker_blocked_in_get_for_the_readded_item() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    second_worker = started(queue.get)
    clock.await_waits(1)
    second_worker.join(0.005)
    assert second_worker.is_alive(), "a second worker got an item that is being processed"
    queue.done("a")
    assert second_worker.finish().result == "a"


def test_5_3_never_two_workers_on_one_item_and_no_add_is_lost() -> None:
    queue: WorkQueue[str] = WorkQueue()
    keys = [f"ns/object-{index}" for index in range(5)]
    lock = threading.Lock()
    version = dict.fromkeys(keys, 0)
    handled_version = dict.fromkeys(keys, 0)
    active: set[str] = set()
    overlaps: list[str] = []
    handled = 0

    def produce(offset: int) -> None:
        for index in range(300):
            key = keys[(index + offset) % len(keys)]
            with lock:
                version[key] += 1
            queue.add(key)

    def work() -> None:
        nonlocal handled
        while True:
            try:
                key = queue.get()
            except ShutDown:
                return
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
                seen = version[key]
            time.sleep(0)  # let other threads run while this key is held
            with lock:
                active.discard(key)
                handled_version[key] = max(handled_version[key], seen)
                handled += 1
            queue.done(key)

    workers = [started(work) for _ in range(8)]
    producers = [started(functools.partial(produce, offset)) for offset in range(4)]
    for producer in producers:
        producer.finish()
    queue.shut_down()
    for worker in workers:
        assert worker.finish().error is None

    assert overlaps == []
    # Every add was seen by a get that started after it: duplicates collapse, none is lost.
    assert handled_version == version
    assert handled <= 4 * 300
    assert queue.processing() == frozenset()
    assert len(queue) == 0


# 5.4 Shut down


def test_5_4_shut_down_wakes_all_waiting_getters() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    getters = [started(queue.get) for _ in range(3)]
    clock.await_waits(3)
    queue.shut_down()
    for getter in getters:
        assert isinstance(getter.finish().error, ShutDown)


def test_5_4_shut_down_with_drain_also_wakes_all_waiting_getters() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    getters = [started(queue.get) for _ in range(3)]
    clock.await_waits(3)
    assert queue.shut_down_with_drain() is True
    for getter in getters:
        assert isinstance(getter.finish().error, ShutDown)


def test_5_4_shut_down_with_drain_returns_true_at_once_when_nothing_is_processed() -> None:
    queue: WorkQueue[str] = WorkQueue()
    assert queue.shut_down_with_drain(timeout=0) is True
    assert queue.shutting_down
    queue.add("a")
    assert len(queue) == 0


def test_5_4_shut_down_with_drain_waits_until_processing_items_are_done() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a")
    queue.add("b")
    assert queue.get() == "a"
    drain = started(queue.shut_down_with_drain)
    clock.await_waits(1)
    assert queue.shutting_down
    queue.add("c")
    # Workers keep taking what is queued while the drain waits.
    assert queue.get() == "b"
    queue.done("a")
    drain.join(0.005)
    assert drain.is_alive(), "the drain returned while 'b' was still being processed"
    queue.done("b")
    assert drain.finish().result is True
    with pytest.raises(ShutDown):
        queue.get()


def test_5_4_item_readded_before_shut_down_is_handed_out_again_after_done() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    drain = started(queue.shut_down_with_drain)
    clock.await_waits(1)
    queue.done("a")
    assert drain.finish().result is True
    assert queue.get() == "a"
    queue.done("a")
    with pytest.raises(ShutDown):
        queue.get()


def test_5_4_shut_down_with_drain_returns_false_when_its_timeout_passes() -> None:
    clock = WaitCountingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a")
    assert queue.get() == "a"
    drain = started(lambda: queue.shut_down_with_drain(timeout=10))
    clock.await_waits(1)
    clock.step(9.5)
    clock.settle()
    assert drain.is_alive()
    clock.step(0.5)
    assert drain.finish().result is False
    assert queue.shutting_down
    assert queue.processing() == frozenset({"a"})
