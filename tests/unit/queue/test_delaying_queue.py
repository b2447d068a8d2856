"""DelayingQueue: client-go semantics 5.5 (add_after, ready times, earlier wins)."""

from __future__ import annotations

import pytest
from queue_helpers import WaitCountingClock, started
from queue_helpers import queued as ready

from opframe.kube.clock import FakeClock
from opframe.queue.delaying import DelayingQueue
from opframe.queue.workqueue import ShutDown


@pytest.mark.parametrize("delay", [0, 0.0, -1.5], ids=["zero", "zero-float", "negative"])
def test_5_5_add_after_with_delay_not_above_zero_is_an_immediate_add(delay: float) -> None:
    queue: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    queue.add_after("a", delay)
    assert queue.waiting() == 0
    assert len(queue) == 1
    assert ready(queue) == ["a"]


def test_5_5_item_is_not_handed_out_before_its_ready_time() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 2)
    assert queue.waiting() == 1
    assert ready(queue) == []
    clock.step(1.5)
    assert ready(queue) == []
    clock.step(0.5)
    assert ready(queue) == ["a"]
    assert queue.waiting() == 0


def test_5_5_items_become_ready_in_ready_time_order() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("c", 3)
    queue.add_after("a", 1)
    queue.add_after("b", 2)
    queue.add_after("d", 4)
    clock.step(3)
    assert ready(queue) == ["a", "b", "c"]
    assert queue.waiting() == 1
    clock.step(1)
    assert ready(queue) == ["d"]


def test_5_5_earlier_ready_time_wins() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 10)
    queue.add_after("a", 2)
    assert queue.waiting() == 1
    clock.step(2)
    assert ready(queue) == ["a"]
    # The superseded ready time (10 s) does not add the item a second time.
    clock.step(8)
    assert ready(queue) == []
    assert queue.waiting() == 0


def test_5_5_later_ready_time_is_ignored() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 2)
    queue.add_after("a", 10)
    assert queue.waiting() == 1
    clock.step(2)
    assert ready(queue) == ["a"]
    clock.step(8)
    assert ready(queue) == []


def test_5_5_each_item_has_its_own_ready_time() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 5)
    queue.add_after("b", 1)
    queue.add_after("a", 3)
    assert queue.waiting() == 2
    clock.step(1)
    assert ready(queue) == ["b"]
    clock.step(2)
    assert ready(queue) == ["a"]


def test_5_5_item_can_wait_again_after_its_ready_time_passed() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 1)
    clock.step(1)
    assert ready(queue) == ["a"]
    queue.add_after("a", 5)
    clock.step(4)
    assert ready(queue) == []
    clock.step(1)
    assert ready(queue) == ["a"]


def test_5_5_delayed_add_of_an_item_already_queued_collapses_into_it() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add("a")
    queue.add_after("a", 1)
    clock.step(1)
    assert ready(queue) == ["a"]


def test_5_5_delayed_item_due_while_processing_is_handed_out_after_done() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add("a")
    assert queue.get() == "a"
    queue.add_after("a", 1)
    clock.step(1)
    with pytest.raises(TimeoutError):
        queue.get(timeout=0)
    queue.done("a")
    assert ready(queue) == ["a"]


def test_5_5_blocked_get_returns_when_the_ready_time_arrives() -> None:
    clock = WaitCountingClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 1)
    getter = started(queue.get)
    clock.await_waits(1)
    clock.step(0.5)
    clock.settle()
    assert getter.is_alive()
    clock.step(0.5)
    assert getter.finish().result == "a"


def test_5_5_add_after_wakes_a_get_blocked_on_an_empty_queue() -> None:
    clock = WaitCountingClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    getter = started(queue.get)
    clock.await_waits(1)  # waits with no timeout: nothing is due, ever
    queue.add_after("a", 1)
    clock.await_waits(2)  # woken, now waits for the ready time
    assert getter.is_alive()
    clock.step(1)
    assert getter.finish().result == "a"


def test_5_5_get_with_timeout_before_the_ready_time_raises_timeout_error() -> None:
    clock = WaitCountingClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("a", 5)
    getter = started(lambda: queue.get(timeout=1))
    clock.await_waits(1)
    clock.step(1)
    assert isinstance(getter.finish().error, TimeoutError)
    assert queue.waiting() == 1


def test_5_5_add_after_after_shut_down_is_ignored() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.shut_down()
    queue.add_after("a", 1)
    queue.add_after("b", 0)
    assert queue.waiting() == 0
    clock.step(1)
    with pytest.raises(ShutDown):
        queue.get()


def test_5_5_items_still_waiting_at_shut_down_are_not_handed_out() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add("a")
    queue.add_after("b", 1)
    queue.shut_down()
    clock.step(1)
    assert queue.get() == "a"
    with pytest.raises(ShutDown):
        queue.get()
