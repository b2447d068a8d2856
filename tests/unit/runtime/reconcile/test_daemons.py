"""DaemonKeeper and the daemons' stop flags (opframe.runtime.reconcile.daemons): the one-deadline stop
(issue 10, defect 9), restarts, finalizers, abandoned daemons.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from opframe.handlers.handler import Handler, Kind
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.reconcile.daemons import AsyncDaemonStopped, DaemonKeeper, DaemonStopped


def test_async_stopped_wait_returns_when_set_from_another_thread(pool: LoopPool) -> None:
    stopped = AsyncDaemonStopped()

    async def daemon() -> bool:
        return await stopped.wait(30)

    future = pool.submit(daemon())
    time.sleep(0.1)
    stopped.set()
    assert future.result(2) is True


def test_async_stopped_wait_times_out_false(pool: LoopPool) -> None:
    assert pool.run(AsyncDaemonStopped().wait(0.05), 2) is False


def _stubborn(**_: Any) -> None:
    time.sleep(2.0)  # ignores `stopped`


def test_stopping_many_daemons_waits_one_deadline_not_one_each(pool: LoopPool) -> None:
    keeper = DaemonKeeper(pool)
    handler = Handler(id="stubborn", fn=_stubborn, kind=Kind.DAEMON, resource=("x",))
    for i in range(5):
        keeper.start(f"ns/o{i}", handler, {})
    started = time.monotonic()
    assert keeper.stop_all(0.3) is False
    # One deadline: 0.3 s in all; one per daemon would be 1.5 s.
    assert time.monotonic() - started < 1.0
    assert keeper.tracked() == 0


def test_forget_stops_every_daemon_of_the_key(pool: LoopPool) -> None:
    keeper = DaemonKeeper(pool)
    seen: list[DaemonStopped] = []

    def polite(stopped: DaemonStopped, **_: Any) -> None:
        seen.append(stopped)
        stopped.wait(10)

    keeper.start("ns/a", Handler(id="polite", fn=polite, kind=Kind.DAEMON, resource=("x",)), {})
    while not seen:
        time.sleep(0.01)
    keeper.forget("ns/a")
    assert seen[0].is_set() and keeper.tracked() == 0


def _polite(started: list[str], release: threading.Event) -> Any:
    def polite(stopped: DaemonStopped, **_: Any) -> None:
        started.append("start")
        stopped.wait(10)
        release.wait(10)  # a slow exit: still stopping until released

    return polite


def test_a_daemon_is_not_started_again_while_its_predecessor_is_stopping(pool: LoopPool) -> None:
    exits: list[str] = []
    keeper = DaemonKeeper(pool, on_exit=exits.append)
    started: list[str] = []
    release = threading.Event()
    handler = Handler(id="slow-exit", fn=_polite(started, release), kind=Kind.DAEMON, resource=("x",))
    keeper.start("ns/a", handler, {})
    while not started:
        time.sleep(0.01)
    keeper.stop("ns/a", "slow-exit")  # filters stopped matching
    assert keeper.running("ns/a", "slow-exit"), "a stopping daemon still counts as running"
    assert exits == []
    release.set()
    deadline = time.monotonic() + 5
    while not exits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert exits == ["ns/a"], "its end has the object reconciled again"
    assert not keeper.running("ns/a", "slow-exit") and keeper.count() == 0


def test_a_deleted_objects_daemon_holds_the_finalizer_until_it_ended(pool: LoopPool) -> None:
    exits: list[str] = []
    keeper = DaemonKeeper(pool, on_exit=exits.append)
    started: list[str] = []
    release = threading.Event()
    keeper.start("ns/a", Handler(id="d", fn=_polite(started, release), kind=Kind.DAEMON, resource=("x",)), {})
    while not started:
        time.sleep(0.01)
    assert keeper.holding("ns/a")
    keeper.stop_for_deletion("ns/a")
    time.sleep(0.1)
    assert keeper.holding("ns/a"), "asked to stop, not yet ended"
    release.set()
    deadline = time.monotonic() + 5
    while keeper.holding("ns/a") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not keeper.holding("ns/a")
    assert exits == ["ns/a"]


def test_a_daemon_past_its_cancellation_timeout_is_abandoned(pool: LoopPool) -> None:
    exits: list[str] = []
    keeper = DaemonKeeper(pool, on_exit=exits.append)
    release = threading.Event()

    def stubborn(**_: Any) -> None:
        release.wait(10)  # ignores `stopped` until the test ends

    handler = Handler(id="stubborn", fn=stubborn, kind=Kind.DAEMON, resource=("x",),
                      cancellation_backoff=0.1, cancellation_timeout=0.2)
    keeper.start("ns/a", handler, {})
    time.sleep(0.05)
    asked = time.monotonic()
    keeper.stop_for_deletion("ns/a")
    assert keeper.holding("ns/a")
    while keeper.holding("ns/a") and time.monotonic() - asked < 5:
        time.sleep(0.01)
    waited = time.monotonic() - asked
    try:
        assert not keeper.holding("ns/a") and exits == ["ns/a"]
        assert waited < 3.0, "abandoned after backoff + timeout (0.3 s), while still running"
        assert not keeper.running("ns/a", "stubborn"), "an abandoned daemon may be started anew"
    finally:
        release.set()


def test_a_cancelled_async_daemon_counts_as_running_until_its_coroutine_ended(pool: LoopPool) -> None:
    """kopf's stages for async daemons: cancelled after cancellation_backoff; it still holds the
    object while its cancellation unwinds (its finally awaits), and ends then."""
    exits: list[str] = []
    keeper = DaemonKeeper(pool, on_exit=exits.append)
    unwound = threading.Event()

    async def slow_to_unwind(**_: Any) -> None:
        try:
            await asyncio.sleep(30)  # ignores `stopped`
        finally:
            await asyncio.sleep(0.5)
            unwound.set()

    handler = Handler(id="unwinding", fn=slow_to_unwind, kind=Kind.DAEMON, resource=("x",),
                      cancellation_backoff=0.1, cancellation_timeout=5.0)
    keeper.start("ns/a", handler, {})
    time.sleep(0.1)
    keeper.stop_for_deletion("ns/a")
    time.sleep(0.3)  # cancelled at 0.1 s, unwinding until 0.6 s
    assert keeper.holding("ns/a") and not unwound.is_set()
    deadline = time.monotonic() + 5
    while keeper.holding("ns/a") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert unwound.is_set() and exits == ["ns/a"]


def test_a_forgotten_keys_daemons_report_nothing_when_they_end(pool: LoopPool) -> None:
    exits: list[str] = []
    keeper = DaemonKeeper(pool, on_exit=exits.append)
    started: list[str] = []
    release = threading.Event()
    ended = threading.Event()
    polite = _polite(started, release)

    def reporting(**kwargs: Any) -> None:
        polite(**kwargs)
        ended.set()

    keeper.start("ns/a", Handler(id="d", fn=reporting, kind=Kind.DAEMON, resource=("x",)), {})
    while not started:
        time.sleep(0.01)
    keeper.forget("ns/a")
    assert keeper.tracked() == 0
    release.set()
    assert ended.wait(5)
    time.sleep(0.2)  # its end is reported (or not) right after the function returns
    assert exits == [] and keeper.tracked() == 0


def test_at_exit_daemons_get_kopfs_grace_then_are_left_behind(pool: LoopPool) -> None:
    """kopf 1.45.2 waits 5 s for hung daemons at exit, then leaves them orphaned; so does opframe,
    whatever the (longer) shutdown timeout."""
    from opframe.runtime.reconcile.daemons import EXIT_GRACE_SECONDS

    def deaf(**_: Any) -> None:
        time.sleep(EXIT_GRACE_SECONDS + 3)  # ignores `stopped`, longer than the grace

    keeper = DaemonKeeper(pool)
    keeper.start("ns/o", Handler(id="deaf", fn=deaf, kind=Kind.DAEMON, resource=("x",)), {})
    started = time.monotonic()
    assert keeper.stop_all(None) is False  # no timeout: still bounded by the grace
    assert EXIT_GRACE_SECONDS - 0.1 <= time.monotonic() - started < EXIT_GRACE_SECONDS * 3
