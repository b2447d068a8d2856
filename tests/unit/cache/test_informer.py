"""SharedIndexInformer: client-go semantics 4.1 to 4.7, with real threads and a scripted server.

Each test scripts the lists and held-open watches the informer's Reflector will see,
starts the informer, pushes watch events and polls briefly for what the handlers got.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from opframe.cache.fifo import DeletedFinalStateUnknown, DeltaObject, DeltaType
from opframe.cache.informer import MIN_RESYNC_PERIOD, SharedIndexInformer, wait_for_cache_sync
from opframe.cache.listwatch import Backoff
from opframe.cache.reflector import State
from opframe.kube.client import WatchEvent
from opframe.kube.clock import REAL_CLOCK, Clock, FakeClock

if TYPE_CHECKING:
    from .conftest import ScriptedListerWatcher

#: Upper bound for anything that should happen at once; only a failing test waits this long.
WAIT_SECONDS = 2.0


def pod(name: str, rv: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv, **metadata}}


def event(kind: str, name: str, rv: str) -> WatchEvent:
    return WatchEvent(kind, pod(name, rv))


def expired() -> WatchEvent:
    return WatchEvent("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})


def eventually(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def rv_of(obj: DeltaObject) -> str:
    assert isinstance(obj, dict)
    return str(obj["metadata"]["resourceVersion"])


class Recorder:
    """A handler that logs what it is told: ("add", name, rv, initial), ("update", name, old rv,
    new rv), ("delete", name, rv) or ("tombstone", key, rv of the last known state).

    ``gate``, if given, holds every notification until it is set; ``fail`` makes
    the handler raise after logging a notification about that object name.
    """

    def __init__(self, *, gate: threading.Event | None = None, fail: str | None = None) -> None:
        self._lock = threading.Lock()
        self._gate = gate
        self._fail = fail
        self.events: list[tuple[Any, ...]] = []
        self.objects: list[DeltaObject] = []

    def _log(self, entry: tuple[Any, ...], obj: DeltaObject) -> None:
        if self._gate is not None:
            assert self._gate.wait(WAIT_SECONDS)
        with self._lock:
            self.events.append(entry)
            self.objects.append(obj)
        if self._fail is not None and entry[1] == self._fail:
            raise RuntimeError(f"handler bug on {entry[1]}")

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        self._log(("add", obj["metadata"]["name"], rv_of(obj), is_in_initial_list), obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._log(("update", new["metadata"]["name"], rv_of(old), rv_of(new)), new)

    def on_delete(self, obj: DeltaObject) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            assert obj.obj is not None
            self._log(("tombstone", obj.key, rv_of(obj.obj)), obj)
        else:
            self._log(("delete", obj["metadata"]["name"], rv_of(obj)), obj)

    def seen(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self.events)

    def has(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.seen()) >= count


Factory = Callable[..., SharedIndexInformer]


@pytest.fixture
def new_informer(lister_watcher: ScriptedListerWatcher) -> Iterator[Factory]:
    """Makes informers on the scripted ListerWatcher and stops them all after the test."""
    made: list[SharedIndexInformer] = []

    def make(*, clock: Clock = REAL_CLOCK, **options: Any) -> SharedIndexInformer:
        informer = SharedIndexInformer(lister_watcher, name="pods", clock=clock,
                                       backoff=Backoff(initial=0.0, clock=clock), rng=random.Random(5),
                                       **options)
        made.append(informer)
        return informer

    yield make
    for informer in made:
        informer.stop(timeout=WAIT_SECONDS)


# -- 4.1 processing deltas -------------------------------------------------------------------------


def test_4_1_relist_of_an_existing_object_is_an_update(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1"), pod("b", "1")], "10")
    first = lister_watcher.on_watch(hold_open=True)
    lister_watcher.on_list([pod("a", "3"), pod("b", "1"), pod("c", "4")], "20")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    handler = Recorder()
    informer.add_event_handler(handler)
    informer.start()
    eventually(handler.has(2), "the initial adds")
    first.push(event("MODIFIED", "a", "2"), expired())
    eventually(handler.has(5), "the relist")
    assert handler.seen() == [
        ("add", "a", "1", True), ("add", "b", "1", True),
        ("update", "a", "1", "2"),
        ("update", "a", "2", "3"),  # a relisted changed object: an update, never a second add
        ("add", "c", "4", False),  # b relisted unchanged is a resync, and nobody's resync is due
    ]
    assert lister_watcher.list_calls[1].resource_version == "2"
    assert {obj["metadata"]["name"]: rv_of(obj) for obj in informer.indexer.list()} == {
        "a": "3", "b": "1", "c": "4"}


def test_a_relisted_unchanged_object_shares_the_cached_bytes(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    """While a relist holds every object again beside the cache, the unchanged ones are the cache's
    own bytes (a relist's peak memory is then not the cache twice over); a changed one is new."""
    lister_watcher.on_list([pod("a", "1"), pod("b", "1")], "10")
    first = lister_watcher.on_watch(hold_open=True)
    lister_watcher.on_list([pod("a", "1"), pod("b", "2")], "20")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    informer.start()
    eventually(lambda: len(informer.indexer.list_keys()) == 2, "the initial list")
    before = {key: informer.indexer.get_raw(key) for key in ("ns/a", "ns/b")}
    first.push(expired())
    eventually(lambda: rv_of(informer.indexer.get_by_key("ns/b") or {}) == "2", "the relist")
    assert informer.indexer.get_raw("ns/a") is before["ns/a"]
    assert informer.indexer.get_raw("ns/b") is not before["ns/b"]


def test_4_1_deleted_events_and_relists_that_lack_an_object_reach_on_delete(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1"), pod("b", "2"), pod("c", "3")], "10")
    first = lister_watcher.on_watch(hold_open=True)
    lister_watcher.on_list([pod("c", "3")], "20")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    handler = Recorder()
    informer.add_event_handler(handler)
    informer.start()
    eventually(handler.has(3), "the initial adds")
    first.push(event("DELETED", "a", "11"), expired())
    eventually(handler.has(5), "the deletions")
    assert handler.seen()[3:] == [("delete", "a", "11"), ("tombstone", "ns/b", "2")]
    tombstone = handler.objects[4]
    assert tombstone == DeletedFinalStateUnknown("ns/b", pod("b", "2"))
    assert informer.indexer.list_keys() == ["ns/c"]


def test_2_4_informer_default_transform_drops_managed_fields(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    managed = [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]
    lister_watcher.on_list([pod("a", "1", managedFields=managed, labels={"app": "web"})], "10")
    first = lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    handler = Recorder()
    informer.add_event_handler(handler)
    informer.start()
    first.push(WatchEvent("MODIFIED", pod("a", "2", managedFields=managed, labels={"app": "db"})))
    eventually(handler.has(2), "the add and the update")
    for obj in [*handler.objects, *informer.indexer.list()]:
        assert isinstance(obj, dict)
        assert "managedFields" not in obj["metadata"]
        assert "labels" in obj["metadata"]


# -- 4.2 / 4.3 resync ------------------------------------------------------------------------------


def test_4_2_resync_if_due_queues_sync_deltas_only_when_a_handler_is_due(
        new_informer: Factory) -> None:
    clock = FakeClock()
    informer = new_informer(clock=clock)
    informer.add_event_handler(Recorder(), resync_period=10.0)
    informer.add_event_handler(Recorder())
    informer.indexer.add(pod("a", "1"))
    assert informer.resync_if_due() is False
    clock.step(9.9)
    assert informer.resync_if_due() is False
    assert len(informer.fifo) == 0
    clock.step(0.1)
    assert informer.resync_if_due() is True
    assert [delta.type for delta in informer.fifo.deltas("ns/a")] == [DeltaType.SYNC]
    assert informer.resync_if_due() is False  # the next one is ten seconds away
    clock.step(10.0)
    assert informer.resync_if_due() is True


def test_4_2_equal_rv_update_is_a_resync_delivered_only_to_handlers_whose_resync_is_due(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    clock = FakeClock()
    lister_watcher.on_list([pod("a", "1")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    informer = new_informer(clock=clock)
    resyncing, plain = Recorder(), Recorder()
    informer.add_event_handler(resyncing, resync_period=10.0)
    informer.add_event_handler(plain)
    informer.start()
    eventually(lambda: resyncing.has(1)() and plain.has(1)(), "the initial adds")
    clock.step(10.0)
    informer.resync_if_due()  # the informer's own resync timer may have done it already
    eventually(resyncing.has(2), "the resync")
    stream.push(event("MODIFIED", "a", "2"))
    eventually(lambda: resyncing.has(3)() and plain.has(2)(), "the update")
    assert resyncing.seen() == [("add", "a", "1", True), ("update", "a", "1", "1"), ("update", "a", "1", "2")]
    # The plain handler's notifications are in order too, so a resync would have come before "2".
    assert plain.seen() == [("add", "a", "1", True), ("update", "a", "1", "2")]


def test_4_2_relisted_unchanged_objects_reach_no_handler_once_its_resync_has_passed(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    clock = FakeClock()
    lister_watcher.on_list([pod("a", "1")], "10")
    first = lister_watcher.on_watch(hold_open=True)
    lister_watcher.on_list([pod("a", "1")], "20")
    second = lister_watcher.on_watch(hold_open=True)
    informer = new_informer(clock=clock)
    handler = Recorder()
    informer.add_event_handler(handler, resync_period=10.0)
    informer.start()
    eventually(handler.has(1), "the initial add")
    clock.step(10.0)
    informer.resync_if_due()
    eventually(handler.has(2), "the resync")
    clock.step(1.0)
    assert informer.resync_if_due() is False
    first.push(expired())  # relist: a comes back unchanged, and no resync is due now
    eventually(lambda: len(lister_watcher.watch_calls) == 2, "the relist")
    second.push(event("MODIFIED", "a", "2"))
    eventually(handler.has(3), "the update")
    assert handler.seen() == [("add", "a", "1", True), ("update", "a", "1", "1"), ("update", "a", "1", "2")]


def test_4_3_resync_period_is_at_least_one_second_and_zero_means_never(new_informer: Factory) -> None:
    informer = new_informer(resync_period=30.0)
    assert MIN_RESYNC_PERIOD == 1.0
    assert informer.add_event_handler(Recorder(), resync_period=0.2).resync_period == 1.0
    assert informer.add_event_handler(Recorder(), resync_period=5.0).resync_period == 5.0
    assert informer.add_event_handler(Recorder(), resync_period=0.0).resync_period == 0.0
    assert informer.add_event_handler(Recorder()).resync_period == 30.0
    short = new_informer(resync_period=0.01)
    assert short.add_event_handler(Recorder()).resync_period == 1.0


# -- 4.4 handlers ---------------------------------------------------------------------------------


def test_4_4_a_raising_handler_is_logged_and_keeps_getting_later_notifications(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="opframe.informer")
    lister_watcher.on_list([pod("a", "1"), pod("b", "1")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    failing = Recorder(fail="a")
    informer.add_event_handler(failing)
    informer.start()
    stream.push(event("MODIFIED", "a", "2"), event("MODIFIED", "b", "2"))
    eventually(failing.has(4), "every notification")
    assert failing.seen() == [("add", "a", "1", True), ("add", "b", "1", True),
                              ("update", "a", "1", "2"), ("update", "b", "1", "2")]
    eventually(lambda: len(caplog.records) == 2, "the log of both failures")
    assert [record.getMessage().rsplit(" failed on ", 1)[1] for record in caplog.records] == [
        "add of ns/a", "update of ns/a"]
    assert all(record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
               for record in caplog.records)


def test_4_4_each_handler_gets_its_notifications_in_order(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    first, second = Recorder(), Recorder()
    informer.add_event_handler(first)
    informer.add_event_handler(second)
    informer.start()
    for number in range(2, 60):
        stream.push(event("MODIFIED", "a", str(number)), event("ADDED", f"b{number}", str(number)))
    expected: list[tuple[Any, ...]] = [("add", "a", "1", True)]
    for number in range(2, 60):
        expected += [("update", "a", str(number - 1), str(number)), ("add", f"b{number}", str(number), False)]
    eventually(lambda: first.has(len(expected))() and second.has(len(expected))(), "every notification")
    # Updates of a are in order; how they interleave with the adds depends on the FIFO's collapsing.
    for handler in (first, second):
        assert sorted(handler.seen()) == sorted(expected)
        assert [entry for entry in handler.seen() if entry[1] == "a"] == [
            entry for entry in expected if entry[1] == "a"]
    assert first.seen() == second.seen()


def test_4_4_a_slow_handler_does_not_hold_up_another(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    gate = threading.Event()
    slow, fast = Recorder(gate=gate), Recorder()
    slow_registration = informer.add_event_handler(slow)
    informer.add_event_handler(fast)
    informer.start()
    stream.push(event("MODIFIED", "a", "2"), event("MODIFIED", "a", "3"))
    eventually(fast.has(3), "the fast handler's notifications")
    # The first notification is held in the slow handler; the other two wait in its own buffer.
    eventually(lambda: slow_registration.pending() == 2, "the slow handler's buffer")
    assert slow.seen() == []
    gate.set()
    eventually(slow.has(3), "the slow handler's notifications")
    assert slow.seen() == fast.seen()


# -- 4.5 / 4.6 late handlers and per-handler sync --------------------------------------------------


def test_4_5_handler_added_after_start_gets_synthetic_adds(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1"), pod("b", "1")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    informer.start()
    eventually(informer.has_synced, "the informer's sync")
    late = Recorder()
    informer.add_event_handler(late)
    stream.push(event("MODIFIED", "a", "2"))
    eventually(late.has(3), "the replay and the update")
    assert sorted(late.seen()[:2]) == [("add", "a", "1", True), ("add", "b", "1", True)]
    assert late.seen()[2] == ("update", "a", "1", "2")


def test_4_6_per_handler_has_synced_waits_for_its_initial_adds(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1"), pod("b", "1")], "10")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    gate = threading.Event()
    slow = informer.add_event_handler(Recorder(gate=gate))
    fast = informer.add_event_handler(Recorder())
    assert not slow.has_synced()
    assert not fast.has_synced()
    informer.start()
    eventually(fast.has_synced, "the fast handler's sync")
    assert informer.has_synced()
    assert not slow.has_synced()
    gate.set()
    eventually(slow.has_synced, "the slow handler's sync")


def test_4_6_handler_added_after_sync_has_synced_once_its_replay_is_delivered(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1")], "10")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    informer.start()
    eventually(informer.has_synced, "the informer's sync")
    gate = threading.Event()
    late = informer.add_event_handler(Recorder(gate=gate))
    assert not late.has_synced()
    gate.set()
    eventually(late.has_synced, "the late handler's sync")


# -- 4.7 wait_for_cache_sync -------------------------------------------------------------------------


def test_4_7_wait_for_cache_sync_returns_false_on_timeout() -> None:
    started = time.monotonic()
    assert wait_for_cache_sync(lambda: True, lambda: False, timeout=0.05) is False
    assert time.monotonic() - started < 1.0


def test_4_7_wait_for_cache_sync_gives_up_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert wait_for_cache_sync(lambda: False, stop=stop) is False
    assert time.monotonic() - started < 0.05


def test_4_7_wait_for_cache_sync_returns_true_once_everything_synced() -> None:
    assert wait_for_cache_sync(lambda: True, lambda: True, timeout=0.0) is True


def test_4_7_informer_wait_for_sync(lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    never_started = new_informer()
    assert never_started.wait_for_sync(timeout=0.01) is False
    never_started.stop()
    assert never_started.wait_for_sync() is False  # stopped: no timeout needed
    lister_watcher.on_list([pod("a", "1")], "10")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    informer.start()
    assert informer.wait_for_sync(timeout=WAIT_SECONDS) is True


# -- wedged: the cache has stopped following the server -------------------------------------------

#: Far above anything these tests wait, so only a dead thread can make an informer wedged.
NEVER = 1e9


class ThreadKiller(BaseException):
    """Escapes every ``except Exception``: the thread that meets it dies, as on a bug in a C extension."""


def test_informer_is_not_wedged_before_start_while_running_and_after_stop(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list([pod("a", "1")], "10")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer()
    assert not informer.wedged(NEVER)
    informer.start()
    assert informer.wait_for_sync(timeout=WAIT_SECONDS)
    assert not informer.wedged(NEVER)
    assert not informer.wedged(60.0)
    informer.stop(timeout=WAIT_SECONDS)
    assert not informer.wedged(0.0)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_informer_is_wedged_when_its_reflector_thread_died(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    lister_watcher.on_list_error(ThreadKiller())
    informer = new_informer()
    informer.start()
    eventually(lambda: informer.wedged(NEVER), "the dead reflector thread to show")
    assert informer.reflector.state is not State.STOPPED


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_informer_is_wedged_when_its_processing_thread_died(
        lister_watcher: ScriptedListerWatcher, new_informer: Factory) -> None:
    def index_that_kills(obj: dict[str, Any]) -> list[str]:
        if obj["metadata"]["name"] == "boom":
            raise ThreadKiller()
        return []

    lister_watcher.on_list([pod("a", "1"), pod("boom", "2")], "10")
    lister_watcher.on_watch(hold_open=True)
    informer = new_informer(indexers={"kills": index_that_kills})
    informer.start()
    eventually(lambda: informer.wedged(NEVER), "the dead processing thread to show")
    assert informer.reflector.is_watching()  # the Reflector itself is fine


def test_informer_is_wedged_when_its_reflector_makes_no_attempt_past_the_limit() -> None:
    clock = FakeClock()
    listed = threading.Event()
    release = threading.Event()

    class HangingListerWatcher:
        def list(self, **_: Any) -> Any:
            listed.set()
            release.wait(WAIT_SECONDS * 5)
            raise OSError("connection closed")

        def watch(self, **_: Any) -> Any:
            raise AssertionError("not scripted")

    informer = SharedIndexInformer(HangingListerWatcher(), name="pods", clock=clock)
    informer.start()
    try:
        assert listed.wait(WAIT_SECONDS)
        clock.step(300.0)
        assert not informer.wedged(300.0)
        clock.step(1.0)
        assert informer.wedged(300.0)
    finally:
        informer.stop(timeout=0.01)
        release.set()
