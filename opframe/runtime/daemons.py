"""Daemons: one long-running function per object, stopped on deletion, filter mismatch and shutdown.

A daemon is the one place opframe spends a thread (or an asyncio task) per object,
because a daemon IS a long-running per-object activity. Timers, by contrast, are
entries in the delaying queue.

The ``stopped`` keyword argument is a ``DaemonStopped`` flag: true once the daemon
should end; sync daemons can ``stopped.wait(seconds)`` instead of sleeping, async
ones ``await stopped.wait_async(seconds)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

from opframe.handlers.registry import Handler
from opframe.runtime.invocation import AsyncRunner, accepted_kwargs, call, object_logger

logger = logging.getLogger("opframe.daemons")


class DaemonStopped:
    def __init__(self) -> None:
        self._event = threading.Event()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._event.wait, timeout)


class _Running:
    """One running daemon. After ``stopped`` is set, an async daemon still running after
    ``cancellation_timeout`` seconds is cancelled; a sync one cannot be, and is left to
    end on its own (its thread is a daemon thread, so it never blocks the process's exit)."""

    def __init__(self, stopped: DaemonStopped, done: threading.Event,
                 future: concurrent.futures.Future[Any] | None, cancellation_timeout: float | None) -> None:
        self.stopped = stopped
        self.done = done
        self.future = future
        self.cancellation_timeout = cancellation_timeout

    def request_stop(self) -> None:
        self.stopped.set()
        if self.cancellation_timeout is not None:
            timer = threading.Timer(self.cancellation_timeout, self._cancel_if_running)
            timer.daemon = True
            timer.start()

    def _cancel_if_running(self) -> None:
        if not self.done.is_set() and self.future is not None:
            self.future.cancel()


class DaemonKeeper:
    """Which daemons run for which object. Thread-safe."""

    def __init__(self, runner: AsyncRunner) -> None:
        self._runner = runner
        self._lock = threading.Lock()
        self._running: dict[str, dict[str, _Running]] = {}

    def running(self, key: str, handler_id: str) -> bool:
        with self._lock:
            entry = self._running.get(key, {}).get(handler_id)
            return entry is not None and not entry.done.is_set()

    def start(self, key: str, handler: Handler, kwargs: dict[str, Any]) -> None:
        stopped = DaemonStopped()
        done = threading.Event()
        kwargs = {**kwargs, "stopped": stopped}
        log = object_logger(key)
        entry = _Running(stopped, done, None, handler.cancellation_timeout)

        def body() -> None:
            try:
                if handler.initial_delay and stopped.wait(handler.initial_delay):
                    return
                if handler.is_async:
                    entry.future = self._runner.submit(handler.fn(**accepted_kwargs(handler, kwargs)))
                    entry.future.result()
                else:
                    call(handler, kwargs, self._runner)
            except concurrent.futures.CancelledError:
                log.warning("daemon %s did not stop within %s s and was cancelled", handler.id,
                            handler.cancellation_timeout)
            except Exception:
                log.exception("daemon %s failed", handler.id)
            finally:
                done.set()

        with self._lock:
            self._running.setdefault(key, {})[handler.id] = entry
        thread = threading.Thread(target=body, name=f"daemon-{handler.id}-{key}", daemon=True)
        thread.start()

    def stop(self, key: str, handler_id: str, timeout: float | None) -> None:
        with self._lock:
            entry = self._running.get(key, {}).pop(handler_id, None)
        if entry is not None:
            entry.request_stop()
            if timeout:
                entry.done.wait(timeout)

    def stop_object(self, key: str, timeout: float | None) -> None:
        with self._lock:
            entries = self._running.pop(key, {})
        for entry in entries.values():
            entry.request_stop()
        if timeout:
            for entry in entries.values():
                entry.done.wait(timeout)

    def stop_all(self, timeout: float | None) -> None:
        with self._lock:
            keys = list(self._running)
        for key in keys:
            self.stop_object(key, timeout)

    def count(self) -> int:
        with self._lock:
            return sum(1 for entries in self._running.values() for e in entries.values() if not e.done.is_set())
