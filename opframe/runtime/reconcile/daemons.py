"""Daemons: one long-running function per object, stopped on deletion, filter mismatch and shutdown.

A sync daemon gets a thread of its own (a daemon IS a long-running per-object
activity); an async daemon is a coroutine on the operator's LoopPool, no thread.

The ``stopped`` keyword argument says when to end, as in kopf: truthy once the daemon
should stop; a sync daemon calls ``stopped.wait(seconds)`` instead of sleeping, an
async one ``await stopped.wait(seconds)`` (both return True when stopped).

Invariants:

* ``_running[key][id]`` holds a daemon from its start until its function has ended
  (or it was abandoned), stopping ones included: a daemon is never started for an
  object while its predecessor under the same id is still stopping; when one that was
  asked to stop ends, ``on_exit(key)`` has the object reconciled again (to start it
  anew, or to release the finalizer);
* ``_exited[key]`` exists while the object exists and one of its daemons ended on its
  own; ``_bodies[key]`` while the object exists and has a daemon;
* ``forget(key)`` (the object left the cache) stops every daemon of it and drops all
  three; nothing of a forgotten key comes back when its daemons end;
* ``holding(key)``: on a deleted object, our finalizer stays while a daemon that
  requires it has not ended (kopf's rule), or until it is abandoned.

Stopping follows kopf's stages: ``stopped`` is set; with a ``cancellation_timeout``,
an async daemon still running after its ``cancellation_backoff`` is cancelled, and one
still running ``cancellation_timeout`` after that (sync ones cannot be cancelled) is
abandoned: logged, no longer waited for (a daemon thread never blocks the process's
exit). Without a timeout it is waited for as long as it runs. ``stop_all(timeout)``
signals every daemon first and then waits for all of them within one deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from opframe.handlers import retries
from opframe.handlers.handler import Handler
from opframe.handlers.owners import current_owner
from opframe.handlers.progress import now_utc
from opframe.objects.bodies import LiveBody
from opframe.objects.patches import Patch
from opframe.runtime.execution.calls import accepted_kwargs
from opframe.runtime.execution.kwargs import attempt_kwargs
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.execution.stopping import AsyncDaemonStopped, DaemonStopped, DaemonStoppingReason
from opframe.runtime.reconcile.scheduling import daemon_changes
from opframe.runtime.telemetry.logs import object_logger

logger = logging.getLogger("opframe.daemons")

#: How long daemons get at the operator's exit before they are left behind (async ones cancelled,
#: sync threads abandoned to the process's end): kopf 1.45.2 waits 5 s for its hung tasks at exit
#: (kopf/_core/reactor/running.py), then logs "Daemon 'x' did not exit in time. Leaving it orphaned."
EXIT_GRACE_SECONDS = 5.0


class _Running:
    """One daemon of one object: its flag, whether its function ended, and (async) its task.

    ``done`` is set once the function ended; ``abandoned`` once it outlived its
    cancellation timeout; ``orphaned`` once its object was forgotten (nothing is reported
    for it any more). ``on_stopped`` is called once when a daemon asked to stop ends or is
    abandoned.
    """

    def __init__(self, key: str, handler: Handler, stopped: DaemonStopped,
                 on_stopped: Callable[[_Running], None]) -> None:
        self.key = key
        self.handler = handler
        self.stopped = stopped
        self.done = threading.Event()
        self.abandoned = False
        self.orphaned = False
        #: An async daemon's task and loop, once its coroutine began (cancelled there, so that
        #: its future resolves only when the coroutine has really ended).
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._on_stopped = on_stopped
        self._stop_requested = False
        self._reported = False
        self._lock = threading.Lock()

    def request_stop(self, reason: DaemonStoppingReason = DaemonStoppingReason.DAEMON_SIGNALLED) -> None:
        """kopf's stages: set the flag; with a ``cancellation_timeout``, cancel an async daemon still
        running after ``cancellation_backoff``, and abandon one still running after the timeout too.
        Idempotent: a second request only adds its reason."""
        with self._lock:
            first = not self._stop_requested
            self._stop_requested = True
        self.stopped.set(reason)
        backoff, timeout = self.handler.cancellation_backoff or 0.0, self.handler.cancellation_timeout
        if not first or timeout is None:
            return
        if self.handler.is_async:
            _later(backoff, self._cancel_if_running)
        _later(backoff + timeout, self._abandon_if_running)

    def cancel(self) -> None:
        """Cancel an async daemon now (a sync one cannot be: it is left to end with the process)."""
        if self.handler.is_async:
            self._cancel_if_running()

    def _cancel_if_running(self) -> None:
        """Cancel the coroutine's task on its loop (not the cross-thread future, which would count
        as ended at once while the coroutine still unwinds). One that has not begun yet sees
        ``stopped`` when it does, and ends at once."""
        if self.done.is_set() or self.task is None or self.loop is None:
            return
        self.stopped.set(DaemonStoppingReason.DAEMON_CANCELLED)
        with contextlib.suppress(RuntimeError):  # its loop closed: it ended with it
            self.loop.call_soon_threadsafe(self.task.cancel)

    def mark_done(self) -> None:
        with self._lock:
            self.done.set()

    def _abandon_if_running(self) -> None:
        with self._lock:
            if self.done.is_set():
                return
            self.abandoned = True
        self.stopped.set(DaemonStoppingReason.DAEMON_ABANDONED)
        object_logger(self.key).warning("daemon %s did not exit within its cancellation timeout; it is abandoned "
                                        "(no longer waited for)", self.handler.id)
        self.report()

    def report(self) -> None:
        """Tell the keeper (once) that a daemon asked to stop has ended or was abandoned."""
        with self._lock:
            if self._reported or not self._stop_requested:
                return
            self._reported = True
        self._on_stopped(self)


def _later(seconds: float, action: Callable[[], None]) -> None:
    """Run ``action`` on a timer thread after ``seconds`` (a daemon thread: never blocks exit)."""
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


#: Writes a daemon's patch to its object (key, merge patch); the controller's ObjectWriter.
PatchApplier = Callable[[str, Patch], None]


class DaemonKeeper:
    """Which daemons run for which object, and their attempts (kopf's rules). Thread-safe.

    * each attempt gets ``retry`` (attempts before it), ``started``, ``runtime``, ``stopped``
      and a fresh ``patch``, written to the object when the attempt ends (with the result,
      if any, under ``status.<daemon id>``);
    * a TemporaryError or another exception is retried as for handlers (``errors=``,
      ``backoff=``, ``retries=``, ``timeout=``), waiting on ``stopped``;
    * a daemon that returns (or fails for good) without being asked to stop is not started
      again for that object while it exists (``exited``); one stopped by us can be.
    """

    def __init__(self, loops: LoopPool, apply: PatchApplier | None = None,
                 default_backoff: float | None = None, on_exit: Callable[[str], None] | None = None) -> None:
        self._loops = loops
        self._apply = apply
        self._default_backoff = default_backoff
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._running: dict[str, dict[str, _Running]] = {}
        #: key -> ids of daemons that ended on their own (never restarted for that key).
        self._exited: dict[str, set[str]] = {}
        #: key -> the object's live body, shared by its daemons and replaced on every reconcile.
        self._bodies: dict[str, LiveBody] = {}

    def live_body(self, key: str, fresh: Callable[[], dict[str, Any]]) -> LiveBody:
        """The object's live body for its daemons (kopf's): the one they already hold (``refresh``
        keeps it current), or a new one showing ``fresh()``."""
        with self._lock:
            body = self._bodies.get(key)
            if body is None:
                body = self._bodies[key] = LiveBody(fresh())
            return body

    def refresh(self, key: str, fresh: Callable[[], dict[str, Any]]) -> None:
        """A new state of the object: its running daemons see it in their ``body``, ``spec``, ... (live)."""
        with self._lock:
            body = self._bodies.get(key)
        if body is not None:
            body.replace(fresh())

    def running(self, key: str, handler_id: str) -> bool:
        """True from its start until it has ended (stopping included), and forever once it ended on
        its own (so it is not started again)."""
        with self._lock:
            return handler_id in self._exited.get(key, ()) or handler_id in self._running.get(key, {})

    def holding(self, key: str) -> bool:
        """Some daemon of ``key`` that requires the finalizer has not ended (nor been abandoned)."""
        with self._lock:
            entries = list(self._running.get(key, {}).values())
        return any(e.handler.requires_finalizer and not e.done.is_set() and not e.abandoned for e in entries)

    def start(self, key: str, handler: Handler, kwargs: dict[str, Any]) -> None:
        entry = _Running(key, handler, AsyncDaemonStopped() if handler.is_async else DaemonStopped(), self._stopped)
        with self._lock:
            self._running.setdefault(key, {})[handler.id] = entry
        if handler.is_async:
            future = self._loops.submit(self._run_async(key, entry, kwargs), name=f"daemon {handler.id} {key}")
            future.add_done_callback(lambda done: self._ended(key, entry, done))
            return
        threading.Thread(target=self._run_sync, args=(key, entry, kwargs), name=f"daemon-{handler.id}-{key}",
                         daemon=True).start()

    # -- attempts -----------------------------------------------------------------------------

    def _attempt_kwargs(self, entry: _Running, kwargs: dict[str, Any], retry: int,
                        started: datetime.datetime) -> tuple[dict[str, Any], Patch]:
        patch = Patch()
        attempt = {**kwargs, "stopped": entry.stopped, "patch": patch, **attempt_kwargs(retry, started)}
        return accepted_kwargs(entry.handler, attempt), patch

    def _after(self, key: str, entry: _Running, patch: Patch, result: Any, error: BaseException | None,
               retry: int, first: float) -> float | None:
        """Write the attempt's patch; the delay before the next attempt, or None to end."""
        handler, log = entry.handler, object_logger(key)
        if error is None and result is not None:
            patch.status[handler.id] = result
        if patch and self._apply is not None:
            try:
                self._apply(key, patch)
            except Exception as exc:
                log.warning("daemon %s: its patch could not be written: %s", handler.id, exc)
        if error is None:
            log.info("Daemon '%s' succeeded.", handler.id)  # kopf's words, when the daemon returns
            return None
        verdict = retries.RetryPolicy.of(handler, self._default_backoff).decide(
            error, failures=retry, started=first, now=time.monotonic())
        log.error("Daemon '%s' %s", handler.id, verdict.told, exc_info=retries.traceback_of(error))
        return verdict.delay if verdict.retry and not verdict.ignored else None

    def _run_sync(self, key: str, entry: _Running, kwargs: dict[str, Any]) -> None:
        current_owner.set(kwargs.get("body"))  # this thread's own context: kopf.adopt() without owner=
        try:
            delay = entry.handler.delay(kwargs)
            if delay and entry.stopped.wait(delay):
                return
            started, first, retry = now_utc(), time.monotonic(), 0
            while not entry.stopped:
                arguments, patch = self._attempt_kwargs(entry, kwargs, retry, started)
                result: Any = None
                error: BaseException | None = None
                try:
                    result = entry.handler.fn(**arguments)
                except Exception as exc:
                    error = exc
                retry += 1
                pause = self._after(key, entry, patch, result, error, retry, first)
                if pause is None:
                    break
                entry.stopped.wait(pause)
        finally:
            self._finish(key, entry)

    async def _run_async(self, key: str, entry: _Running, kwargs: dict[str, Any]) -> None:
        current_owner.set(kwargs.get("body"))  # this task's own context: kopf.adopt() without owner=
        entry.task, entry.loop = asyncio.current_task(), asyncio.get_running_loop()
        delay = entry.handler.delay(kwargs)
        if delay and await entry.stopped.wait_async(delay):
            return
        started, first, retry = now_utc(), time.monotonic(), 0
        while not entry.stopped:
            arguments, patch = self._attempt_kwargs(entry, kwargs, retry, started)
            result: Any = None
            error: BaseException | None = None
            try:
                result = await entry.handler.fn(**arguments)
            except Exception as exc:
                error = exc
            retry += 1
            pause = await asyncio.to_thread(self._after, key, entry, patch, result, error, retry, first)
            if pause is None:
                break
            await entry.stopped.wait_async(pause)

    def _ended(self, key: str, entry: _Running, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():  # the coroutine's task was cancelled and has ended
            object_logger(key).warning("daemon %s did not stop within its cancellation backoff and was cancelled",
                                       entry.handler.id)
        elif future.exception() is not None:
            object_logger(key).error("daemon %s failed: %r", entry.handler.id, future.exception())
        self._finish(key, entry)

    def _drop_locked(self, entry: _Running) -> bool:
        """Remove ``entry`` from ``_running`` if it is still its id's daemon there (under the lock)."""
        per_key = self._running.get(entry.key, {})
        if per_key.get(entry.handler.id) is not entry:
            return False
        del per_key[entry.handler.id]
        if not per_key:
            del self._running[entry.key]
        return True

    def _finish(self, key: str, entry: _Running) -> None:
        with self._lock:
            if self._drop_locked(entry) and not entry.stopped:
                self._exited.setdefault(key, set()).add(entry.handler.id)
        entry.stopped.set(DaemonStoppingReason.DONE)
        entry.mark_done()
        entry.report()

    def _stopped(self, entry: _Running) -> None:
        """A daemon asked to stop ended or was abandoned: its object is reconciled again (a daemon
        due to start anew, a finalizer to release), unless the object was forgotten."""
        with self._lock:
            if entry.abandoned:
                self._drop_locked(entry)
            orphaned = entry.orphaned
        if not orphaned and self._on_exit is not None:
            self._on_exit(entry.key)

    # -- stopping -----------------------------------------------------------------------------

    def keep(self, key: str, daemons: Sequence[Handler], matching: Collection[str],
             fresh: Callable[[], dict[str, Any]], build: Callable[[Handler, LiveBody], dict[str, Any]]) -> None:
        """Start the ``daemons`` that match and are not running (nor still stopping), stop those that
        stopped matching (scheduling.daemon_changes); running ones see the object's new state in their
        live body, as in kopf. ``build`` makes a starting daemon's kwargs from its live body."""
        if not daemons:
            return
        self.refresh(key, fresh)
        start, stop = daemon_changes(daemons, matching, running=[h.id for h in daemons if self.running(key, h.id)])
        for handler in start:
            body = self.live_body(key, fresh)
            self.start(key, handler, {**build(handler, body), **body.sections()})
        for handler_id in stop:
            self.stop(key, handler_id)

    def stop(self, key: str, handler_id: str) -> None:
        """The object stopped matching the daemon's filters: stop it (it may start again once ended)."""
        with self._lock:
            entry = self._running.get(key, {}).get(handler_id)
        if entry is not None:
            entry.request_stop(DaemonStoppingReason.FILTERS_MISMATCH)

    def stop_for_deletion(self, key: str) -> None:
        """The object is being deleted: stop its daemons; ``holding(key)`` says when they ended."""
        with self._lock:
            entries = list(self._running.get(key, {}).values())
        for entry in entries:
            entry.request_stop(DaemonStoppingReason.RESOURCE_DELETED)

    def forget(self, key: str) -> None:
        """Stop every daemon of ``key`` (it was deleted or left the cache) without waiting."""
        with self._lock:
            entries = self._running.pop(key, {})
            self._exited.pop(key, None)
            self._bodies.pop(key, None)
            for entry in entries.values():
                entry.orphaned = True
        for entry in entries.values():
            entry.request_stop(DaemonStoppingReason.RESOURCE_DELETED)

    def stop_all(self, timeout: float | None) -> bool:
        """Signal every daemon, then wait for all within ``timeout`` but at most EXIT_GRACE_SECONDS; those
        still running are left behind (kopf's rule at exit), so the operator always exits. True if all ended."""
        with self._lock:
            entries = [entry for per_key in self._running.values() for entry in per_key.values()]
            for entry in entries:
                entry.orphaned = True
            self._running.clear()
            self._exited.clear()
            self._bodies.clear()
        for entry in entries:
            entry.request_stop(DaemonStoppingReason.OPERATOR_EXITING)
        grace = EXIT_GRACE_SECONDS if timeout is None else min(timeout, EXIT_GRACE_SECONDS)
        deadline = time.monotonic() + grace
        ended = True
        for entry in entries:
            if not entry.done.wait(max(0.0, deadline - time.monotonic())):
                # kopf's words and rule: the operator exits; an async daemon is cancelled, a thread abandoned.
                object_logger(entry.key).warning("Daemon '%s' did not exit in time. Leaving it orphaned.",
                                                 entry.handler.id)
                entry.cancel()
                ended = False
        return ended

    def count(self) -> int:
        with self._lock:
            return sum(1 for entries in self._running.values() for e in entries.values() if not e.done.is_set())

    def tracked(self) -> int:
        with self._lock:
            return len(self._running.keys() | self._exited.keys() | self._bodies.keys())
