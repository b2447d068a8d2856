"""DelayingQueue: client-go semantics 5.5 (add_after, ready times, earlier wins, the waiting loop)."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from opframe.kube.clock import FakeClock, RealClock
from opframe.queue.delaying import WAITING_LOOP_THREAD_PREFIX, DelayingQueue
from opframe.queue.metrics import QueueMetricsRecorder
from opframe.queue.workqueue import ShutDown

from ..harness import JOIN_SECONDS, WaitCountingClock, soon, started
from ..harness import queued as ready


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
    time.sleep(0.1)  # the waiting loop polls the fake clock: it had its chance to move "a" too early
    assert getter.is_alive()
    assert queue.waiting() == 1
    clock.step(0.5)
    assert getter.finish().result == "a"  # the waiting loop moved it in, and that woke the worker


def test_5_5_add_after_wakes_no_worker_blocked_on_an_empty_queue() -> None:
    """Only the waiting loop watches ready times: a worker blocked in get() is woken by the item
    coming due, once, never by the add_after itself (a thundering herd on every change)."""
    clock = WaitCountingClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    getter = started(queue.get)
    clock.await_waits(1)  # waits with no timeout: nothing is queued
    queue.add_after("a", 1)
    queue.add_after("b", 2)
    time.sleep(0.1)
    assert clock.waits == 1  # not woken: it would have waited again
    clock.step(1)
    assert getter.finish().result == "a"
    assert clock.waits == 1


class WakeCountingClock(RealClock):
    """The real clock, counting the waits of threads other than the waiting loop (the workers')."""

    def __init__(self) -> None:
        self.waits = 0
        self._lock = threading.Lock()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        if not threading.current_thread().name.startswith(WAITING_LOOP_THREAD_PREFIX):
            with self._lock:
                self.waits += 1
        super().wait(condition, timeout)


def test_5_5_workers_blocked_in_get_are_woken_about_once_per_item_not_per_add_after() -> None:
    """8 workers blocked in get() and a burst of 200 delayed adds: a worker's wait ends about once
    per item it is handed (plus spurious wake-ups), not once per add_after for every worker."""
    clock = WakeCountingClock()
    queue: DelayingQueue[int] = DelayingQueue(clock=clock)
    got: list[int] = []

    def work() -> None:
        while True:
            try:
                item = queue.get()
            except ShutDown:
                return
            got.append(item)
            queue.done(item)
    workers = [threading.Thread(target=work, daemon=True) for _ in range(8)]
    for worker in workers:
        worker.start()
    soon(lambda: clock.waits >= 8, what="every worker waiting")
    for item in range(200):  # as an informer adds them: a change now and then, each 0.2 s to ready
        queue.add_after(item, 0.2)
        time.sleep(0.002)
    soon(lambda: len(got) == 200, what="every item handed out")
    queue.shut_down()
    for worker in workers:
        worker.join(JOIN_SECONDS)
    assert sorted(got) == list(range(200))
    # Each add_after waking all 8 workers would make at least 8 x 200 = 1,600 waits.
    assert clock.waits < 600, f"8 workers waited {clock.waits} times for 200 items"


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


# -- the waiting loop: delayed items enter the queue at their ready time, with no get() ---------------

#: A loop polling a FakeClock sees a step within milliseconds; this shows that it did not move anything.
SETTLE_SECONDS = 0.05


def test_5_5_delayed_item_is_counted_by_len_once_its_delay_passes_with_no_get() -> None:
    clock = FakeClock()
    metrics = QueueMetricsRecorder(clock=clock)
    queue: DelayingQueue[str] = DelayingQueue(clock=clock, metrics=metrics)
    queue.add_after("a", 2)
    clock.step(1.5)
    time.sleep(SETTLE_SECONDS)
    assert (len(queue), queue.waiting(), metrics.depth) == (0, 1, 0)
    clock.step(0.5)
    soon(lambda: len(queue) == 1, "the item to enter the queue")
    assert (queue.waiting(), metrics.adds, metrics.depth) == (0, 1, 1)


def test_5_5_delayed_item_enters_the_queue_right_after_its_delay_on_the_real_clock() -> None:
    queue: DelayingQueue[str] = DelayingQueue(name="real")
    added = time.monotonic()
    queue.add_after("a", 0.1)
    soon(lambda: len(queue) == 1, "the item to enter the queue")
    assert 0.1 <= time.monotonic() - added < 0.1 + 0.5
    queue.shut_down()


def test_5_5_items_with_different_delays_enter_the_queue_in_ready_time_order() -> None:
    clock = FakeClock()
    queue: DelayingQueue[str] = DelayingQueue(clock=clock)
    queue.add_after("late", 3)
    queue.add_after("early", 1)
    queue.add_after("middle", 2)
    clock.step(1)
    soon(lambda: len(queue) == 1, "the first item")
    clock.step(2)  # the other two become due together
    soon(lambda: len(queue) == 3, "the other items")
    assert [queue.get(timeout=0) for _ in range(3)] == ["early", "middle", "late"]


def test_5_5_items_due_at_once_on_the_real_clock_enter_in_ready_time_order() -> None:
    queue: DelayingQueue[str] = DelayingQueue(name="real")
    queue.add_after("b", 0.06)
    queue.add_after("a", 0.03)
    soon(lambda: len(queue) == 2, "both items")
    assert [queue.get(timeout=0) for _ in range(2)] == ["a", "b"]
    queue.shut_down()


def test_5_5_earlier_item_wakes_the_waiting_loop_sleeping_until_a_later_one() -> None:
    queue: DelayingQueue[str] = DelayingQueue(name="real")
    queue.add_after("late", 3600)  # the loop sleeps for an hour on the real clock ...
    time.sleep(SETTLE_SECONDS)
    queue.add_after("early", 0.02)  # ... and must wake for this one
    soon(lambda: len(queue) == 1, "the earlier item")
    assert queue.waiting() == 1
    queue.shut_down()


def test_5_5_waiting_loop_is_one_daemon_thread_started_by_the_first_delay() -> None:
    queue: DelayingQueue[str] = DelayingQueue(clock=FakeClock(), name="lazy")
    queue.add("a")
    queue.add_after("b", 0)
    assert queue.waiting_loop is None  # a queue that never delays has no thread
    queue.add_after("c", 1)
    loop = queue.waiting_loop
    assert loop is not None and loop.daemon and loop.is_alive()
    queue.add_after("d", 2)
    assert queue.waiting_loop is loop
    queue.shut_down()


@pytest.mark.parametrize("drain", [False, True], ids=["shut-down", "shut-down-with-drain"])
def test_5_5_shut_down_ends_the_waiting_loop(drain: bool) -> None:
    queue: DelayingQueue[str] = DelayingQueue(name="real")
    queue.add_after("a", 3600)  # the loop sleeps for an hour on the real clock
    loop = queue.waiting_loop
    assert loop is not None
    if drain:
        assert queue.shut_down_with_drain(timeout=JOIN_SECONDS)
    else:
        queue.shut_down()
    loop.join(JOIN_SECONDS)
    assert not loop.is_alive()
    assert len(queue) == 0  # what still waited is dropped


def test_5_5_waiting_loop_ends_when_the_queue_is_dropped_without_a_shut_down() -> None:
    queue: DelayingQueue[str] | None = DelayingQueue(name="dropped")
    assert queue is not None
    queue.add_after("a", 3600)
    loop = queue.waiting_loop
    assert loop is not None
    queue = None
    gc.collect()
    loop.join(JOIN_SECONDS)
    assert not loop.is_alive()
