"""LoopPool (opframe.runtime.execution.loops): async handlers on loops that a blocking coroutine cannot
stall for later ones.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from opframe.runtime.execution.loops import BLOCKED_AFTER, LoopPool


def test_coroutines_of_different_callers_run_concurrently(pool: LoopPool) -> None:
    async def nap() -> float:
        await asyncio.sleep(0.3)
        return time.monotonic()

    started = time.monotonic()
    futures = [pool.submit(nap()) for _ in range(50)]
    ends = [future.result(10) for future in futures]
    # 50 naps of 0.3 s, one after another, would take 15 s; together they end within one nap's span.
    assert max(ends) - started < 0.3 * 10


def test_a_blocking_coroutine_does_not_stall_coroutines_submitted_after_it(
        pool: LoopPool, caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    async def blocker() -> None:
        release.wait(5)  # a blocking call inside an async def

    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "done"

    caplog.set_level(logging.WARNING, logger="opframe.loops")
    blocked = pool.submit(blocker(), name="blocker-handler ns/obj")
    time.sleep(BLOCKED_AFTER * 3)
    quick_future = pool.submit(quick(), name="quick")
    assert quick_future.result(2) == "done"
    assert not blocked.done()  # it finished while the blocker still held its loop
    assert pool.loops() >= 2
    release.set()
    blocked.result(5)
    assert any("blocker-handler ns/obj blocked its event loop" in r.getMessage() for r in caplog.records)


def test_an_idle_pool_does_not_beat(pool: LoopPool) -> None:
    pool.run(asyncio.sleep(0))
    time.sleep(0.1)
    loop = pool._loops[0]
    beat = loop.last_beat
    time.sleep(0.2)
    assert loop.last_beat == beat and not loop.beating


def test_at_close_left_over_tasks_end_or_are_cancelled_as_kopf_does() -> None:
    """A task a handler started and left running gets the grace to end, then is cancelled and runs its
    ``finally`` (kopf 1.45.2 at exit); without this it was destroyed pending, its cleanup never run."""
    seen: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.2)
        seen.append("quick ended")

    async def endless() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            seen.append("endless cancelled")

    async def handler() -> None:
        asyncio.get_running_loop().create_task(quick())
        asyncio.get_running_loop().create_task(endless())

    pool = LoopPool()
    pool.run(handler(), timeout=5)
    started = time.monotonic()
    pool.close(timeout=1.0)
    assert sorted(seen) == ["endless cancelled", "quick ended"]
    assert time.monotonic() - started < 5.0
