"""Stop flags: what a daemon or a timer is given as ``stopped``, and why it was asked to stop.

Invariant: a flag once set stays set; a later ``set()`` adds its reason to the earlier ones.
Setting it wakes every waiter, sync (a thread in ``wait``) and async (a coroutine in
``wait_async`` on any event loop) alike.
"""

from __future__ import annotations

import asyncio
import enum
import threading


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


class StopFlag:
    """A ``stopped`` flag (kopf's): true once asked to stop; ``reason`` says why. Sync code waits with
    ``stopped.wait(seconds)``; ``wait_async`` waits on the running event loop."""

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


class AsyncStopFlag(StopFlag):
    """A ``stopped`` flag for async code: ``await stopped.wait(seconds)``, as kopf documents."""

    async def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        return await self.wait_async(timeout)


class DaemonStopped(StopFlag):
    """A sync daemon's ``stopped`` (kopf's name)."""


class AsyncDaemonStopped(AsyncStopFlag, DaemonStopped):
    """An async daemon's ``stopped``."""


class TimerStopped(StopFlag):
    """A sync timer's ``stopped``: set when the operator stops (kopf gives timers one too)."""


class AsyncTimerStopped(AsyncStopFlag, TimerStopped):
    """An async timer's ``stopped``."""
