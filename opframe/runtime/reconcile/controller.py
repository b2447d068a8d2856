"""Controller: one work queue and N workers for one watched kind, fed by its informer(s).

The informers' notifications only record (notices.py) and enqueue keys, and only
while this replica handles (it leads, or runs without leader election); user code
never runs on a notification thread. A worker takes a key and reconciles it:

1. take the key's notices; read the LATEST object from the cache;
2. refresh the key's entries in the operator's indexes; run ``on.event`` handlers for
   the recorded events, in order;
3. skip the rest while the cache is older than our own last write (writer.py);
4. decide which handlers match (filtering.py: callbacks run here, each on its own copy of
   the object), ``plan()`` (planner.py, pure), the lifecycle's choice (``narrow()``), run the
   planned handlers, compute failed handlers' backoffs, ``conclude()`` (pure);
5. run due timers (timers.py), start or stop daemons (daemons.py);
6. write the outcome (writer.py: the /status PATCH with the handlers' results, then the
   object's merge PATCH, then a JSON patch for ``patch.fns``) and tell the queue when to come back.

An async handler does not hold its worker: the worker submits it to the LoopPool and
takes the next key; when it completes, a finisher thread continues the reconcile from
that step. The key stays "processing" in the queue until the reconcile ends, so a key
is still reconciled by one thread at a time.

Invariants:

* a key is reconciled by at most one thread at a time (the WorkQueue's guarantee);
* a handler that succeeded for a cause is not run again for it, also after a restart;
* a retry is a delayed re-queue of the key, never a sleeping worker;
* per-key state lives in its owners (notices, writer, timers, daemons, ``_seen``) and
  ``_forget(key)`` clears all of them when the key leaves the cache; nothing is
  recorded for a key that is not enqueued, so nothing outlives its key.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import queue as stdqueue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from opframe.cache.fifo import DeletedFinalStateUnknown, DeltaObject
from opframe.cache.informer import SharedIndexInformer
from opframe.cache.store import Indexer, object_key, split_key, unpacked
from opframe.handlers.bookkeeping import Bookkeeping, ForeignBookkeeping
from opframe.handlers.causes import Reason, detect
from opframe.handlers.handler import CHANGE_KINDS, Handler, Kind
from opframe.handlers.memos import Memo
from opframe.handlers.outcomes import Outcome, Raised
from opframe.handlers.progress import HandlerRecord, digest, now_utc
from opframe.handlers.retries import RetryPolicy
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.objects.diffs import essence, same_essence
from opframe.objects.patches import Patch
from opframe.queue.backlog import Backlog
from opframe.queue.bursts import Bursts
from opframe.queue.metrics import NO_METRICS, QueueMetrics, QueueMetricsRecorder
from opframe.queue.ratelimiting import RateLimitingQueue
from opframe.queue.workqueue import ShutDown
from opframe.runtime.execution.filtering import FilterEvaluator
from opframe.runtime.execution.invoker import Invoker
from opframe.runtime.execution.kwargs import Api, KwargsBuilder, fresh_body
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.execution.parents import Records, parent_coroutine
from opframe.runtime.execution.stopping import DaemonStoppingReason
from opframe.runtime.reconcile import planner
from opframe.runtime.reconcile.daemons import DaemonKeeper
from opframe.runtime.reconcile.indexes import OperatorIndexes
from opframe.runtime.reconcile.notices import MAX_EVENTS_PER_KEY, Notices
from opframe.runtime.reconcile.planner import Plan
from opframe.runtime.reconcile.timers import Timers, TimerSchedule
from opframe.runtime.reconcile.writer import ObjectWriter
from opframe.runtime.telemetry.events import EventRecorder
from opframe.runtime.telemetry.logs import object_logger
from opframe.runtime.telemetry.metrics import OperatorMetrics
from opframe.runtime.telemetry.reporter import TITLES, Reporter

logger = logging.getLogger("opframe.controller")

#: A conflict on our PATCH (someone else wrote in between) is retried soon.
CONFLICT_RETRY_DELAY = 0.2


@dataclasses.dataclass
class RuntimeContext:
    """What every controller of one operator shares."""

    client: KubeClient
    bookkeeping: Bookkeeping
    memo: Memo
    loops: LoopPool
    events: EventRecorder
    namespace_matches: Callable[[str | None], bool]
    indexes: OperatorIndexes
    api: Api | None = None
    metrics: OperatorMetrics | None = None
    success_events: bool = False  # post a Normal Event per handler success (settings.success_events)
    default_backoff: float | None = None  # fixed retry delay without backoff= (settings.default_backoff)
    lifecycle: Callable[..., Sequence[Any]] | None = None  # which due handlers run per reconcile (None: all)
    #: The jitter of retries' default backoff (one generator per operator; seeded in tests).
    rng: random.Random = dataclasses.field(default_factory=random.Random)
    #: Another operator's bookkeeping that is *not* continued (kopf's, without adopt_kopf): an object
    #: carrying it and none of ours gets a warning, as its handlers run again as for a new object.
    unadopted: ForeignBookkeeping | None = None


@dataclasses.dataclass
class _Reconcile:
    """A reconcile in progress: what a finisher needs to continue it after an async handler."""

    key: str
    raw: bytes
    body: dict[str, Any]
    plan: Plan
    #: Ids of the handlers whose filters matched, computed once with the cause (``when=`` gets
    #: the cause's kwargs); timers and daemons are kept by the same verdict after async handlers.
    matching: frozenset[str]
    outcomes: dict[str, Outcome]
    position: int = 0
    submitted: float = 0.0
    #: A diff-base an earlier reconcile held back (ObjectWriter.hold_diff_base), read into ``body``:
    #: written with this reconcile's outcome, or held again.
    held: str | None = None
    #: The diff-base annotation the object itself carries (what a held one is checked against).
    on_object: str | None = None


class Controller:
    def __init__(self, context: RuntimeContext, resource: Resource, handlers: list[Handler],
                 informers: Mapping[str | None, SharedIndexInformer], *, workers: int,
                 bursts: Bursts | None = None, backlog: Backlog | None = None) -> None:
        self.context = context
        self.resource = resource
        self.handlers = handlers
        self.informers = dict(informers)
        self.workers = workers
        self.name = resource.qualified_name
        #: Whether the queue falls behind the informer (queue/backlog.py): logged, in /metrics and /readyz.
        self.backlog = backlog
        recorder: QueueMetrics = (
            context.metrics.queue_recorder(self.name, backlog) if context.metrics is not None
            else QueueMetricsRecorder(name=self.name, backlog=backlog) if backlog is not None else NO_METRICS)
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(name=self.name, metrics=recorder)
        #: When a key changing in quick succession is handled (queue/bursts.py); off unless given.
        self.bursts = bursts if bursts is not None else Bursts(window=0.0, max_delay=0.0)
        #: Fields outside the essence that some handler names (status.*): tracked too.
        self._include = tuple(sorted({h.field for h in handlers if h.kind in CHANGE_KINDS
                                      and h.field and h.field[0] == "status"}))
        self.notices = Notices(keep_events=any(h.kind is Kind.EVENT for h in handlers))
        #: Some index function reads this kind: each visit re-indexes the object.
        self._indexed = context.indexes.declares(resource)
        self.writer = ObjectWriter(context.client, resource, context.bookkeeping)
        self.daemons = DaemonKeeper(context.loops, apply=self._write_daemon_patch,
                                    default_backoff=context.default_backoff, on_exit=self.queue.add)
        self.kwargs = KwargsBuilder(resource, context.api, context.memo, context.indexes.kwargs)
        self.filters = FilterEvaluator(self.kwargs, context.loops)
        self.reporter = Reporter(self.name, context.events, context.success_events)
        self.invoker = Invoker(self.name, handlers, kwargs=self.kwargs, filters=self.filters, loops=context.loops,
                               reporter=self.reporter, metrics=context.metrics)
        self.timers = Timers(TimerSchedule([h for h in handlers if h.kind is Kind.TIMER]), invoker=self.invoker,
                             kwargs=self.kwargs, reporter=self.reporter, default_backoff=context.default_backoff,
                             rng=context.rng)
        #: The handlers the planner decides about (their filters are evaluated per reconcile).
        self.planned = [h for h in handlers if h.kind in CHANGE_KINDS or h.kind in (Kind.TIMER, Kind.DAEMON)]
        self.daemon_handlers = [h for h in handlers if h.kind is Kind.DAEMON]
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        #: Keys whose first reconcile only added or removed the finalizer: their next one is still a
        #: first sight, so resume handlers run then (kopf: the object is not yet handled once).
        self._sighted_for_finalizer: set[str] = set()
        self._resumes: stdqueue.SimpleQueue[tuple[_Reconcile, concurrent.futures.Future[Any]] | None] = (
            stdqueue.SimpleQueue())
        self._threads: list[threading.Thread] = []
        self.active = False
        for informer in self.informers.values():
            informer.add_event_handler(self)

    # -- informer notifications: record and enqueue, nothing else ---------------------------

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        # kopf's rule: the objects of a listing reach on.event with type None, later ones "ADDED".
        self._notify(None if is_in_initial_list else "ADDED", obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        # Decided here, once, before the queue: a change outside the essence (our own write's echo,
        # status alone, a new resourceVersion) is no change for bursts; the key is queued at once.
        # Only bursts ask: with them off (burst_window 0) the essences are not compared at all.
        changed = not self.bursts.window or not same_essence(
            old, new, own_prefix=self.context.bookkeeping.own_prefix, include=self._include)
        self._notify("MODIFIED", new, changed=changed)

    def on_delete(self, obj: DeltaObject) -> None:
        # The informer hands handlers dicts (unpacked); unpacked() only satisfies the types here.
        if isinstance(obj, DeletedFinalStateUnknown):
            self._notify("DELETED", unpacked(obj.obj), key=obj.key)
        else:
            self._notify("DELETED", unpacked(obj))

    def _notify(self, event_type: str | None, body: dict[str, Any] | None, key: str | None = None,
                changed: bool = True) -> None:
        if not self.active:
            return  # a standby keeps its caches warm and does nothing else
        if key is None:
            assert body is not None
            key = object_key(body)
        if not self.context.namespace_matches(split_key(key)[0]):
            return
        if event_type == "DELETED" and body is not None:
            self.notices.record_deleted(key, body)
        if self.notices.keep_events and body is not None:
            self.notices.record_event(key, event_type, orjson.dumps(body))
        delay = self.bursts.change(key) if changed else 0.0
        if delay > 0:
            self.queue.add_after(key, delay)
        else:
            self.queue.add(key)

    # -- lifecycle ------------------------------------------------------------------------------

    def _indexer(self, key: str) -> Indexer | None:
        namespace = split_key(key)[0]
        informer = self.informers.get(namespace) if namespace in self.informers else self.informers.get(None)
        return informer.indexer if informer is not None else None

    def cached(self, key: str) -> dict[str, Any] | None:
        indexer = self._indexer(key)
        return indexer.get_by_key(key) if indexer is not None else None

    def cached_raw(self, key: str) -> bytes | None:
        """The cached object's JSON: what each reconcile decodes its private copies from."""
        indexer = self._indexer(key)
        return indexer.get_raw(key) if indexer is not None else None

    def activate(self) -> None:
        """Start handling: index the whole cache, queue every object (on.event handlers see each as
        the initial listing), start the workers.

        Called once the caches synced, and on a replica that just became the leader.
        """
        self.active = True
        keys = [key for informer in self.informers.values() for key in informer.indexer.list_keys()
                if self.context.namespace_matches(split_key(key)[0])]
        if self.context.indexes.declares(self.resource):
            self.context.indexes.rebuild(self.resource, (
                (key, raw) for key in keys if (raw := self.cached_raw(key)) is not None),
                memo_for=self.kwargs.memo_for)
        for key in keys:
            raw = self.cached_raw(key) if self.notices.keep_events else None
            if raw is not None:
                # The cache's objects are on.event's initial listing (kopf: type None), also after a takeover.
                self.notices.record_event(key, None, raw)
            self.queue.add(key)
        for index in range(self.workers):
            for target, kind in ((self._work_loop, "worker"), (self._finish_loop, "finisher")):
                thread = threading.Thread(target=target, name=f"{kind}-{self.name}-{index}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float) -> bool:
        """Stop taking keys; let running reconciles (and daemons) finish within ``timeout``. True if they did."""
        deadline = time.monotonic() + timeout
        self.timers.stop(DaemonStoppingReason.OPERATOR_EXITING)
        drained = self.queue.shut_down_with_drain(timeout)
        daemons_ended = self.daemons.stop_all(max(0.0, deadline - time.monotonic()))
        for _ in self._threads:
            self._resumes.put(None)
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()) if drained else 0.1)
        return drained and daemons_ended

    def threads_alive(self) -> bool:
        """Every worker and finisher thread still runs (false after one died, or after stop)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def _work_loop(self) -> None:
        while True:
            try:
                key = self.queue.get()
            except ShutDown:
                return
            self._guarded(key, functools.partial(self._begin, key))

    def _finish_loop(self) -> None:
        while True:
            item = self._resumes.get()
            if item is None:
                return
            reconcile, future = item
            self._guarded(reconcile.key, functools.partial(self._resume, reconcile, future))

    def _guarded(self, key: str, step: Callable[[], bool]) -> None:
        """Run one part of a reconcile; release the key unless it waits for an async handler."""
        waiting = False
        try:
            waiting = step()
        except Exception:
            logger.exception("%s: reconcile of %s failed unexpectedly; retrying", self.name, key)
            self.queue.add_rate_limited(key)
        finally:
            if not waiting:
                self.queue.done(key)

    # -- reconcile ------------------------------------------------------------------------------

    def _report_dropped(self, key: str, dropped: int) -> None:
        """Events for on.event handlers beyond the per-object bound were dropped (the oldest first):
        said once per visit of the key, and counted in /metrics."""
        object_logger(key).warning(
            "%d watch events were not given to on.event handlers: more than %d arrived while this object's "
            "worker was busy, and the oldest were dropped; a slow handler of this kind holds the worker "
            "(make it faster or async, or raise the workers)", dropped, MAX_EVENTS_PER_KEY)
        if self.context.metrics is not None:
            self.context.metrics.events_dropped.labels(self.name).inc(dropped)

    def _warn_unadopted(self, key: str, body: Mapping[str, Any]) -> None:
        unadopted = self.context.unadopted
        if unadopted is not None and unadopted.diff_base(body) is not None:
            object_logger(key).warning(
                "the object was handled by kopf (its bookkeeping is on it) but --adopt-kopf is not set: its "
                "handlers run again as for a new object; stop and run with --adopt-kopf (OPFRAME_ADOPT_KOPF=true) "
                "to continue where kopf left off")

    def _begin(self, key: str) -> bool:
        """Start reconciling ``key``. True if it now waits for an async handler."""
        settling = self.bursts.begin(key)
        if settling > 0:  # still changing in a burst: come back when it is quiet
            self.queue.add_after(key, settling)
            return False
        notices = self.notices.take(key)
        if notices.dropped_events:
            self._report_dropped(key, notices.dropped_events)
        raw = self.cached_raw(key)
        if self._indexed:
            self.context.indexes.refresh(self.resource, key, raw, memo=self.kwargs.memo_for(key) if raw else None)
        for event_type, event_raw in notices.events:
            self.invoker.run_event_handlers(key, event_type, event_raw)
        if raw is None:
            self._on_gone(key, notices.deleted_body)
            return False
        body = fresh_body(raw)
        if not self.writer.expectation_met(key, body):
            return False
        on_object = self.context.bookkeeping.diff_base_text(body)
        held = self.writer.held_diff_base(key, on_object)
        if held is not None:  # read the object as if the held diff-base had been written
            metadata = body.setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                       self.context.bookkeeping.last_handled: held}
        with self._lock:
            new_key = key not in self._seen
            first_sight = new_key or key in self._sighted_for_finalizer
            self._seen.add(key)
        cause = detect(body, bookkeeping=self.context.bookkeeping, first_sight=first_sight, include=self._include)
        if new_key and self.context.unadopted is not None and cause.reason is Reason.CREATE:
            self._warn_unadopted(key, body)
        matching = self.filters.matching(self.planned, key, body, raw, cause)
        being_deleted = bool((body.get("metadata") or {}).get("deletionTimestamp"))
        if being_deleted:
            self.daemons.stop_for_deletion(key)  # their end has the key reconciled again (on_exit)
        plan = planner.plan(body, handlers=self.planned, matching=matching, bookkeeping=self.context.bookkeeping,
                            first_sight=first_sight, now=now_utc(), include=self._include, cause=cause,
                            daemons_running=being_deleted and self.daemons.holding(key),
                            old_new=self.filters.old_new(self.planned, key, raw, cause))
        with self._lock:  # kopf's rule: a cycle spent on the finalizer does not use up the first sight
            if plan.for_finalizer and first_sight:
                self._sighted_for_finalizer.add(key)
            else:
                self._sighted_for_finalizer.discard(key)
        lifecycle = self.context.lifecycle
        if lifecycle is not None and plan.steps:  # user code: which due handlers run now (kopf's lifecycles)
            records = _records(plan)
            plan = planner.narrow(plan, [h.id for h in lifecycle(
                [s.handler for s in plan.steps], state={s.handler.id: records(s.handler.id) for s in plan.steps})])
        if plan.steps:
            object_logger(key).debug("%s is in progress: %r", TITLES.get(plan.cause.reason, "Handling"), body)
        reconcile = _Reconcile(key, raw, body, plan, matching, {}, held=held, on_object=on_object)
        return self._advance(reconcile)

    def _advance(self, reconcile: _Reconcile) -> bool:
        """Run the planned steps from ``position``; True if it stopped to wait for an async handler."""
        plan = reconcile.plan
        while reconcile.position < len(plan.steps):
            step = plan.steps[reconcile.position]
            reconcile.position += 1
            kwargs = self.kwargs.build(
                step.handler, fresh_body(reconcile.raw), reconcile.key, reason=plan.cause.reason,
                diff=step.diff, old=step.old, new=step.new, patch=plan.patch, retry=step.retry, started=step.started)
            progress = plan.progress
            assert progress is not None  # a plan with steps has progress
            if step.handler.is_async:
                reconcile.submitted = time.monotonic()
                future = self.context.loops.submit(parent_coroutine(step.handler, kwargs, _records(plan), now_utc()),
                                                   name=f"{step.handler.id} {reconcile.key}")
                future.add_done_callback(lambda done: self._resumes.put((reconcile, done)))
                return True
            reconcile.outcomes[step.handler.id] = self.invoker.invoke_change(step.handler, kwargs, _records(plan))
        self._end(reconcile)
        return False

    def _resume(self, reconcile: _Reconcile, future: concurrent.futures.Future[Any]) -> bool:
        handler = reconcile.plan.steps[reconcile.position - 1].handler
        try:
            outcome: Outcome = future.result()  # parent_coroutine() returns the outcome
        except BaseException as error:
            outcome = Raised(error)
        self.invoker.observe(handler, time.monotonic() - reconcile.submitted, isinstance(outcome, Raised))
        reconcile.outcomes[handler.id] = outcome
        return self._advance(reconcile)

    def _end(self, reconcile: _Reconcile) -> None:
        key, plan, matching = reconcile.key, reconcile.plan, reconcile.matching
        body = reconcile.body
        backoffs = {handler.id: RetryPolicy.of(handler, self.context.default_backoff).backoff_delay(
            failures, self.context.rng) for handler, failures in planner.failed_attempts(plan, reconcile.outcomes)}
        decision = planner.conclude(plan, reconcile.outcomes, body=body, bookkeeping=self.context.bookkeeping,
                                    now=now_utc(), backoffs=backoffs)
        self.reporter.cause(key, body, plan.cause.reason, {s.handler.id: s.handler.kind.value for s in plan.steps},
                            decision.failures, decision.succeeded, decision.finished)
        come_back = decision.come_back
        if plan.daemons_running:
            object_logger(key).info("waiting for the daemons of a deleted object to exit before releasing it")
        if not plan.being_deleted:
            try:  # user code (initial_delay= callables, daemon starts) must not cost the handlers' write
                come_back = planner.earliest(come_back, self.timers.run(
                    key, reconcile.raw, decision.patch, digest(plan.cause.essence), matching))
                self.daemons.keep(key, self.daemon_handlers, matching, lambda: fresh_body(reconcile.raw),
                                  lambda h, live: self.kwargs.build(h, live.state, key, reason="daemon"))
            except Exception:
                object_logger(key).exception("timers or daemons could not be scheduled")
        patch = decision.patch
        last_handled = self.context.bookkeeping.last_handled
        if reconcile.held is not None and last_handled not in (patch.get("metadata") or {}).get("annotations", {}):
            patch.metadata.annotations[last_handled] = reconcile.held
        held_back = planner.diff_base_only(patch, self.context.bookkeeping)
        try:
            if held_back is not None and self._changed_again(key, plan.cause.essence):
                self.writer.hold_diff_base(key, held_back, reconcile.on_object)
            else:
                self.writer.apply(key, patch)
        except errors.Conflict:
            self.queue.add_after(key, CONFLICT_RETRY_DELAY)
            return
        except errors.NotFound:
            return
        if come_back is not None and decision.retrying:
            self.queue.retry_after(key, come_back)
        elif come_back is not None:
            self.queue.add_after(key, come_back)
        else:
            self.queue.forget(key)

    def _changed_again(self, key: str, handled: Mapping[str, Any]) -> bool:
        """Whether the cache already holds a newer essence of ``key`` than the one just handled: its
        watch event has queued (or will queue) another reconcile, which will write a held diff-base."""
        cached = self.cached(key)
        return cached is not None and essence(
            cached, own_prefix=self.context.bookkeeping.own_prefix, include=self._include, copied=False) != handled

    def _on_gone(self, key: str, last_body: dict[str, Any] | None) -> None:
        """The object left the cache: forget it; release a finalizer it still holds. An object deleted at
        once (no finalizer held it) gets its optional delete handlers here, from its last body (beyond
        kopf, which never calls them then). Per-key state is dropped last: the release and the optional
        handlers build kwargs (an object's memo) that must not outlive it."""
        try:
            self._handle_gone(key, last_body)
        finally:
            self._forget(key)

    def _handle_gone(self, key: str, last_body: dict[str, Any] | None) -> None:
        if last_body is None:
            return
        if self.context.bookkeeping.holds_finalizer(last_body):
            self._release(key)
            return
        if (last_body.get("metadata") or {}).get("deletionTimestamp"):
            # Its deletion waited for finalizers: optional delete handlers ran in the DELETE cause
            # if ours was among them (kopf's rule), and must not run a second time here.
            return
        raw = orjson.dumps(last_body)
        for handler in self.handlers:
            if handler.kind is Kind.DELETE and handler.optional and self.filters.passes(handler, key, last_body, raw):
                kwargs = self.kwargs.build(handler, fresh_body(raw), key, reason=Reason.DELETE.value, patch=Patch())
                outcome = self.invoker.invoke(handler, kwargs)
                if isinstance(outcome, Raised):
                    object_logger(key).error("optional delete handler %s failed: %s", handler.id, outcome.error)

    def _release(self, key: str) -> None:
        """The object left our watch still holding our finalizer: it stopped matching the
        label selector (or the cache saw its deletion late). If it still exists, no handler
        of ours matches it any more, so the finalizer must go, or it can never be deleted."""
        fresh = self.writer.read(key)
        if fresh is None:
            return
        matching = self.filters.matching(self.planned, key, fresh, orjson.dumps(fresh))
        if any(h.requires_finalizer and h.id in matching for h in self.planned):
            return  # it matches again: it is (or will be) back in the cache and handled there
        patch = planner.release(fresh, self.context.bookkeeping)
        if patch is None:
            return
        try:
            self.writer.apply(key, patch)
            object_logger(key).info("released the finalizer of an object that no longer matches any handler")
        except errors.Conflict:
            self.notices.record_deleted(key, fresh)  # try again with its state then
            self.queue.add_after(key, CONFLICT_RETRY_DELAY)
        except errors.NotFound:
            pass

    def _write_daemon_patch(self, key: str, patch: Patch) -> None:
        """A daemon attempt's patch, written at once (kopf applies it after every attempt). Its
        expectation is recorded only while the key is known: ``_forget`` drops ``_seen`` before the
        writer's expectations, under the same lock, so a daemon ending after its object left
        leaves nothing behind."""
        with contextlib.suppress(errors.NotFound):
            version = self.writer.apply(key, patch, expect=False)
            with self._lock:
                if version is not None and key in self._seen:
                    self.writer.expect(key, version)

    def _forget(self, key: str) -> None:
        """Drop every piece of per-key state: the one place a key's memory is released."""
        with self._lock:
            self._seen.discard(key)
            self._sighted_for_finalizer.discard(key)
        self.writer.forget(key)
        self.timers.schedule.forget(key)
        self.daemons.forget(key)
        self.kwargs.forget(key)
        self.queue.forget(key)
        self.bursts.forget(key)

    def tracked_keys(self) -> int:
        """How many keys hold per-key state anywhere (for tests: nothing outlives its key)."""
        with self._lock:
            seen = len(self._seen)
        return (seen + len(self.notices) + self.writer.tracked() + self.timers.schedule.tracked()
                + self.daemons.tracked() + self.kwargs.tracked())


def _records(plan: Plan) -> Records:
    """The plan's progress records by handler id, read without adding any (a fresh one if none)."""
    handlers = plan.progress.handlers if plan.progress is not None else {}
    return lambda handler_id: handlers.get(handler_id) or HandlerRecord()
