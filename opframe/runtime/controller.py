"""Controller: one informer, one work queue and N workers for one watched kind.

The informer's notifications only enqueue keys (and feed on.event handlers and
indexes); workers take keys, read the LATEST object from the cache, detect the cause
against what is persisted on the object, run the matching handlers, and write the
outcome back in one merged PATCH (plus one to the status subresource when handlers
returned results and the kind has one).

Invariants:

* a key is reconciled by at most one worker at a time (the WorkQueue's guarantee);
* a handler that succeeded for a cause is not run again for it, also after a
  restart (progress is persisted before the key is released);
* a retry is a delayed re-queue of the key, never a sleeping worker;
* after writing, the worker ignores cached states older than its own write until
  the watch delivers it (an "expectation"), so a stale cache never re-runs handlers;
* our finalizer is on an object exactly while some matching handler needs it and the
  object is not being deleted; it is removed only after the delete handlers finished.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from opframe.cache.fifo import DeletedFinalStateUnknown, DeltaObject
from opframe.cache.informer import SharedIndexInformer
from opframe.cache.store import object_key, split_key
from opframe.handlers import diffs, filters, retries
from opframe.handlers.causes import Cause, Reason, detect, has_finalizer
from opframe.handlers.progress import Annotations, HandlerState, Progress, digest, now_utc
from opframe.handlers.registry import CHANGE_KINDS, Handler, Kind
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.queue.metrics import NO_METRICS
from opframe.queue.ratelimiting import RateLimitingQueue
from opframe.queue.workqueue import ShutDown
from opframe.runtime.daemons import DaemonKeeper
from opframe.runtime.events import EventRecorder
from opframe.runtime.invocation import AsyncRunner, Memo, Patch, call, object_logger

logger = logging.getLogger("opframe.controller")

#: An expectation not met within this long is dropped: the watch may have skipped our
#: own write (a relist), and a reconcile on a newer state is then harmless.
EXPECTATION_TIMEOUT = 30.0
#: A conflict on our PATCH (someone else wrote in between) is retried soon.
CONFLICT_RETRY_DELAY = 0.2
#: How often a finalizer PATCH is re-based on a fresh object before giving up to a requeue.
CONFLICT_ATTEMPTS = 3


@dataclasses.dataclass
class RuntimeContext:
    """What every controller of one operator shares."""

    client: KubeClient
    annotations: Annotations
    finalizer: str
    memo: Memo
    runner: AsyncRunner
    events: EventRecorder
    namespace_matches: Callable[[str | None], bool]
    indexes: Any  # runtime.indexes.OperatorIndexes
    runtime: Any = None  # the Operator, passed to handlers as `runtime`
    metrics: Any = None  # runtime.metrics.OperatorMetrics, if exported
    success_events: bool = False  # post a Normal Event per handler success (settings.success_events)


class Controller:
    def __init__(self, context: RuntimeContext, resource: Resource, handlers: list[Handler],
                 informer: SharedIndexInformer, *, workers: int) -> None:
        self.context = context
        self.resource = resource
        self.handlers = handlers
        self.informer = informer
        self.workers = workers
        self.name = resource.qualified_name
        recorder = context.metrics.queue_recorder(self.name) if context.metrics is not None else NO_METRICS
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(name=self.name, metrics=recorder)
        self._change_handlers = [h for h in handlers if h.kind in CHANGE_KINDS]
        self._event_handlers = [h for h in handlers if h.kind is Kind.EVENT]
        #: Fields outside the essence that some handler names (status.*): tracked too.
        self._include = tuple(sorted({h.field for h in self._change_handlers if h.field and h.field[0] == "status"}))
        self._timers = [h for h in handlers if h.kind is Kind.TIMER]
        self._daemons = [h for h in handlers if h.kind is Kind.DAEMON]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._expected: dict[str, tuple[str, float]] = {}
        self._gone: dict[str, dict[str, Any]] = {}
        self._timer_due: dict[str, dict[str, float]] = {}
        self._last_change: dict[str, float] = {}
        self.daemons = DaemonKeeper(context.runner)
        self.reconciles = 0
        self.patches = 0
        self.invocations: dict[str, int] = {}
        informer.add_event_handler(self)

    # -- informer notifications (never block: enqueue and return) ---------------------------

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        self._notify("ADDED", obj, None)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._notify("MODIFIED", new, old)

    def on_delete(self, obj: DeltaObject) -> None:
        body = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)
        if body is not None:
            with self._lock:
                self._gone[key] = body
            self._notify("DELETED", body, None, key=key)
        else:
            self.queue.add(key)

    def _notify(self, event_type: str, body: dict[str, Any], old: dict[str, Any] | None,
                key: str | None = None) -> None:
        key = key or object_key(body)
        namespace = (body.get("metadata") or {}).get("namespace")
        if not self.context.namespace_matches(namespace):
            return
        self.context.indexes.update(self.resource, key, body if event_type != "DELETED" else None)
        if old is not None and (self._timers or self._daemons):
            prefix = self.context.annotations.own_prefix
            if diffs.essence(old, own_prefix=prefix, include=self._include) != diffs.essence(
                    body, own_prefix=prefix, include=self._include):
                self._last_change[key] = time.monotonic()
        for handler in self._event_handlers:
            self._run_event_handler(handler, event_type, body, key)
        self.queue.add(key)

    def _run_event_handler(self, handler: Handler, event_type: str, body: dict[str, Any], key: str) -> None:
        if not self._matches(handler, body):
            return
        kwargs = self._kwargs(handler, body, key, reason=None, event={"type": event_type, "object": body},
                              type_=event_type)
        try:
            self._count(handler)
            self._invoke(handler, kwargs)
        except Exception:  # never retried (kopf's rule for event handlers)
            object_logger(key).exception("event handler %s failed", handler.id)

    # -- workers ------------------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work_loop, name=f"worker-{self.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float) -> bool:
        """Stop taking keys; let running reconciles finish within ``timeout``. True if they did."""
        drained = self.queue.shut_down_with_drain(timeout)
        self.daemons.stop_all(timeout)
        for thread in self._threads:
            thread.join(timeout=0.1 if not drained else timeout)
        return drained

    def _work_loop(self) -> None:
        while True:
            try:
                key = self.queue.get()
            except ShutDown:
                return
            try:
                self.reconcile(key)
            except Exception:
                logger.exception("%s: reconcile of %s failed unexpectedly; retrying", self.name, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    # -- reconcile ------------------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        self.reconciles += 1
        cached = self.informer.indexer.get_by_key(key)
        if cached is None:
            self._on_gone(key)
            return
        if not self._expectation_met(key, cached):
            return
        body: dict[str, Any] = orjson.loads(orjson.dumps(cached))
        with self._lock:
            first_sight = key not in self._seen
            self._seen.add(key)
        cause = detect(body, annotations=self.context.annotations, finalizer=self.context.finalizer,
                       first_sight=first_sight, include=self._include)
        patch = Patch()
        requeue_after: float | None = None
        retrying = False

        being_deleted = bool(body["metadata"].get("deletionTimestamp"))
        wants_finalizer = any(h.requires_finalizer and self._matches(h, body) for h in self.handlers)
        if not being_deleted and wants_finalizer and not has_finalizer(body, self.context.finalizer):
            patch.metadata["finalizers"] = [*body["metadata"].get("finalizers", []), self.context.finalizer]
            patch.metadata["resourceVersion"] = body["metadata"]["resourceVersion"]

        if being_deleted:
            self.daemons.stop_object(key, timeout=None)
        # Without change handlers there is no diff-base to keep, but a finalizer that a
        # timer or daemon needed must still be released.
        if self._change_handlers or cause.reason is Reason.DELETE:
            come_back, retrying = self._handle_cause(key, body, cause, patch)
            requeue_after = _earliest(requeue_after, come_back)

        if not being_deleted:
            requeue_after = _earliest(requeue_after, self._run_timers(key, body, patch))
            self._keep_daemons(key, body)

        try:
            self._apply(key, body, patch)
        except errors.Conflict:
            self.queue.add_after(key, CONFLICT_RETRY_DELAY)
            return
        except errors.NotFound:
            return
        if requeue_after is not None and retrying:
            self.queue.retry_after(key, requeue_after)
        elif requeue_after is not None:
            self.queue.add_after(key, requeue_after)
        else:
            self.queue.forget(key)

    def _handle_cause(self, key: str, body: dict[str, Any], cause: Cause,
                      patch: Patch) -> tuple[float | None, bool]:
        """Run the cause's due handlers; record progress in ``patch``.

        Returns when to come back, and whether that is a retry of a failed handler.
        """
        if cause.reason is Reason.NONE:
            return None, False
        selected = self._select(cause, body)
        annotations = self.context.annotations
        if not selected:
            if cause.reason is Reason.DELETE:
                self._remove_finalizer(body, patch)
            elif cause.reason in (Reason.CREATE, Reason.UPDATE):
                self._set_diff_base(patch, cause)
            return None, False
        progress = cause.progress
        if progress is None or progress.cause != cause.reason.value or progress.digest != digest(cause.essence):
            progress = Progress(cause=cause.reason.value, digest=digest(cause.essence))
        now = now_utc()
        come_back: float | None = None
        retrying = False
        for handler, handler_diff in selected:
            record = progress.record(handler.id)
            if record.finished:
                continue
            if not record.due(now):
                assert record.delayed_until is not None
                come_back = _earliest(come_back, (record.delayed_until - now).total_seconds())
                continue
            if record.started is None:
                record.started = now
            kwargs = self._kwargs(handler, body, key, reason=cause.reason.value, cause=cause, diff=handler_diff,
                                  patch=patch, retry=record.retries,
                                  started=record.started)
            log = object_logger(key)
            self._count(handler)
            try:
                result = self._invoke(handler, kwargs)
            except Exception as error:
                record.retries += 1
                decision = retries.decide(
                    error, retries_so_far=record.retries, started=record.started.timestamp(),
                    now=time.time(), max_retries=handler.retries, timeout=handler.timeout, backoff=handler.backoff)
                if decision.retry:
                    record.state = HandlerState.DELAYED
                    record.delayed_until = now + datetime.timedelta(seconds=decision.delay)
                    record.message = decision.reason
                    come_back = _earliest(come_back, decision.delay)
                    retrying = True
                    log.error("handler %s failed (%s); retrying in %.1f s", handler.id, decision.reason,
                              decision.delay)
                else:
                    record.state = HandlerState.FAILED
                    record.message = decision.reason
                    log.error("handler %s failed for good: %s", handler.id, decision.reason)
                self.context.events.post(body, type_="Warning", reason="HandlerFailed",
                                         message=f"{handler.id}: {decision.reason}")
            else:
                record.state = HandlerState.SUCCEEDED
                record.delayed_until = None
                record.message = ""
                if result is not None:
                    patch.status[handler.id] = result
                log.debug("handler %s succeeded", handler.id)
                if self.context.success_events:
                    self.context.events.post(body, type_="Normal", reason="HandlerSucceeded",
                                             message=f"{handler.id} succeeded for {cause.reason.value}")
        if all(progress.record(h.id).finished for h, _ in selected):
            if cause.reason is Reason.DELETE:
                self._remove_finalizer(body, patch)
            else:
                self._set_diff_base(patch, cause)
            if annotations.progress in (body["metadata"].get("annotations") or {}):
                patch.metadata.annotations[annotations.progress] = None
        else:
            patch.metadata.annotations[annotations.progress] = progress.to_annotation()
        return come_back, retrying

    def _select(self, cause: Cause, body: dict[str, Any]) -> list[tuple[Handler, diffs.Diff]]:
        """The handlers this cause runs, with the diff each sees (reduced for field handlers)."""
        kinds = {Reason.CREATE: (Kind.CREATE, Kind.FIELD), Reason.UPDATE: (Kind.UPDATE, Kind.FIELD),
                 Reason.DELETE: (Kind.DELETE,), Reason.RESUME: (Kind.RESUME,)}[cause.reason]
        full = cause.diff if cause.reason is Reason.UPDATE else diffs.diff(cause.old, cause.new)
        chosen = []
        for handler in self._change_handlers:
            if handler.kind not in kinds or not self._matches(handler, body):
                continue
            handler_diff = full
            if handler.field:
                handler_diff = diffs.reduce(full, handler.field)
                old_value = diffs.resolve_path(cause.old, handler.field)
                new_value = diffs.resolve_path(cause.new, handler.field)
                if handler.kind is Kind.FIELD or cause.reason is Reason.UPDATE:
                    if not handler_diff:
                        continue
                    if not (filters.match_value(old_value, handler.old)
                            and filters.match_value(new_value, handler.new)):
                        continue
            chosen.append((handler, handler_diff))
        return chosen

    def _matches(self, handler: Handler, body: Mapping[str, Any]) -> bool:
        metadata = body.get("metadata") or {}
        if not filters.match_meta(metadata.get("labels"), handler.labels):
            return False
        if not filters.match_meta(metadata.get("annotations"), handler.annotations):
            return False
        if handler.field and handler.value is not filters.UNSET and not filters.match_value(
                diffs.resolve_path(body, handler.field), handler.value):
            return False
        if handler.when is not None:
            key = object_key(body)
            kwargs = self._kwargs(handler, dict(body), key, reason=None)
            try:
                return bool(call(dataclasses.replace(handler, fn=handler.when), kwargs, self.context.runner))
            except Exception:
                object_logger(key).exception("when= filter of %s failed; treating as no match", handler.id)
                return False
        return True

    def _set_diff_base(self, patch: Patch, cause: Cause) -> None:
        patch.metadata.annotations[self.context.annotations.last_handled] = orjson.dumps(
            cause.essence, option=orjson.OPT_SORT_KEYS).decode()

    def _remove_finalizer(self, body: dict[str, Any], patch: Patch) -> None:
        finalizers = body["metadata"].get("finalizers") or []
        if self.context.finalizer in finalizers:
            patch.metadata["finalizers"] = [f for f in finalizers if f != self.context.finalizer]
            patch.metadata["resourceVersion"] = body["metadata"]["resourceVersion"]

    # -- writing back -----------------------------------------------------------------------------

    def _apply(self, key: str, body: dict[str, Any], patch: Patch) -> None:
        """Write the reconcile's outcome: one PATCH of the object, then its status subresource if needed.

        The object's PATCH goes first: when it changes the finalizer list it carries a
        resourceVersion precondition, which a status write before it would break. If
        someone else wrote in between (409), the finalizer change is re-applied to the
        fresh list and the same outcome is sent again: handlers that succeeded are not
        run again, and the diff-base stays the state they handled, so the other writer's
        change is seen as the next update.
        """
        if not patch:
            return
        namespace, name = split_key(key)
        status = patch.pop("status", None) if "status" in self.resource.subresources else None
        written: dict[str, Any] | None = None
        rest = _pruned(dict(patch))
        if rest:
            for attempt in range(CONFLICT_ATTEMPTS):
                try:
                    written = self.context.client.patch(self.resource, name, rest, namespace=namespace)
                    self.patches += 1
                    break
                except errors.Conflict:
                    metadata = rest.get("metadata") or {}
                    if "finalizers" not in metadata or attempt + 1 == CONFLICT_ATTEMPTS:
                        raise
                    fresh = self.context.client.get(self.resource, name, namespace=namespace)["metadata"]
                    keep = self.context.finalizer in metadata["finalizers"]
                    others = [f for f in fresh.get("finalizers") or [] if f != self.context.finalizer]
                    metadata["finalizers"] = [*others, self.context.finalizer] if keep else others
                    metadata["resourceVersion"] = fresh["resourceVersion"]
        if status:
            written = self.context.client.patch(self.resource, name, {"status": status}, namespace=namespace,
                                                subresource="status")
            self.patches += 1
        if written is not None:
            with self._lock:
                self._expected[key] = (written["metadata"]["resourceVersion"], time.monotonic())

    def _expectation_met(self, key: str, cached: Mapping[str, Any]) -> bool:
        with self._lock:
            expected = self._expected.get(key)
            if expected is None:
                return True
            written_rv, since = expected
            cached_rv = str((cached.get("metadata") or {}).get("resourceVersion", ""))
            expired = time.monotonic() - since > EXPECTATION_TIMEOUT
            if cached_rv == written_rv or _newer(cached_rv, written_rv) or expired:
                del self._expected[key]
                return True
            return False

    def _on_gone(self, key: str) -> None:
        """The object left the cache: forget it, stop its daemons, run optional delete handlers."""
        with self._lock:
            body = self._gone.pop(key, None)
            self._seen.discard(key)
            self._expected.pop(key, None)
            self._timer_due.pop(key, None)
            self._last_change.pop(key, None)
        self.daemons.stop_object(key, timeout=None)
        self.queue.forget(key)
        if body is None or has_finalizer(body, self.context.finalizer):
            return
        for handler in self._change_handlers:
            if handler.kind is Kind.DELETE and handler.optional and self._matches(handler, body):
                kwargs = self._kwargs(handler, body, key, reason=Reason.DELETE.value, patch=Patch())
                self._count(handler)
                try:
                    self._invoke(handler, kwargs)
                except Exception:
                    object_logger(key).exception("optional delete handler %s failed", handler.id)

    # -- timers and daemons --------------------------------------------------------------------

    def _run_timers(self, key: str, body: dict[str, Any], patch: Patch) -> float | None:
        if not self._timers:
            return None
        now = time.monotonic()
        come_back: float | None = None
        due = self._timer_due.setdefault(key, {})
        for handler in self._timers:
            if not self._matches(handler, body):
                due.pop(handler.id, None)
                continue
            next_run = due.setdefault(handler.id, now + (handler.initial_delay or 0.0))
            if next_run <= now and handler.idle is not None:
                quiet_since = self._last_change.get(key, 0.0)
                if now - quiet_since < handler.idle:
                    next_run = due[handler.id] = quiet_since + handler.idle
            if next_run <= now:
                kwargs = self._kwargs(handler, body, key, reason="timer", patch=patch)
                self._count(handler)
                try:
                    result = self._invoke(handler, kwargs)
                    if result is not None:
                        patch.status[handler.id] = result
                except Exception as error:
                    object_logger(key).error("timer %s failed: %s", handler.id, error)
                    self.context.events.post(body, type_="Warning", reason="TimerFailed",
                                             message=f"{handler.id}: {error}")
                next_run = due[handler.id] = now + float(handler.interval or 60.0)
            come_back = _earliest(come_back, max(0.0, next_run - now))
        return come_back

    def _keep_daemons(self, key: str, body: dict[str, Any]) -> None:
        for handler in self._daemons:
            if self._matches(handler, body):
                if not self.daemons.running(key, handler.id):
                    kwargs = self._kwargs(handler, body, key, reason="daemon")
                    self._count(handler)
                    self.daemons.start(key, handler, kwargs)
            else:
                self.daemons.stop(key, handler.id, timeout=None)

    # -- keyword arguments ----------------------------------------------------------------------

    def _kwargs(self, handler: Handler, body: dict[str, Any], key: str, *, reason: str | None,
                cause: Cause | None = None, diff: diffs.Diff = (), patch: Patch | None = None,
                retry: int = 0, started: datetime.datetime | None = None, event: Any = None,
                type_: str | None = None) -> dict[str, Any]:
        metadata = body.get("metadata") or {}
        old = cause.old if cause is not None else None
        new = cause.new if cause is not None else None
        if handler.field:
            old = diffs.resolve_path(old, handler.field) if old is not None else None
            new = diffs.resolve_path(new, handler.field) if new is not None else None
        kwargs: dict[str, Any] = {
            "body": body, "spec": body.get("spec", {}), "meta": metadata, "metadata": metadata,
            "status": body.get("status", {}), "name": metadata.get("name"),
            "namespace": metadata.get("namespace"), "uid": metadata.get("uid"),
            "labels": metadata.get("labels", {}), "annotations": metadata.get("annotations", {}),
            "patch": patch if patch is not None else Patch(), "logger": object_logger(key),
            "memo": self.context.memo, "old": copy.deepcopy(old), "new": copy.deepcopy(new), "diff": diff,
            "reason": reason, "retry": retry, "started": started, "runtime": self.context.runtime,
            "resource": self.resource, "event": event, "type": type_, "stopped": None,
            "param": handler.param,
        }
        kwargs.update(self.context.indexes.kwargs())
        return kwargs

    def _invoke(self, handler: Handler, kwargs: dict[str, Any]) -> Any:
        """Call a handler, recording its duration and outcome in the operator's metrics."""
        started = time.monotonic()
        failed = True
        try:
            result = call(handler, kwargs, self.context.runner)
            failed = False
            return result
        finally:
            if self.context.metrics is not None:
                self.context.metrics.observe_handler(self.name, handler.id, time.monotonic() - started, failed)

    def _count(self, handler: Handler) -> None:
        with self._lock:
            self.invocations[handler.id] = self.invocations.get(handler.id, 0) + 1


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _newer(candidate: str, reference: str) -> bool:
    """Whether resourceVersion ``candidate`` is newer than ``reference``.

    resourceVersions are opaque to clients, but every kube-apiserver backed by etcd
    issues increasing integers; anything else is treated as not comparable.
    """
    try:
        return int(candidate) > int(reference)
    except ValueError:
        return False


def _pruned(patch: dict[str, Any]) -> dict[str, Any]:
    """The patch without empty sections (a None value stays: it deletes a field)."""
    result: dict[str, Any] = {}
    for key, value in patch.items():
        kept = _pruned(value) if isinstance(value, dict) else value
        if kept == {}:
            continue
        result[key] = kept
    return result
