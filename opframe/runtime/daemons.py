"""Daemons: one long-running function per object, stopped on deletion, filter mismatch and shutdown.

A sync daemon gets a thread of its own (a daemon IS a long-running per-object
activity); an async daemon is a coroutine on the operator's LoopPool, no thread.

The ``stopped`` keyword argument says when to end, as in kopf: truthy once the daemon
should stop; a sync daemon calls ``stopped.wait(seconds)`` instead of sleeping, an
async one ``await stopped.wait(seconds)`` (both return True when stopped).

Invariants: ``_running[key]`` exists only while some daemon of ``key`` was started and
not stopped; ``forget(key)`` stops them all and drops the entry. After ``stopped`` is
set, an async daemon still running after its ``cancellation_timeout`` is cancelled; a
sync one cannot be, and is left to end on its own (a daemon thread: it never blocks
the process's exit). ``stop_all(timeout)`` signals every daemon first and then waits
for all of them within one deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import threading
import time
from typing import Any

from opframe.handlers.registry import Handler
from opframe.runtime.invocation import accepted_kwargs, object_logger
from opframe.runtime.loops import LoopPool

logger = logging.getLogger("opframe.daemons")


class DaemonStoppingReason(enum.Flag):
    """Why a daemon (or timer) was asked to stop (kopf's); several can combine."""

    DONE = enum.auto()
    FILTERS_MISMATCH = enum.auto()
    RESOURCE_DELETED = enum.auto()
    OPERATOR_PAUSING = enum.auto()
    OPERATOR_EXITING = enum.auto()
    DAEMON_SIGNALLED = enum.auto()
    DAEMON_CANCELLED = enum.auto()
    DAEMON_ABANDONED = enum.auto()


class DaemonStopped:
    """The ``stopped`` flag of a sync daemon: true once asked to stop; ``reason`` says why."""

    def __init__(self) -> None:
        self.reason: DaemonStoppingReason | None = None
        self._event = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, reason: DaemonStoppingReason = DaemonStoppingReason.DAEMON_SIGNALLED) -> None:
        with self._lock:
            self.reason = reason if self.reason is None else self.reason | reason
            self._event.set()
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Wait on the running event loop (no thread is borrowed)."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._event.is_set():
                return True
            self._waiters.append(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.remove(entry)
        return self._event.is_set()


class AsyncDaemonStopped(DaemonStopped):
    """The ``stopped`` flag of an async daemon: ``await stopped.wait(seconds)``, as kopf documents."""

    async def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        return await self.wait_async(timeout)


class _Running:
    def __init__(self, stopped: DaemonStopped, cancellation_timeout: float | None) -> None:
        self.stopped = stopped
        self.done = threading.Event()
        self.future: concurrent.futures.Future[Any] | None = None
        self.cancellation_timeout = cancellation_timeout

    def request_stop(self) -> None:
        self.stopped.set()
        if self.cancellation_timeout is not None and self.future is not None:
            timer = threading.Timer(self.cancellation_timeout, self._cancel_if_running)
            timer.daemon = True
            timer.start()

    def _cancel_if_running(self) -> None:
        if not self.done.is_set() and self.future is not None:
            self.future.cancel()


class DaemonKeeper:
    """Which daemons run for which object. Thread-safe."""

    def __init__(self, loops: LoopPool) -> None:
        self._loops = loops
        self._lock = threading.Lock()
        self._running: dict[str, dict[str, _Running]] = {}

    def running(self, key: str, handler_id: str) -> bool:
        with self._lock:
            entry = self._running.get(key, {}).get(handler_id)
            return entry is not None and not entry.done.is_set()

    def start(self, key: str, handler: Handler, kwargs: dict[str, Any]) -> None:
        log = object_logger(key)
        if handler.is_async:
            entry = _Running(AsyncDaemonStopped(), handler.cancellation_timeout)
            arguments = accepted_kwargs(handler, {**kwargs, "stopped": entry.stopped})

            async def run_async() -> None:
                delay = handler.delay(kwargs)
                if delay and await entry.stopped.wait_async(delay):
                    return
                await handler.fn(**arguments)

            with self._lock:
                self._running.setdefault(key, {})[handler.id] = entry
            entry.future = self._loops.submit(run_async(), name=f"daemon {handler.id} {key}")
            entry.future.add_done_callback(lambda future: self._ended(entry, future, handler, log))
            return
        entry = _Running(DaemonStopped(), handler.cancellation_timeout)
        arguments = accepted_kwargs(handler, {**kwargs, "stopped": entry.stopped})

        def run_sync() -> None:
            try:
                delay = handler.delay(kwargs)
                if delay and entry.stopped.wait(delay):
                    return
                handler.fn(**arguments)
            except Exception:
                log.exception("daemon %s failed", handler.id)
            finally:
                entry.done.set()

        with self._lock:
            self._running.setdefault(key, {})[handler.id] = entry
        threading.Thread(target=run_sync, name=f"daemon-{handler.id}-{key}", daemon=True).start()

    @staticmethod
    def _ended(entry: _Running, future: concurrent.futures.Future[Any], handler: Handler, log: Any) -> None:
        try:
            if future.cancelled():
                log.warning("daemon %s did not stop within %s s and was cancelled", handler.id,
                            handler.cancellation_timeout)
            elif future.exception() is not None:
                log.error("daemon %s failed: %r", handler.id, future.exception())
        finally:
            entry.done.set()

    def stop(self, key: str, handler_id: str) -> None:
        with self._lock:
            entries = self._running.get(key, {})
            entry = entries.pop(handler_id, None)
            if not entries:
                self._running.pop(key, None)
        if entry is not None:
            entry.request_stop()

    def forget(self, key: str) -> None:
        """Stop every daemon of ``key`` (it was deleted or left the cache) without waiting."""
        with self._lock:
            entries = self._running.pop(key, {})
        for entry in entries.values():
            entry.request_stop()

    def stop_all(self, timeout: float | None) -> bool:
        """Signal every daemon, then wait for all within one ``timeout``. True if all ended."""
        with self._lock:
            entries = [entry for per_key in self._running.values() for entry in per_key.values()]
            self._running.clear()
        for entry in entries:
            entry.request_stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        for entry in entries:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not entry.done.wait(remaining):
                return False
        return True

    def count(self) -> int:
        with self._lock:
            return sum(1 for entries in self._running.values() for e in entries.values() if not e.done.is_set())

    def tracked(self) -> int:
        with self._lock:
            return len(self._running)
