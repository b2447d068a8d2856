"""LoopPool: the event loops that async handlers and async daemons run on.

A worker that reaches an async handler submits the coroutine here and goes back to
the queue; it does not wait for it. Coroutines of different objects therefore run
concurrently, many per loop. A blocking call inside an ``async def`` (``time.sleep``,
a synchronous HTTP call) stalls every coroutine of its loop, so:

* each loop beats (records the time) every ``HEARTBEAT`` while it has coroutines;
  a loop whose last beat is older than ``BLOCKED_AFTER`` is *blocked*;
* a new coroutine goes to the unblocked loop with the fewest coroutines; a new loop
  is started when all are blocked or hold ``COROUTINES_PER_LOOP`` (up to ``MAX_LOOPS``);
  so a blocking handler stalls at most what already shared its loop, never what
  comes after it;
* a watchdog reports each blocking episode once, as asyncio's debug mode reports a
  slow callback, naming the coroutine that was running and how long it blocked.

Idle loops do not beat and the watchdog sleeps while no coroutine runs: an idle
operator spends no CPU here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger("opframe.loops")

#: asyncio's own threshold for a slow callback (loop.slow_callback_duration).
BLOCKED_AFTER = 0.1
#: Beats come this often while a loop has work: well under BLOCKED_AFTER, and 50
#: wake-ups a second cost nothing next to the coroutines themselves.
HEARTBEAT = 0.02
#: A loop with this many coroutines is "full": the next one gets a new loop, so one
#: blocking coroutine never holds up more than this many others.
COROUTINES_PER_LOOP = 100
#: Loops are threads; past this many, coroutines share the least busy loop.
MAX_LOOPS = 32
MIN_LOOPS = 1
#: At close, tasks left running get this long in all to end before they are cancelled: kopf 1.45.2
#: waits 5 s for its hung tasks at exit (kopf/_core/reactor/running.py).
TASKS_GRACE = 5.0
#: After the cancellation, how long their ``finally`` blocks get to run.
CANCELLED_GRACE = 1.0


async def _end_tasks_and_stop(deadline: float) -> None:
    """On a loop being closed: wait for its other tasks until ``deadline``, cancel the rest, stop it."""
    loop = asyncio.get_running_loop()
    others = {task for task in asyncio.all_tasks(loop) if task is not asyncio.current_task()}
    if others:
        _, pending = await asyncio.wait(others, timeout=max(0.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CANCELLED_GRACE)
    loop.stop()


class _Loop:
    def __init__(self, index: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.running = 0  # coroutines submitted and not finished; guarded by the pool's lock
        self.last_beat = time.monotonic()
        self.beating = False
        self.reported = False  # this blocking episode was reported
        self.thread = threading.Thread(target=self._run, name=f"opframe-asyncio-{index}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def blocked(self, now: float) -> bool:
        return self.running > 0 and now - self.last_beat > BLOCKED_AFTER

    def beat(self) -> None:
        """Runs on the loop: record the time and come back, while there is work."""
        self.last_beat = time.monotonic()
        self.reported = False
        if self.running > 0:
            self.loop.call_later(HEARTBEAT, self.beat)
        else:
            self.beating = False


class LoopPool:
    def __init__(self, *, min_loops: int = MIN_LOOPS, max_loops: int = MAX_LOOPS,
                 per_loop: int = COROUTINES_PER_LOOP) -> None:
        self._lock = threading.Condition()
        self._loops: list[_Loop] = [_Loop(i) for i in range(min_loops)]
        self._max_loops = max_loops
        self._per_loop = per_loop
        self._closed = False
        self._watchdog = threading.Thread(target=self._watch, name="opframe-asyncio-watchdog", daemon=True)
        self._watchdog.start()

    def submit(self, coroutine: Coroutine[Any, Any, Any], *, name: str = "") -> concurrent.futures.Future[Any]:
        """Run ``coroutine`` on a loop; the future resolves with its result."""
        with self._lock:
            if self._closed:
                coroutine.close()
                raise RuntimeError("the operator's event loops are closed")
            chosen = self._place_locked()
            chosen.running += 1
            start_beat = not chosen.beating
            chosen.beating = True
            self._lock.notify_all()
        if start_beat:
            chosen.last_beat = time.monotonic()
            chosen.loop.call_soon_threadsafe(chosen.beat)

        async def named() -> Any:
            task = asyncio.current_task()
            if task is not None and name:
                task.set_name(name)
            return await coroutine

        future = asyncio.run_coroutine_threadsafe(named(), chosen.loop)
        future.add_done_callback(lambda _: self._finished(chosen))
        return future

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None = None, *, name: str = "") -> Any:
        """Run ``coroutine`` and wait for its result (for callers that must have it now)."""
        return self.submit(coroutine, name=name).result(timeout)

    def _place_locked(self) -> _Loop:
        now = time.monotonic()
        free = [loop for loop in self._loops if not loop.blocked(now)]
        best = min(free, key=lambda loop: loop.running, default=None)
        if (best is None or best.running >= self._per_loop) and len(self._loops) < self._max_loops:
            best = _Loop(len(self._loops))
            self._loops.append(best)
        if best is None:
            best = min(self._loops, key=lambda loop: loop.running)
        return best

    def _finished(self, loop: _Loop) -> None:
        with self._lock:
            loop.running -= 1

    def loops(self) -> int:
        with self._lock:
            return len(self._loops)

    def _watch(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not any(loop.running for loop in self._loops):
                    self._lock.wait()
                if self._closed:
                    return
                loops = list(self._loops)
            now = time.monotonic()
            for loop in loops:
                if loop.blocked(now) and not loop.reported:
                    loop.reported = True
                    task = asyncio.current_task(loop.loop)
                    what = task.get_name() if task is not None else "a callback"
                    logger.warning(
                        "async handler %s blocked its event loop for %.2f s: a blocking call inside an async def "
                        "(use await, or asyncio.to_thread for blocking code); async handlers submitted meanwhile "
                        "run on other loops", what, now - loop.last_beat)
            time.sleep(BLOCKED_AFTER / 2)

    def close(self, timeout: float = TASKS_GRACE) -> None:
        """Stop every loop. Tasks still pending there (ones handlers started with
        ``asyncio.create_task`` and left running) get ``timeout`` seconds in all to end, then are
        cancelled and may run their ``except CancelledError``/``finally`` (kopf's rule at exit)."""
        with self._lock:
            self._closed = True
            loops = list(self._loops)
            self._lock.notify_all()
        deadline = time.monotonic() + timeout
        for loop in loops:
            if loop.loop.is_running():
                asyncio.run_coroutine_threadsafe(_end_tasks_and_stop(deadline), loop.loop)
        for loop in loops:
            loop.thread.join(max(0.0, deadline - time.monotonic()) + CANCELLED_GRACE + 1.0)
