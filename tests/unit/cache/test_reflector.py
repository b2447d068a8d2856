"""Reflector state machine: client-go semantics 1.1 to 1.14, driven one step at a time.

Every test scripts the ListerWatcher's answers, calls ``reflector.step()`` and checks
the state it moved to, what was asked of the server and what reached the store. The
backoff delay is zero except in the backoff tests (1.2, 1.3 and the one backoff rule,
at the end), so no other step sleeps.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from opframe.cache.listwatch import Backoff
from opframe.cache.reflector import DEFAULT_INACTIVITY_TIMEOUT, WATCH_CLOSE_GRACE, Reflector, State
from opframe.kube import errors
from opframe.kube.client import ListPage, RequestNotSentError, WatchEvent
from opframe.kube.clock import FakeClock

if TYPE_CHECKING:
    from .conftest import RecordingStore, ScriptedListerWatcher


#: Upper bound for a thread that should finish at once; only a failing test waits this long.
JOIN_SECONDS = 2.0


def pod(name: str, rv: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv, **metadata}}


def event(kind: str, name: str, rv: str) -> WatchEvent:
    return WatchEvent(kind, pod(name, rv))


def bookmark(rv: str, *, end: bool = False) -> WatchEvent:
    metadata: dict[str, Any] = {"resourceVersion": rv}
    if end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return WatchEvent("BOOKMARK", {"kind": "Pod", "apiVersion": "v1", "metadata": metadata})


def status(code: int, reason: str, message: str = "failed") -> WatchEvent:
    return WatchEvent("ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                                "reason": reason, "message": message})


class FixedRandom(random.Random):
    """random() returns the given values in turn, then the last one forever."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self._values = list(values)

    def random(self) -> float:
        return self._values.pop(0) if len(self._values) > 1 else self._values[0]


def make_reflector(lw: ScriptedListerWatcher, store: RecordingStore, clock: FakeClock,
                   **options: Any) -> Reflector:
    options.setdefault("backoff", Backoff(initial=0.0, clock=clock))
    options.setdefault("rng", random.Random(7))
    return Reflector(lw, store, name="pods", clock=clock, **options)


def synced(lw: ScriptedListerWatcher, store: RecordingStore, clock: FakeClock, *, rv: str = "10",
           **options: Any) -> Reflector:
    """A Reflector that has listed ``a`` at ``rv`` and is about to watch."""
    lw.on_list([pod("a", "9")], rv)
    reflector = make_reflector(lw, store, clock, **options)
    assert reflector.step() is State.WATCH
    return reflector


def steps(reflector: Reflector, *expected: State) -> None:
    """Step once per expected state, checking each transition."""
    for number, state in enumerate(expected):
        got = reflector.step()
        assert got is state, f"step {number + 1}: {got} instead of {state}"
        assert reflector.state is state


# -- 1.1 watch timeout ---------------------------------------------------------------------------


def test_1_1_watch_asks_for_a_timeout_in_300_to_600_seconds(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rng=FixedRandom(0.0, 0.999999))
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    lister_watcher.on_watch(event("ADDED", "c", "12"))
    steps(reflector, State.WATCH, State.WATCH)
    assert [call.timeout_seconds for call in lister_watcher.watch_calls] == [300, 599]
    # With no inactivity timeout set, every watch is read with the default one.
    assert [call.inactivity_timeout for call in lister_watcher.watch_calls] == [DEFAULT_INACTIVITY_TIMEOUT] * 2


def test_1_1_short_watch_is_read_with_its_own_timeout_plus_grace_when_below_the_default(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rng=FixedRandom(0.0), min_watch_timeout=10.0)
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.WATCH)
    assert lister_watcher.watch_calls[0].inactivity_timeout == 10 + WATCH_CLOSE_GRACE


def test_1_1_random_watch_timeouts_stay_in_300_to_600_seconds(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rng=random.Random(1))
    for number in range(50):
        lister_watcher.on_watch(event("ADDED", "b", str(11 + number)))
        steps(reflector, State.WATCH)
    assert all(300 <= call.timeout_seconds < 600 for call in lister_watcher.watch_calls)
    assert len({call.timeout_seconds for call in lister_watcher.watch_calls}) > 1


def test_1_1_inactivity_timeout_option_replaces_the_read_timeout(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, inactivity_timeout=45.0)
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.WATCH)
    assert lister_watcher.watch_calls[0].inactivity_timeout == 45.0


def test_quiet_watch_silent_for_the_default_inactivity_timeout_is_reopened_without_a_relist(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")  # no inactivity_timeout given
    silent = lister_watcher.on_watch(lambda: clock.step(DEFAULT_INACTIVITY_TIMEOUT),
                                     errors.WatchStalledError("delivered nothing for 90 s"))
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.WATCH, State.WATCH)
    assert lister_watcher.watch_calls[0].inactivity_timeout == DEFAULT_INACTIVITY_TIMEOUT < 120
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "10"]
    assert (reflector.stats.lists, reflector.stats.relists, reflector.stats.stalls) == (1, 0, 1)
    assert silent.closed
    assert recording_store.versions() == {"a": "9", "b": "11"}


def test_stuck_uses_the_default_inactivity_timeout(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock)
    assert reflector.inactivity_limit() == DEFAULT_INACTIVITY_TIMEOUT
    clock.step(DEFAULT_INACTIVITY_TIMEOUT)
    assert not reflector.stuck()
    clock.step(0.5)
    assert reflector.stuck()


def test_stuck_uses_the_inactivity_timeout_option(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, inactivity_timeout=20.0)
    assert reflector.inactivity_limit() == 20.0
    clock.step(20.5)
    assert reflector.stuck()


# -- 1.5 / 1.6 / 1.7 list -------------------------------------------------------------------------


def test_1_5_first_list_asks_resource_version_0_in_pages_of_500(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list([pod("a", "3"), pod("b", "4")], "10")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    assert reflector.state is State.LIST
    steps(reflector, State.WATCH)
    assert lister_watcher.calls == [lister_watcher.list_calls[0]]
    call = lister_watcher.list_calls[0]
    assert (call.resource_version, call.limit, call.continue_token) == ("0", 500, None)
    assert call.resource_version_match is None
    assert recording_store.log == [("replace", "10", "a", "b")]
    assert reflector.last_sync_resource_version == "10"


def test_1_5_relist_asks_the_last_synced_resource_version_with_paging_off(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(event("MODIFIED", "a", "15"), status(410, "Expired", "too old resource version"))
    lister_watcher.on_list([pod("a", "15")], "20")
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH)
    relist = lister_watcher.list_calls[1]
    assert (relist.resource_version, relist.limit, relist.continue_token) == ("15", None, None)
    assert recording_store.log[-1] == ("replace", "20", "a")
    assert reflector.last_sync_resource_version == "20"
    assert reflector.stats.relists == 1


def test_1_5_list_after_the_resource_version_was_unavailable_asks_empty_until_a_list_succeeds(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list_error(errors.Gone(410, "too old", reason="Expired"))
    lister_watcher.on_list_error(errors.ServerError(500, "etcd unavailable"))
    lister_watcher.on_list([pod("a", "29")], "30")
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list([pod("a", "29")], "31")
    steps(reflector, State.BACKOFF, State.LIST, State.BACKOFF, State.LIST, State.WATCH,
          State.BACKOFF, State.LIST, State.WATCH)
    assert [call.resource_version for call in lister_watcher.list_calls] == ["0", "10", "", "", "30"]
    # semantics 1.6: "" is paged like "0"; a specific RV is not.
    assert [call.limit for call in lister_watcher.list_calls] == [500, None, 500, 500, None]


def test_1_6_continue_pages_send_the_token_and_no_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list([pod("a", "1")], "10", continue_token="c1")
    lister_watcher.on_list([pod("b", "2")], "10", continue_token="c2")
    lister_watcher.on_list([pod("c", "3")], "10")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    steps(reflector, State.WATCH)
    assert [(c.resource_version, c.limit, c.continue_token) for c in lister_watcher.list_calls] == [
        ("0", 500, None), (None, 500, "c1"), (None, 500, "c2")]
    assert recording_store.log == [("replace", "10", "a", "b", "c")]


def test_1_6_relist_keeps_paging_after_a_paginated_result_at_0(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list([pod("a", "1")], "10", continue_token="c1")
    lister_watcher.on_list([pod("b", "2")], "10")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list([pod("a", "1"), pod("b", "2")], "12")
    steps(reflector, State.WATCH, State.BACKOFF, State.LIST, State.WATCH)
    relist = lister_watcher.list_calls[2]
    assert (relist.resource_version, relist.limit, relist.continue_token) == ("10", 500, None)


def test_1_6_paginated_result_at_empty_resource_version_does_not_turn_paging_on(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    # etcd pages every list at "", watch cache or not; only a paged answer at "0" shows the cache is off.
    reflector = synced(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list_error(errors.Gone(410, "too old", reason="Expired"))
    lister_watcher.on_list([pod("a", "1")], "20", continue_token="c1")
    lister_watcher.on_list([pod("b", "2")], "20")
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list([pod("a", "1"), pod("b", "2")], "21")
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH, State.BACKOFF, State.LIST, State.WATCH)
    assert [(c.resource_version, c.limit, c.continue_token) for c in lister_watcher.list_calls] == [
        ("0", 500, None), ("10", None, None), ("", 500, None), (None, 500, "c1"), ("20", None, None)]


def test_1_6_expired_continue_falls_back_to_one_full_list_with_no_limit(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list([pod("a", "1")], "10", continue_token="c1")
    lister_watcher.on_list_error(errors.Gone(410, "continue token expired", reason="Expired"))
    lister_watcher.on_list([pod("a", "1"), pod("b", "2"), pod("c", "3")], "14")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    steps(reflector, State.WATCH)
    assert [(c.resource_version, c.limit, c.continue_token) for c in lister_watcher.list_calls] == [
        ("0", 500, None), (None, 500, "c1"), ("0", None, None)]
    # The full list replaces the store alone: the first page's items are not kept beside it.
    assert recording_store.log == [("replace", "14", "a", "b", "c")]
    assert reflector.last_sync_resource_version == "14"


@pytest.mark.parametrize("failure", [
    errors.ServerError(500, "etcd leader changed"),
    errors.TransportError("connection reset"),
], ids=["server-error", "connection-reset"])
def test_1_6_list_page_failing_midway_backs_off_then_lists_again_from_the_first_page(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: errors.KubeError) -> None:
    lister_watcher.on_list([pod("a", "1")], "10", continue_token="c1")
    lister_watcher.on_list_error(failure)
    lister_watcher.on_list([pod("a", "1")], "11", continue_token="c2")
    lister_watcher.on_list([pod("b", "2")], "11")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    steps(reflector, State.BACKOFF)
    assert recording_store.log == []
    steps(reflector, State.LIST, State.WATCH)
    assert [(c.resource_version, c.limit, c.continue_token) for c in lister_watcher.list_calls] == [
        ("0", 500, None), (None, 500, "c1"), ("0", 500, None), (None, 500, "c2")]
    assert recording_store.log == [("replace", "11", "a", "b")]


@pytest.mark.parametrize("failure", [
    errors.Gone(410, "too old resource version", reason="Expired"),
    errors.Gone(410, "gone", reason="Gone"),
    errors.ServerTimeout(504, "Too large resource version: 99, current: 20", reason="Timeout"),
    errors.ServerTimeout(504, "timeout", reason="Timeout",
                         details={"causes": [{"reason": "ResourceVersionTooLarge"}]}),
], ids=["expired", "gone", "too-large-message", "too-large-cause"])
def test_1_7_expired_list_retries_once_at_empty_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: errors.ApiError) -> None:
    reflector = synced(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list_error(failure)
    lister_watcher.on_list([pod("a", "39")], "40")
    steps(reflector, State.BACKOFF, State.LIST)  # every relist waits its backoff (semantics 1.3) ...
    steps(reflector, State.WATCH)  # ... but both lists run in this one step, with no backoff between
    assert [(c.resource_version, c.limit) for c in lister_watcher.list_calls] == [
        ("0", 500), ("10", None), ("", 500)]
    assert recording_store.log[-1] == ("replace", "40", "a")
    assert reflector.last_sync_resource_version == "40"


def test_1_7_first_list_that_expires_is_retried_at_empty_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list_error(errors.Gone(410, "too old", reason="Expired"))
    lister_watcher.on_list([pod("a", "1")], "5")
    reflector = make_reflector(lister_watcher, recording_store, clock)
    steps(reflector, State.WATCH)
    assert [c.resource_version for c in lister_watcher.list_calls] == ["0", ""]


def test_1_7_retry_at_empty_resource_version_happens_once_then_backs_off(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_list_error(errors.Gone(410, "too old", reason="Expired"))
    lister_watcher.on_list_error(errors.Gone(410, "too old", reason="Expired"))
    lister_watcher.on_list([pod("a", "50")], "50")
    steps(reflector, State.BACKOFF, State.LIST, State.BACKOFF)
    assert [c.resource_version for c in lister_watcher.list_calls] == ["0", "10", ""]
    steps(reflector, State.LIST, State.WATCH)
    assert [c.resource_version for c in lister_watcher.list_calls] == ["0", "10", "", ""]
    assert recording_store.log[-1] == ("replace", "50", "a")


@pytest.mark.parametrize("failure", [
    errors.Forbidden(403, "pods is forbidden"),
    errors.ServerError(500, "internal error"),
    errors.TooManyRequests(429, "slow down"),
    errors.TransportError("connection refused"),
], ids=["forbidden", "server-error", "throttled", "transport"])
def test_1_7_other_list_errors_back_off_then_list_again_at_the_same_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: errors.KubeError) -> None:
    lister_watcher.on_list_error(failure)
    lister_watcher.on_list([pod("a", "1")], "5")
    seen: list[BaseException] = []
    reflector = make_reflector(lister_watcher, recording_store, clock, on_watch_error=seen.append)
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH)
    assert [c.resource_version for c in lister_watcher.list_calls] == ["0", "0"]
    assert seen == [failure]
    assert reflector.stats.errors == 1


# -- 1.8 / 1.9 / 1.10 watch -------------------------------------------------------------------------


def test_1_8_watch_starts_from_the_list_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.WATCH)
    watch = lister_watcher.watch_calls[0]
    assert (watch.resource_version, watch.send_initial_events) == ("10", False)
    assert reflector.stats.watches == 1


def test_1_8_bookmarks_advance_the_resource_version_the_next_watch_starts_from(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(bookmark("25"))
    lister_watcher.on_watch(bookmark("31"))
    steps(reflector, State.WATCH, State.WATCH)
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "25"]
    assert reflector.last_sync_resource_version == "31"
    assert reflector.stats.bookmarks == 2
    assert recording_store.log == [("replace", "10", "a")]


def test_1_9_events_map_to_store_calls_and_the_resource_version_is_recorded_after_each(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    seen: list[str] = []

    def look() -> None:
        seen.append(reflector.last_sync_resource_version)

    lister_watcher.on_watch(event("ADDED", "b", "11"), look, event("MODIFIED", "b", "12"), look,
                            event("DELETED", "a", "13"), look, bookmark("14"), look)
    steps(reflector, State.WATCH)
    assert seen == ["11", "12", "13", "14"]
    assert recording_store.log[1:] == [("add", "b", "11"), ("update", "b", "12"), ("delete", "a", "13")]
    assert recording_store.versions() == {"b": "12"}
    assert (reflector.stats.events, reflector.stats.bookmarks) == (3, 1)


@pytest.mark.parametrize("bad", [
    WatchEvent("ADDED", {"kind": "Pod", "apiVersion": "v1"}),
    WatchEvent("ADDED", {"kind": "Pod", "metadata": {"name": "x", "namespace": "ns"}}),
    WatchEvent("MODIFIED", {"kind": "Pod", "metadata": {"name": "x", "resourceVersion": 17}}),
    WatchEvent("SOMETHING", pod("x", "17")),
], ids=["no-metadata", "no-resource-version", "numeric-resource-version", "unknown-type"])
def test_1_9_event_that_is_not_a_valid_object_is_skipped_and_the_next_event_applied(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        bad: WatchEvent) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"), bad, event("ADDED", "c", "12"))
    steps(reflector, State.WATCH)
    assert reflector.stats.skipped_events == 1
    assert recording_store.log[1:] == [("add", "b", "11"), ("add", "c", "12")]
    assert reflector.last_sync_resource_version == "12"


def test_1_10_watch_ended_by_the_server_is_reopened_from_the_last_rv_without_a_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    lister_watcher.on_watch(event("ADDED", "c", "12"))
    steps(reflector, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "11"]
    assert reflector.stats.rewatches == 2


def test_1_10_quiet_watch_that_lasted_a_while_is_reopened_without_a_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(lambda: clock.step(300.0))
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert reflector.stats.errors == 0


def test_1_10_very_short_empty_watch_backs_off_then_relists(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    seen: list[BaseException] = []
    reflector = synced(lister_watcher, recording_store, clock, rv="10", on_watch_error=seen.append)
    lister_watcher.on_watch(lambda: clock.step(0.5))
    lister_watcher.on_list([pod("a", "9")], "11")
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "list"]
    assert lister_watcher.list_calls[1].resource_version == "10"
    assert reflector.stats.errors == 1
    assert "very short watch" in str(seen[0])


# -- 1.11 watch errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [
    RequestNotSentError("connection refused"),
    errors.TransportError("connection reset while opening"),
    errors.TooManyRequests(429, "too many requests", retry_after=1.0),
], ids=["not-sent", "transport", "throttled"])
def test_1_11_cannot_connect_or_429_opening_a_watch_backs_off_then_rewatches_without_a_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: errors.KubeError) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch_error(failure)
    lister_watcher.on_watch(event("ADDED", "b", "11"))
    steps(reflector, State.BACKOFF, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "10"]
    assert reflector.stats.errors == 1


@pytest.mark.parametrize("failure", [
    errors.Forbidden(403, "watch is forbidden"),
    errors.NotFound(404, "the server could not find the requested resource"),
    errors.ServerError(500, "internal error"),
    errors.Gone(410, "too old resource version", reason="Expired"),
], ids=["forbidden", "not-found", "server-error", "expired"])
def test_1_11_other_api_error_opening_a_watch_backs_off_then_relists_at_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: errors.ApiError) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch_error(failure)
    lister_watcher.on_list([pod("a", "9")], "12")
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "list"]
    assert (lister_watcher.list_calls[1].resource_version, lister_watcher.list_calls[1].limit) == ("10", None)


@pytest.mark.parametrize("reason", ["Expired", "Gone"])
def test_1_11_gone_in_stream_backs_off_then_relists_at_last_resource_version(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        reason: str) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"), status(410, reason, "too old resource version"),
                            event("ADDED", "c", "12"))
    lister_watcher.on_list([pod("a", "9"), pod("b", "11")], "15")
    steps(reflector, State.BACKOFF, State.LIST)
    assert recording_store.log[1:] == [("add", "b", "11")]  # nothing after the error is applied
    steps(reflector, State.WATCH)
    relist = lister_watcher.list_calls[1]
    assert (relist.resource_version, relist.limit, relist.continue_token) == ("11", None, None)
    assert reflector.stats.errors == 0


def test_1_11_429_in_stream_backs_off_then_rewatches_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    seen: list[BaseException] = []
    reflector = synced(lister_watcher, recording_store, clock, rv="10", on_watch_error=seen.append)
    lister_watcher.on_watch(event("ADDED", "b", "11"), status(429, "TooManyRequests", "slow down"))
    lister_watcher.on_watch(event("ADDED", "c", "12"))
    steps(reflector, State.BACKOFF, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "11"]
    # semantics 1.9: the ERROR event's Status becomes the error.
    assert isinstance(seen[0], errors.TooManyRequests)
    assert (seen[0].code, seen[0].message) == (429, "slow down")


@pytest.mark.parametrize(("code", "reason"), [(500, "InternalError"), (403, "Forbidden"), (504, "Timeout")])
def test_1_11_other_status_in_stream_backs_off_then_relists_at_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        code: int, reason: str) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"), status(code, reason))
    lister_watcher.on_list([pod("a", "9"), pod("b", "11")], "13")
    # client-go waits one backoff before every new list-and-watch; so does opframe here.
    steps(reflector, State.BACKOFF, State.LIST, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "list"]
    assert lister_watcher.list_calls[1].resource_version == "11"
    assert reflector.stats.errors == 1


def test_1_11_stalled_stream_is_reopened_from_the_last_rv_without_a_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    first = lister_watcher.on_watch(event("ADDED", "b", "11"),
                                    errors.WatchStalledError("delivered nothing for 330 s"))
    lister_watcher.on_watch(event("ADDED", "c", "12"))
    steps(reflector, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "11"]
    assert reflector.stats.stalls == 1
    assert first.closed


def test_1_11_dropped_stream_is_reopened_from_the_last_rv_without_a_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = synced(lister_watcher, recording_store, clock, rv="10")
    lister_watcher.on_watch(event("ADDED", "b", "11"), event("MODIFIED", "b", "12"),
                            errors.TransportError("connection reset by peer"))
    lister_watcher.on_watch(event("ADDED", "c", "13"))
    steps(reflector, State.WATCH, State.WATCH)
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "12"]
    assert reflector.stats.stalls == 0
    assert recording_store.versions() == {"a": "9", "b": "12", "c": "13"}


# -- 1.14 streaming watch-list --------------------------------------------------------------------


def test_1_14_watch_list_buffers_initial_adds_and_replaces_the_store_at_the_end_bookmark(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = make_reflector(lister_watcher, recording_store, clock, use_watch_list=True)
    assert reflector.state is State.WATCH_LIST
    log_at_bookmark: list[list[tuple[str, ...]]] = []
    lister_watcher.on_watch(event("ADDED", "a", "5"), event("ADDED", "b", "6"),
                            lambda: log_at_bookmark.append(list(recording_store.log)),
                            bookmark("7", end=True), event("MODIFIED", "a", "8"))
    lister_watcher.on_watch(event("ADDED", "c", "9"))
    steps(reflector, State.WATCH)
    assert log_at_bookmark == [[]]  # nothing reached the store before the end bookmark
    assert recording_store.log == [("replace", "7", "a", "b"), ("update", "a", "8")]
    assert reflector.last_sync_resource_version == "8"
    assert lister_watcher.list_calls == []
    first = lister_watcher.watch_calls[0]
    assert (first.resource_version, first.send_initial_events) == (None, True)
    steps(reflector, State.WATCH)
    assert (lister_watcher.watch_calls[1].resource_version,
            lister_watcher.watch_calls[1].send_initial_events) == ("8", False)


@pytest.mark.parametrize("failure", [
    status(410, "Expired"),
    status(500, "InternalError"),
    errors.TransportError("connection reset by peer"),
    errors.WatchStalledError("delivered nothing for 330 s"),
    None,  # the stream ends before the initial events do
], ids=["expired", "status", "dropped", "stalled", "ended"])
def test_1_14_error_before_the_end_falls_back_to_a_first_plain_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: WatchEvent | errors.KubeError | None) -> None:
    reflector = make_reflector(lister_watcher, recording_store, clock, use_watch_list=True)
    script: list[WatchEvent | errors.KubeError] = [event("ADDED", "a", "5"), bookmark("6")]
    if failure is not None:
        script.append(failure)
    lister_watcher.on_watch(*script)
    lister_watcher.on_list([pod("a", "5")], "7")
    steps(reflector, State.LIST)
    assert reflector.use_watch_list is False
    assert recording_store.log == []
    # Nothing was synced, so this is a first list: RV "0", paged.
    steps(reflector, State.WATCH)
    assert (lister_watcher.list_calls[0].resource_version, lister_watcher.list_calls[0].limit) == ("0", 500)
    assert recording_store.log == [("replace", "7", "a")]


def test_1_14_watch_list_that_cannot_open_falls_back_to_a_plain_list(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = make_reflector(lister_watcher, recording_store, clock, use_watch_list=True)
    lister_watcher.on_watch_error(errors.BadRequest(400, "sendInitialEvents is not supported"))
    lister_watcher.on_list([pod("a", "5")], "7")
    steps(reflector, State.LIST, State.WATCH)
    assert reflector.use_watch_list is False
    assert lister_watcher.kinds() == ["watch", "list"]


def watch_listed(lw: ScriptedListerWatcher, store: RecordingStore, clock: FakeClock) -> Reflector:
    """A Reflector with streaming lists on that has streamed ``a`` (synced at RV 7) and is watching."""
    reflector = make_reflector(lw, store, clock, use_watch_list=True)
    lw.on_watch(event("ADDED", "a", "5"), bookmark("7", end=True))
    steps(reflector, State.WATCH)
    return reflector


def test_1_14_relist_after_410_streams_too_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    """A relist is a streaming list while they are on: no unpaged LIST of every object."""
    reflector = watch_listed(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(event("ADDED", "b", "8"), status(410, "Expired", "too old resource version"))
    lister_watcher.on_watch(event("ADDED", "a", "5"), event("ADDED", "c", "9"), bookmark("10", end=True))
    steps(reflector, State.BACKOFF, State.WATCH_LIST, State.WATCH)
    assert lister_watcher.list_calls == []
    relist = lister_watcher.watch_calls[-1]
    assert (relist.resource_version, relist.send_initial_events) == ("8", True)
    assert recording_store.log[-1] == ("replace", "10", "a", "c")  # b is gone: the replace drops it
    assert reflector.stats.relists == 1 and reflector.use_watch_list


@pytest.mark.parametrize("failure", [
    errors.TransportError("connection reset by peer"),
    errors.WatchStalledError("delivered nothing for 330 s"),
    status(500, "InternalError"),
    status(429, "TooManyRequests"),
    None,  # the stream ends before the initial events do
], ids=["dropped", "stalled", "status-500", "status-429", "ended"])
def test_1_14_relist_that_fails_for_a_passing_reason_backs_off_and_streams_again(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        failure: WatchEvent | errors.KubeError | None) -> None:
    reflector = watch_listed(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    script: list[WatchEvent | errors.KubeError] = [event("ADDED", "a", "5")]
    if failure is not None:
        script.append(failure)
    lister_watcher.on_watch(*script)
    lister_watcher.on_watch(event("ADDED", "a", "5"), bookmark("12", end=True))
    steps(reflector, State.BACKOFF, State.WATCH_LIST, State.BACKOFF, State.WATCH_LIST, State.WATCH)
    assert lister_watcher.list_calls == [] and reflector.use_watch_list
    assert recording_store.log[-1] == ("replace", "12", "a")


def test_1_14_relist_whose_resource_version_expired_streams_the_newest_state(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = watch_listed(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_watch(status(410, "Expired", "too old resource version: 7"))
    lister_watcher.on_watch(event("ADDED", "a", "5"), bookmark("20", end=True))
    lister_watcher.on_watch(event("ADDED", "b", "21"))
    steps(reflector, State.BACKOFF, State.WATCH_LIST, State.BACKOFF, State.WATCH_LIST, State.WATCH, State.WATCH)
    assert [(c.resource_version, c.send_initial_events) for c in lister_watcher.watch_calls[2:]] == [
        ("7", True), (None, True), ("20", False)]


def test_1_14_relist_the_server_refuses_to_stream_lists_from_then_on(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = watch_listed(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(status(410, "Expired"))
    lister_watcher.on_watch_error(errors.BadRequest(400, "sendInitialEvents is not supported"))
    lister_watcher.on_list([pod("a", "5")], "30")
    steps(reflector, State.BACKOFF, State.WATCH_LIST, State.BACKOFF, State.LIST, State.WATCH)
    assert reflector.use_watch_list is False
    assert lister_watcher.list_calls[0].resource_version == "7"


# -- stop ------------------------------------------------------------------------------------------


def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + JOIN_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def test_stop_ends_run_while_watching(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list([pod("a", "9")], "10")
    stream = lister_watcher.on_watch(hold_open=True)
    reflector = make_reflector(lister_watcher, recording_store, clock)
    runner = threading.Thread(target=reflector.run, daemon=True)
    runner.start()
    wait_until(reflector.is_watching, "the watch")
    reflector.stop()
    runner.join(JOIN_SECONDS)
    assert not runner.is_alive()
    assert reflector.state is State.STOPPED
    assert stream.closed


def test_stop_ends_run_during_a_backoff(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list_error(errors.ServerError(500, "down"))
    reflector = make_reflector(lister_watcher, recording_store, clock,
                               backoff=Backoff(initial=30.0, clock=clock))
    runner = threading.Thread(target=reflector.run, daemon=True)
    runner.start()
    wait_until(lambda: reflector.state is State.BACKOFF, "the backoff")
    reflector.stop()
    runner.join(JOIN_SECONDS)
    assert not runner.is_alive()
    assert reflector.state is State.STOPPED
    assert lister_watcher.kinds() == ["list"]


# -- wedged: the loop is not running --------------------------------------------------------------

WEDGED_LIMIT = 300.0


class HangingListerWatcher:
    """Every list blocks until ``release`` is set: a request hung past every timeout."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.release = threading.Event()

    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage:
        self.called.set()
        assert self.release.wait(JOIN_SECONDS * 5)
        raise errors.TransportError("released")

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> Any:
        raise AssertionError("not scripted")


def test_wedged_when_a_request_hangs_past_the_limit(recording_store: RecordingStore, clock: FakeClock) -> None:
    hanging = HangingListerWatcher()
    reflector = Reflector(hanging, recording_store, clock=clock, backoff=Backoff(initial=30.0, clock=clock))
    runner = threading.Thread(target=reflector.run, daemon=True)
    runner.start()
    try:
        assert hanging.called.wait(JOIN_SECONDS)
        assert reflector.stats.last_attempt == clock.now()
        clock.step(WEDGED_LIMIT)
        assert not reflector.wedged(limit=WEDGED_LIMIT)
        clock.step(1.0)
        assert reflector.wedged(limit=WEDGED_LIMIT)
        assert reflector.wedged(now=clock.now() - 2.0, limit=WEDGED_LIMIT) is False
    finally:
        reflector.stop()
        hanging.release.set()
        runner.join(JOIN_SECONDS)
    assert reflector.state is State.STOPPED
    assert not reflector.wedged(limit=WEDGED_LIMIT)  # a stopped Reflector is not wedged


def test_wedged_when_nobody_runs_the_loop(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    reflector = make_reflector(lister_watcher, recording_store, clock)  # run() never called: a dead thread
    clock.step(WEDGED_LIMIT)
    assert not reflector.wedged(limit=WEDGED_LIMIT)
    clock.step(1.0)
    assert reflector.wedged(limit=WEDGED_LIMIT)


def test_not_wedged_while_the_api_server_is_unreachable(recording_store: RecordingStore) -> None:
    # A clock that moves by every wait's timeout: the Reflector backs off in fake time, in this thread.
    class SteppingClock(FakeClock):
        def wait(self, condition: threading.Condition, timeout: float | None) -> None:
            assert timeout is not None
            self.step(timeout)

    clock = SteppingClock()
    refused = ScriptedListerWatcherOfFailures(errors.TransportError("connection refused"))
    reflector = Reflector(refused, recording_store, clock=clock,
                          backoff=Backoff(clock=clock, rng=FixedRandom(0.999999)))
    start = clock.now()
    while clock.now() - start < 3600.0:  # an hour of refused connections
        assert reflector.step() in (State.BACKOFF, State.LIST)
        # The longest quiet stretch is one capped backoff delay (under 60 s) plus the request.
        assert not reflector.wedged(limit=61.0)
    assert reflector.stats.lists > 60
    assert reflector.stats.last_activity == 0.0  # no news at all, yet not wedged


def test_last_attempt_is_set_when_a_list_or_watch_starts_and_when_a_backoff_ends(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    seen: list[float] = []
    reflector = make_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_list([pod("a", "9")], "10")
    clock.step(5.0)
    steps(reflector, State.WATCH)
    assert reflector.stats.last_attempt == clock.now()  # the LIST
    lister_watcher.on_watch(lambda: seen.append(reflector.stats.last_attempt), event("ADDED", "b", "11"))
    clock.step(5.0)
    steps(reflector, State.WATCH)
    assert seen == [clock.now()]  # the WATCH
    lister_watcher.on_watch_error(errors.TooManyRequests(429, "slow down"))
    clock.step(5.0)
    steps(reflector, State.BACKOFF)
    clock.step(5.0)
    steps(reflector, State.WATCH)  # the (zero) backoff wait ends; the WATCH comes next step
    assert reflector.stats.last_attempt == clock.now()
    assert len(lister_watcher.watch_calls) == 2


class ScriptedListerWatcherOfFailures:
    """Every list and watch fails with the same error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage:
        raise self.error

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> Any:
        raise self.error


# -- 1.2 / 1.3 backoff between list/watch attempts, on a FakeClock ---------------------------------


#: How long a test lets a thread run to show that it is still waiting.
STILL_WAITING_SECONDS = 0.03


class RecordingBackoff(Backoff):
    """Keeps each delay the real policy gives, and has the Reflector wait none of it."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock, rng=FixedRandom(0.0))
        self.delays: list[float] = []

    def next_delay(self) -> float:
        self.delays.append(super().next_delay())
        return 0.0


def test_1_3_each_failed_attempt_waits_one_backoff_delay_growing_until_success(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    for _ in range(3):
        lister_watcher.on_list_error(errors.ServerError(500, "down"))
    lister_watcher.on_list([], "10")
    backoff = RecordingBackoff(clock)
    reflector = Reflector(lister_watcher, recording_store, clock=clock, backoff=backoff)
    states = [reflector.step() for _ in range(7)]
    assert states == [State.BACKOFF, State.LIST] * 3 + [State.WATCH]
    assert backoff.delays == pytest.approx([0.8, 1.6, 3.2])
    assert lister_watcher.kinds() == ["list"] * 4


def test_1_2_backoff_step_waits_on_the_clock_for_the_whole_delay(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock) -> None:
    lister_watcher.on_list_error(errors.ServerError(500, "down"))
    reflector = Reflector(lister_watcher, recording_store, clock=clock,
                          backoff=Backoff(clock=clock, rng=FixedRandom(0.0)))
    assert reflector.step() is State.BACKOFF
    waiter = threading.Thread(target=reflector.step, daemon=True)
    waiter.start()
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    clock.step(0.5)
    waiter.join(STILL_WAITING_SECONDS)
    assert waiter.is_alive()
    clock.step(0.3)  # 0.8 s in all: the first delay
    waiter.join(JOIN_SECONDS)
    assert not waiter.is_alive()
    assert reflector.state is State.LIST
    assert lister_watcher.kinds() == ["list"]


# -- the one backoff rule: when a LIST or a re-opened WATCH waits ----------------------------------


class SteppingClock(FakeClock):
    """A FakeClock that moves by the whole timeout of every wait, as if the wait had run its course.

    A Reflector stepped in the test's own thread then backs off in fake time without a
    second thread: ``clock.now()`` before and after a step shows how long it waited.
    """

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        assert timeout is not None, "a wait without a timeout would never end here"
        self.step(timeout)


def expired() -> WatchEvent:
    return WatchEvent("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})


def stepping_reflector(lister_watcher: ScriptedListerWatcher, store: RecordingStore,
                       clock: SteppingClock, **options: Any) -> Reflector:
    """A Reflector with the real backoff policy (no jitter) that has listed at RV 10."""
    lister_watcher.on_list([pod("a", "9")], "10")
    reflector = Reflector(lister_watcher, store, clock=clock, backoff=Backoff(clock=clock, rng=FixedRandom(0.0)),
                          rng=random.Random(1), **options)
    assert reflector.step() is State.WATCH
    return reflector


def test_watch_reset_right_after_its_headers_is_reopened_only_as_often_as_the_backoff_allows(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    opened: list[float] = []
    for _ in range(20):  # a proxy that answers every watch, then resets it at once
        lister_watcher.on_watch(lambda: opened.append(clock.now()), errors.TransportError("connection reset by peer"))
    start = clock.now()
    while clock.now() - start < 60.0:
        reflector.step()
    # Backoff delays 0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s: 7 attempts in the first minute, not hundreds.
    assert [round(t - start, 6) for t in opened] == pytest.approx([0.0, 0.8, 2.4, 5.6, 12.0, 24.8, 50.4])
    assert lister_watcher.kinds() == ["list"] + ["watch"] * 7  # re-watched from the last RV, never relisted
    assert {call.resource_version for call in lister_watcher.watch_calls} == {"10"}
    assert reflector.stats.errors == 7


def test_watch_reset_with_random_jitter_makes_at_most_one_attempt_per_backoff_delay(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    lister_watcher.on_list([pod("a", "9")], "10")
    reflector = Reflector(lister_watcher, recording_store, clock=clock,
                          backoff=Backoff(clock=clock, rng=random.Random(11)), rng=random.Random(1))
    reflector.step()
    for _ in range(40):
        lister_watcher.on_watch(errors.TransportError("connection reset by peer"))
    start = clock.now()
    while clock.now() - start < 300.0:
        reflector.step()
    # Each delay is in [d, 2d) for d = 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, then 30 s: 10 to 15 attempts in 300 s.
    attempts = len(lister_watcher.watch_calls)
    assert 10 <= attempts <= 15


def test_watch_ended_at_once_by_the_server_waits_a_backoff_then_relists(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch()  # closed cleanly at once, nothing delivered: semantics 1.10
    lister_watcher.on_list([pod("a", "9")], "11")
    assert reflector.step() is State.BACKOFF
    before = clock.now()
    assert reflector.step() is State.LIST
    assert clock.now() - before == pytest.approx(0.8)


def test_gone_in_stream_waits_a_backoff_before_the_relist(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(WatchEvent("ADDED", pod("b", "11")), expired())
    lister_watcher.on_list([pod("a", "9"), pod("b", "11")], "12")
    assert reflector.step() is State.BACKOFF
    assert lister_watcher.kinds() == ["list", "watch"]
    before = clock.now()
    assert reflector.step() is State.LIST
    assert clock.now() - before == pytest.approx(0.8)
    assert lister_watcher.kinds() == ["list", "watch"]  # the relist comes only after the wait
    assert reflector.step() is State.WATCH
    assert lister_watcher.list_calls[1].resource_version == "11"
    assert reflector.stats.errors == 0  # an expired watch is routine, not an error


def test_gone_on_every_watch_never_relists_in_a_tight_loop(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    for number in range(10):
        lister_watcher.on_watch(expired())
        lister_watcher.on_list([pod("a", "9")], str(11 + number))
    start = clock.now()
    while clock.now() - start < 60.0:
        reflector.step()
    # A relist after each backoff delay (0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s): 6 in the first minute.
    assert len(lister_watcher.list_calls) == 1 + 6


@pytest.mark.parametrize("ending", ["ended", "dropped"])
def test_healthy_watch_that_ends_is_reopened_at_once_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, ending: str) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    script: list[Any] = [WatchEvent("ADDED", pod("b", "11"))]
    if ending == "dropped":
        script.append(errors.TransportError("connection reset by peer"))
    lister_watcher.on_watch(*script)
    lister_watcher.on_watch(WatchEvent("ADDED", pod("c", "12")))
    before = clock.now()
    assert [reflector.step(), reflector.step()] == [State.WATCH, State.WATCH]
    assert clock.now() == before  # no backoff delay
    assert reflector.stats.errors == 0
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "11"]


def test_quiet_watch_that_lasted_past_the_very_short_limit_and_broke_is_reopened_at_once(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(lambda: clock.step(1.0), errors.TransportError("connection reset by peer"))
    assert reflector.step() is State.WATCH
    assert reflector.stats.errors == 0


def test_stall_of_a_long_open_watch_is_reopened_at_once_from_the_last_rv(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch(lambda: clock.step(90.0), errors.WatchStalledError("delivered nothing for 90 s"))
    lister_watcher.on_watch(WatchEvent("ADDED", pod("b", "11")))
    after_stall: list[float] = []
    assert reflector.step() is State.WATCH
    after_stall.append(clock.now())
    assert reflector.step() is State.WATCH
    assert clock.now() == after_stall[0]  # re-opened with no backoff delay
    assert lister_watcher.kinds() == ["list", "watch", "watch"]
    assert [call.resource_version for call in lister_watcher.watch_calls] == ["10", "10"]
    assert (reflector.stats.stalls, reflector.stats.errors, reflector.stats.lists) == (1, 0, 1)


@pytest.mark.parametrize("failure", [
    errors.TransportError("connection refused"),
    errors.TooManyRequests(429, "slow down"),
], ids=["transport", "throttled"])
def test_watch_that_cannot_open_waits_a_backoff_before_the_next_attempt(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, failure: errors.KubeError) -> None:
    clock = SteppingClock()
    reflector = stepping_reflector(lister_watcher, recording_store, clock)
    lister_watcher.on_watch_error(failure)
    lister_watcher.on_watch_error(failure)
    assert reflector.step() is State.BACKOFF
    before = clock.now()
    assert [reflector.step() for _ in range(3)] == [State.WATCH, State.BACKOFF, State.WATCH]
    assert clock.now() - before == pytest.approx(0.8 + 1.6)


@pytest.mark.parametrize(("error", "level"), [
    (errors.TooManyRequests(429, "the watch cache is initializing"), logging.INFO),
    (errors.TransportError("connection reset by peer"), logging.INFO),
    (errors.Gone(410, "too old resource version"), logging.DEBUG),
    (errors.ApiError(500, "etcd is down"), logging.ERROR),
])
def test_1_12_watch_errors_are_logged_at_their_level(
        lister_watcher: ScriptedListerWatcher, recording_store: RecordingStore, clock: FakeClock,
        caplog: pytest.LogCaptureFixture, error: errors.KubeError, level: int) -> None:
    """A 429 (kube-apiserver's watch cache initialising, at a fresh cluster's start) is retried after a
    backoff: info, as client-go logs it, never an ERROR line in a healthy start."""
    reflector = make_reflector(lister_watcher, recording_store, clock)
    with caplog.at_level(logging.DEBUG, logger="opframe"):
        reflector._log_watch_error(error)
    [record] = [r for r in caplog.records if r.name.startswith("opframe")]
    assert record.levelno == level, record.getMessage()
