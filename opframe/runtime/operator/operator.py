"""Operator: wires informers, controllers, leader election, health and Events for one operator.

Start-up is all-or-nothing: ``prepare()`` (startup.py) checks the handlers, the
cluster, every resource name and the RBAC permissions before anything is watched.
``start()`` runs the startup handlers, starts the informers, waits for their caches,
then starts handling (controller-runtime's order: no worker before every cache has
synced). With leader election, a standby keeps its caches warm and handles nothing:
no user code, no queue; the controllers are activated when it becomes the leader.
``stop()`` stops taking work, lets running handlers finish within the shutdown
timeout, stops daemons and informers, and runs the cleanup handlers.

Watches: for each resolved resource, one informer per namespace when the namespaces
are named explicitly (and the resource is namespaced), else one cluster-wide informer
whose objects the controller filters by namespace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from opframe.cache.informer import SharedIndexInformer, wait_for_cache_sync
from opframe.cache.listwatch import ResourceListerWatcher
from opframe.cache.reflector import MIN_WATCH_TIMEOUT, ReflectorStats
from opframe.handlers import filters
from opframe.handlers.bookkeeping import Bookkeeping, ForeignBookkeeping
from opframe.handlers.handler import ADMISSION_KINDS, Handler, Kind
from opframe.handlers.memos import Memo
from opframe.handlers.progress import now_utc
from opframe.handlers.registry import Registry, get_default_registry
from opframe.kube import errors
from opframe.kube.client import ClientSettings, KubeClient
from opframe.kube.credentials import ConnectionInfo
from opframe.kube.resources import Resource
from opframe.models.conversion import conversions
from opframe.models.resource import RESOURCES
from opframe.queue.backlog import Backlog
from opframe.queue.bursts import Bursts
from opframe.runtime.admission import configurations, policies
from opframe.runtime.admission.authority import AuthorityError
from opframe.runtime.admission.certificates import CertificateError
from opframe.runtime.admission.configurations import ConfigurationError
from opframe.runtime.admission.serving import webhook_segment
from opframe.runtime.admission.webhooks import Webhooks
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.kwargs import Api, attempt_kwargs
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.operator.activities import ActivityError, run_activity
from opframe.runtime.operator.health import HealthServer, Passed
from opframe.runtime.operator.leader import LeaderElector, LeaseConfig, default_identity
from opframe.runtime.operator.startup import (
    StartupError,
    first_line,
    kubeconfig_namespace,
    prepare,
    service_account_namespace,
)
from opframe.runtime.reconcile.controller import Controller, RuntimeContext
from opframe.runtime.reconcile.indexes import OperatorIndexes
from opframe.runtime.telemetry.events import EventRecorder
from opframe.runtime.telemetry.metrics import OperatorMetrics
from opframe.settings import NamespaceSelector, Settings, SettingsView

logger = logging.getLogger("opframe.operator")

__all__ = ["Operator", "StartupError", "first_line"]

#: The Events' own budget: bursts of 100, then 50 a second; beyond that they queue and,
#: when the queue is full, are dropped (Events are best effort).
EVENTS_QPS = 50.0
EVENTS_BURST = 100
EVENTS_RETRY_BUDGET = 5.0
#: A reflector that made no attempt and heard nothing for this long past its own
#: inactivity timeout is wedged (its loop is not running): liveness fails. An API
#: server that does not answer is not this: the reflector keeps attempting.
WEDGED_MARGIN = 120.0


class Running(Protocol):
    """What others may read of a running operator: its Event recorder and its settings view."""

    events: EventRecorder | None
    settings_view: SettingsView | None


_running_lock = threading.Lock()
#: Operators started and not yet stopped, oldest first (see ``running()``).
_running: list[Running] = []


def announce(operator: Running) -> None:
    """``operator`` started: it is the one ``running()`` gives until it withdraws or another starts."""
    with _running_lock:
        _running.append(operator)


def withdraw(operator: Running) -> None:
    with _running_lock:
        _running[:] = [known for known in _running if known is not operator]


def running() -> Running | None:
    """The most recently started operator that is still running (kopf's posting helpers post through
    it: threads do not inherit context variables, so there is no finer route); None if none is."""
    with _running_lock:
        return _running[-1] if _running else None


class Operator:
    """One operator: ``settings`` (opframe's), ``registry`` (default: the decorators' one),
    ``memo`` (the operator's memo, of which each object gets a shallow copy),
    ``settings_view`` (another API's view of the settings, kopf's OperatorSettings: handlers get it
    as ``settings``, and what startup handlers change in it is applied after them),
    ``lifecycle`` (which due handlers run per reconcile: kopf's lifecycles; None: all of them),
    ``foreign`` (another operator's bookkeeping: kopf's; continued with ``adopt_kopf``, else only
    noticed: an object that carries it and none of ours is handled as new, with a warning).

    opframe's entry points (``opframe run``, ``kopf.operator()``/``kopf.run()``) give kopf's:
    see opframe/kopf/.
    """

    def __init__(self, settings: Settings | None = None, registry: Registry | None = None, *,
                 memo: Memo | None = None, settings_view: SettingsView | None = None,
                 lifecycle: Callable[..., Any] | None = None, foreign: ForeignBookkeeping | None = None) -> None:
        self.settings = settings or Settings()
        self.registry = registry if registry is not None else get_default_registry()
        self.settings_view = settings_view
        if settings_view is not None:
            settings_view.bind(self.settings)
        self.lifecycle = lifecycle
        self.foreign = foreign
        self.namespaces = NamespaceSelector(self.settings.namespaces, all_namespaces=self.settings.all_namespaces)
        self.client: KubeClient | None = None
        self.resources: dict[tuple[str, ...], Resource] = {}
        self.controllers: dict[Resource, Controller] = {}
        self.informers: dict[tuple[Resource, str | None], SharedIndexInformer] = {}
        self.memo = memo if memo is not None else Memo()
        #: Set on stop(): ends activities' waits between retries.
        self.stopping = threading.Event()
        self.api: Api | None = None
        self.events: EventRecorder | None = None
        self.metrics: OperatorMetrics | None = None
        self.health: HealthServer | None = None
        self.elector: LeaderElector | None = None
        #: Set when this replica lost its lease: it must stop handling and exit non-zero.
        self.lost_leadership = threading.Event()
        self.loops: LoopPool | None = None
        self.webhooks: Webhooks | None = None
        #: The cel= handlers' ValidatingAdmissionPolicies, applied by the leader (never withdrawn).
        self.admission_policies: list[policies.Policy] = []
        self.policy_keeper: policies.PolicyKeeper | None = None
        self.started = threading.Event()
        self.stopped = threading.Event()
        #: Objects whose handlers still ran when stop() gave up waiting: their work was abandoned (it
        #: runs again at the next start); the CLI exits non-zero then. Daemons do not count.
        self.abandoned: list[str] = []

    def prepare(self) -> None:
        """Log in (on.login handlers), then check everything start() needs; StartupError on the first problem."""
        if self.settings.adopt_kopf and self.foreign is None:
            raise StartupError("adopt_kopf is set but this Operator was given no foreign bookkeeping to read; "
                               "pass foreign=opframe.kopf.storage.KopfBookkeeping.of(settings) (opframe run and "
                               "kopf.operator() do)")
        if self.loops is None:
            self.loops = LoopPool()
        prepared = prepare(self.settings, self.registry, self.namespaces,
                           login=self._login if self.registry.handlers(Kind.LOGIN) else None)
        self.client, self.resources = prepared.client, prepared.resources
        self.api = Api(self.client, self.settings, self.memo, self.settings_view)

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.client is None:
            self.prepare()
        assert self.client is not None and self.loops is not None
        for handler in self.registry.handlers(Kind.STARTUP):
            try:
                run_activity(handler, self._activity_kwargs(), self.loops, stop=self.stopping,
                             default_backoff=self.settings.default_backoff)
            except ActivityError as exc:
                raise StartupError(f"{exc}; the operator does not start") from exc
        if self.stopping.is_set():
            return  # asked to stop while starting (Ctrl-C, a cancelled operator()): nothing more starts
        self._apply_settings_view()
        for handler in self.registry.handlers(Kind.DAEMON):
            if handler.cancellation_polling is not None:
                logger.warning("daemon %s: cancellation_polling=%s has no effect in opframe: a sync daemon's thread "
                               "cannot be cancelled, only asked to stop (it should check stopped); an async one is "
                               "cancelled after cancellation_backoff", handler.id, handler.cancellation_polling)
        indexes = OperatorIndexes(self.loops)
        self.metrics = OperatorMetrics()
        self.client.observer = self.metrics.observe_request
        # Events get a client and a request budget of their own (as client-go's event
        # broadcaster does), so that posting them never slows the handlers' writes.
        events_client = KubeClient(self.client.configuration, ClientSettings(
            qps=EVENTS_QPS, burst=EVENTS_BURST, retry_budget=EVENTS_RETRY_BUDGET), credentials=self.client.credentials)
        self.events = EventRecorder(events_client, enabled=self.settings.post_events,
            component=self.settings.event_component, instance=self.settings.event_instance,
            name_prefix=self.settings.event_name_prefix)
        self.events.start()
        announce(self)
        context = RuntimeContext(
            client=self.client,
            bookkeeping=Bookkeeping(self.settings.prefix, self.settings.finalizer_name,
                                    foreign=self.foreign if self.settings.adopt_kopf else None),
            unadopted=None if self.settings.adopt_kopf else self.foreign,
            memo=self.memo, loops=self.loops,
            events=self.events, success_events=self.settings.success_events,
            default_backoff=self.settings.default_backoff,
            lifecycle=self.lifecycle,
            namespace_matches=self.namespaces.matches, indexes=indexes, api=self.api, metrics=self.metrics)
        # Group by the resolved resource first: two names for one resource ("pods" and
        # "v1/pods") share one informer, whose label selector must suit all their handlers.
        by_resource: dict[Resource, list[Handler]] = {}
        admission: list[tuple[Handler, Resource]] = []
        for spec, resource in self.resources.items():
            for handler in self.registry.handlers():
                if handler.resource == spec:
                    if handler.kind in ADMISSION_KINDS:  # served by the webhook server, not watched
                        admission.append((handler, resource))
                    else:
                        by_resource.setdefault(resource, []).append(handler)
        for resource, handlers in by_resource.items():
            for handler in handlers:
                if handler.kind is Kind.INDEX:
                    indexes.declare(resource, handler)
            selector = filters.label_selector([h.labels for h in handlers])
            informers: dict[str | None, SharedIndexInformer] = {}
            for namespace in self.namespaces.scopes(resource.namespaced):
                name = resource.qualified_name if namespace is None else f"{resource.qualified_name}@{namespace}"
                informer = SharedIndexInformer(
                    ResourceListerWatcher(self.client, resource, namespace=namespace, label_selector=selector),
                    name=name, inactivity_timeout=self.settings.inactivity_timeout,
                    use_watch_list=self.settings.watch_list, page_size=self.settings.page_size,
                    min_watch_timeout=self.settings.watch_timeout or MIN_WATCH_TIMEOUT)
                informers[namespace] = self.informers[resource, namespace] = informer
                self.metrics.watch_reflector(name, _stats_of(informer))
            self.controllers[resource] = Controller(
                context, resource, handlers, informers, workers=self.settings.workers,
                bursts=Bursts(window=self.settings.burst_window, max_delay=self.settings.burst_max_delay),
                backlog=Backlog(window=self.settings.backlog_window))
        served = [(handler, resource) for handler, resource in admission if not policies.is_policy(handler)]
        try:  # cel= handlers: the API server enforces them; no webhook server for them alone
            self.admission_policies = policies.policies(
                admission, managed=self.settings.webhook_managed or policies.DEFAULT_MANAGED, segment=webhook_segment,
                own_namespace=service_account_namespace(), served_namespaces=self.namespaces.explicit)
        except ConfigurationError as exc:
            raise StartupError(f"the ValidatingAdmissionPolicies cannot be made: {exc}") from None
        try:  # resources declared as models in several versions with a hub: their conversion webhook
            converting = conversions(RESOURCES, {f"{r.plural}.{r.group}" for r in self.resources.values() if r.group})
        except TypeError as exc:
            raise StartupError(f"the versions of a resource cannot be converted: {exc}") from None
        if served or converting:
            try:
                self.webhooks = Webhooks(self.settings, served, client=self.client, loops=self.loops,
                                         memo=self.memo, indexes=indexes.kwargs,
                                         own_namespace=service_account_namespace(),
                                         served_namespaces=self.namespaces.explicit,
                                         extra=lambda: {"api": self.api}, conversions=converting)
                self.webhooks.server.observer = self.metrics.observe_admission
                self.webhooks.start()
            except (CertificateError, AuthorityError, ConfigurationError, errors.KubeError, OSError) as exc:
                raise StartupError(f"the admission webhook server cannot start: {exc}") from None
        for informer in self.informers.values():
            informer.start()
        self._start_health_server()
        synced = wait_for_cache_sync(*(i.has_synced for i in self.informers.values()),
                                     timeout=self.settings.sync_timeout, stop=self.stopping)
        if self.stopping.is_set():
            return  # stop() takes down what started; no handler runs
        if not synced:
            raise StartupError(f"the caches did not sync within {self.settings.sync_timeout:.0f} s; check the "
                               "API server's health, or raise OPFRAME_SYNC_TIMEOUT")
        if self.settings.leader_election:
            self._start_leader_election()
        else:
            self._start_handling()

    def _start_handling(self) -> None:
        for controller in self.controllers.values():
            controller.activate()
        if self.webhooks is not None:
            try:
                self.webhooks.configure()
            except (ConfigurationError, errors.KubeError) as exc:
                raise StartupError(f"the webhook configurations cannot be written: {exc}") from None
        try:
            if self.admission_policies:
                assert self.client is not None
                owner = (configurations.owner_reference(self.client, self.settings.webhook_owner)
                         if self.settings.webhook_owner else None)
                policies.enforce(self.client, self.admission_policies, owner)
                self.policy_keeper = policies.PolicyKeeper(self.client, self.admission_policies, owner)
                self.policy_keeper.start()
        except (ConfigurationError, errors.KubeError) as exc:
            raise StartupError(f"the ValidatingAdmissionPolicies cannot be written: {exc}") from None
        self.started.set()
        logger.info("opframe started: %s; serving %s", ", ".join(
            f"{r.qualified_name} ({len(c.handlers)} handlers)" for r, c in self.controllers.items()) or "no resources",
            self.namespaces.describe())

    def _start_leader_election(self) -> None:
        assert self.client is not None
        namespace = (self.settings.lease_namespace or service_account_namespace()
                     or kubeconfig_namespace(self.settings) or "default")
        config = LeaseConfig(name=self.settings.lease_name, namespace=namespace, identity=default_identity(),
                             lease_duration=self.settings.lease_duration,
                             renew_deadline=self.settings.renew_deadline, retry_period=self.settings.retry_period)
        # One attempt per request, each shorter than a retry period: a renewal must fail
        # fast enough for the leader to give up before its lease can expire for others.
        lease_client = KubeClient(self.client.configuration, ClientSettings(
            retry_budget=0.0, request_timeout=config.retry_period, connect_timeout=config.retry_period),
            credentials=self.client.credentials)
        gauge = self.metrics.leader.labels(config.name) if self.metrics is not None else None

        def started_leading() -> None:
            if gauge is not None:
                gauge.set(1)
            self._start_handling()

        def stopped_leading() -> None:
            if gauge is not None:
                gauge.set(0)
            # Stop handling at once: no new keys; the process then exits non-zero.
            for controller in self.controllers.values():
                controller.queue.shut_down()
            self.lost_leadership.set()

        self.elector = LeaderElector(lease_client, config, on_started_leading=started_leading,
                                     on_stopped_leading=stopped_leading)
        logger.info("waiting to lead lease %s/%s as %s", namespace, config.name, config.identity)
        self.elector.start()

    def _start_health_server(self) -> None:
        """/healthz: is the operator wedged (a reflector or worker not running while it could);
        /readyz: synced, leading if elected, and every watch hearing from the API server."""
        if self.settings.health_port is None and not self.settings.liveness_endpoint:
            return
        inactivity = max((i.reflector.inactivity_limit() for i in self.informers.values()), default=0.0)
        wedged_after = inactivity + WEDGED_MARGIN

        def probe_check(handler: Handler) -> Callable[[], str | Passed | None]:
            def check() -> str | Passed | None:
                result = call(handler, {**self._activity_kwargs(), "activity": "probe", "param": handler.param,
                                        "logger": logging.getLogger("opframe.activities.probe"),
                                        **attempt_kwargs(0, now_utc())}, self.loops)
                return None if result is None else Passed(result)
            return check

        def wedged_check(informer: SharedIndexInformer) -> Callable[[], str | None]:
            def check() -> str | None:
                if informer.wedged(wedged_after):
                    return (f"the watch loop made no attempt for {informer.reflector.seconds_since_activity():.0f} s "
                            f"(state {informer.reflector.state.value})")
                return None
            return check

        def connected_check(informer: SharedIndexInformer) -> Callable[[], str | None]:
            def check() -> str | None:
                if informer.reflector.stuck():
                    return (f"no news from the API server for {informer.reflector.seconds_since_activity():.0f} s "
                            f"(state {informer.reflector.state.value})")
                return None
            return check

        def backlog_check(controller: Controller) -> Callable[[], str | Passed | None]:
            def check() -> str | Passed | None:
                detail = controller.backlog.detail() if controller.backlog is not None else None
                return None if detail is None else Passed(detail)
            return check

        def workers_check(controller: Controller) -> Callable[[], str | None]:
            def check() -> str | None:
                if controller.active and not controller.queue.shutting_down and not controller.threads_alive():
                    return "a worker thread died"
                return None
            return check

        liveness: list[tuple[str, Callable[[], str | Passed | None]]] = [("ping", lambda: None)]
        liveness += [(f"watch-{i.name}", wedged_check(i)) for i in self.informers.values()]
        liveness += [(f"workers-{r.qualified_name}", workers_check(c)) for r, c in self.controllers.items()]
        liveness += [(f"probe-{h.id}", probe_check(h)) for h in self.registry.handlers(Kind.PROBE)]
        readiness: list[tuple[str, Callable[[], str | Passed | None]]] = [
            ("informers-synced", lambda: None if all(i.has_synced() for i in self.informers.values())
             else "caches not synced yet"),
            ("leader-election", lambda: "lost the lease" if self.lost_leadership.is_set() else None),
        ]
        readiness += [(f"watch-{i.name}", connected_check(i)) for i in self.informers.values()]
        # A queue falling behind is shown, not failed: the replica still serves (and a restart would not help).
        readiness += [(f"queue-{r.qualified_name}", backlog_check(c)) for r, c in self.controllers.items()]
        if self.webhooks is not None:
            readiness.append(("webhook-server", self.webhooks.reachable))
        probes_path: str | None = None
        host, port = self.settings.health_host, self.settings.health_port
        if self.settings.liveness_endpoint:
            endpoint = urlsplit(self.settings.liveness_endpoint)
            probes_path = endpoint.path or "/"
            if port is None:
                host, port = endpoint.hostname or "0.0.0.0", endpoint.port or 80
            elif (endpoint.port, endpoint.hostname) != (port, host):
                logger.warning("-L %s: served on the health port %d instead", self.settings.liveness_endpoint, port)
        assert port is not None
        self.health = HealthServer(host, port, liveness=liveness, readiness=readiness,
                                   metrics=self.metrics.render if self.metrics else None,
                                   probes=self._probe_results, probes_path=probes_path)
        self.health.start()
        logger.info("health and metrics on %s:%d (/healthz, /readyz, /metrics%s)", host, self.health.port,
                    f", probes at {probes_path}" if probes_path else "")

    def _probe_results(self) -> dict[str, Any]:
        """kopf's liveness body: every probe handler's result by its id."""
        return {h.id: run_activity(h, self._activity_kwargs(), self.loops, stop=self.stopping,
                                   default_backoff=self.settings.default_backoff)
                for h in self.registry.handlers(Kind.PROBE)}

    def stop(self) -> None:
        self.stopping.set()
        if self.webhooks is not None:
            # First, so that the API server stops calling a server that is going away; under leader
            # election the other replicas serve on, and the configurations stay for them.
            # With webhook_drain it answers on (not ready) while the rest stops, until finish_stop().
            self.webhooks.begin_stop(withdraw=not self.settings.leader_election)
        if self.policy_keeper is not None:
            self.policy_keeper.stop()  # the policies stay: that they hold without the operator is their point
        timeout = 0.0 if self.lost_leadership.is_set() else self.settings.shutdown_timeout
        running = [key for controller in self.controllers.values() for key in sorted(controller.queue.processing())]
        if running and timeout:
            logger.info("stopping: waiting up to %.0f s (OPFRAME_SHUTDOWN_TIMEOUT) for the handlers of %d object%s "
                        "to finish: %s", timeout, len(running), "" if len(running) == 1 else "s", some_keys(running))
        deadline = time.monotonic() + timeout
        for controller in self.controllers.values():
            if not controller.stop(max(0.0, deadline - time.monotonic())):
                # Handlers cut short lose their attempt: abandoned work (the CLI exits 1). A daemon that
                # outlives the timeout is not: daemons run until stopped by nature, and start again with
                # the operator (kopf's exit code is 0 then, and so is opframe's).
                left = sorted(controller.queue.processing())
                self.abandoned.extend(left)
                logger.warning("%s: %s still running after %.0f s; stopping anyway", controller.name,
                               f"the handlers of {some_keys(left)}" if left else "daemons", timeout)
        if self.elector is not None:
            self.elector.stop()  # a leader releases its lease, so a standby takes over at once
        for informer in self.informers.values():
            informer.stop()
        if self.started.is_set() or self.controllers:
            for handler in self.registry.handlers(Kind.CLEANUP):
                try:
                    run_activity(handler, self._activity_kwargs(), self.loops,
                                 default_backoff=self.settings.default_backoff, stop=self._cleanup_deadline())
                except ActivityError:
                    logger.exception("cleanup handler %s failed", handler.id)
        if self.events is not None:
            withdraw(self)
            self.events.stop()
        if self.webhooks is not None:
            self.webhooks.finish_stop()  # before the loops close: answers still being made may need them
        if self.loops is not None:
            self.loops.close()
        if self.client is not None:
            self.client.close()
        if self.health is not None:
            self.health.stop()
        self.stopped.set()

    def run(self, stop: threading.Event) -> None:
        """prepare, start, wait for ``stop``, stop."""
        self.prepare()
        try:
            self.start()
            stop.wait()
        finally:
            self.stop()

    def _activity_kwargs(self) -> dict[str, Any]:
        """What every activity gets besides its own attempt's kwargs (activities.py adds those)."""
        indexes = self.controllers and next(iter(self.controllers.values())).context.indexes.kwargs()
        settings = self.settings_view if self.settings_view is not None else self.settings
        return {"memo": self.memo, "settings": settings, "api": self.api, **(indexes or {})}

    def _cleanup_deadline(self) -> threading.Event:
        """A flag set after the shutdown timeout: cleanup handlers are retried until then (kopf's rule)."""
        deadline = threading.Event()
        timer = threading.Timer(self.settings.shutdown_timeout, deadline.set)
        timer.daemon = True
        timer.start()
        return deadline

    def _login(self) -> ConnectionInfo:
        """Credentials from the on.login handlers (the highest priority wins); run again on a 401."""
        handlers = self.registry.handlers(Kind.LOGIN)
        found: list[ConnectionInfo] = []
        for handler in handlers:
            try:
                info = run_activity(handler, self._activity_kwargs(), self.loops, stop=self.stopping,
                                    default_backoff=self.settings.default_backoff)
            except ActivityError as exc:
                raise StartupError(f"{exc}; the operator cannot log in") from exc
            if info is not None and not isinstance(info, ConnectionInfo):
                raise StartupError(f"login handler {handler.id} returned {type(info).__name__}; return a "
                                   "kopf.ConnectionInfo (or None)")
            if info is not None:
                found.append(info)
        if not found:
            raise StartupError(f"the login handlers ({', '.join(h.id for h in handlers)}) returned no credentials; "
                               "return a ConnectionInfo, e.g. kopf.login_via_client(**kwargs)")
        return max(found, key=lambda info: info.priority)

    def _apply_settings_view(self) -> None:
        """What startup handlers changed in the settings view (kopf's OperatorSettings), applied to the Settings."""
        if self.settings_view is None:
            return
        try:
            self.settings, warnings = self.settings_view.applied_to(self.settings)
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        for warning in warnings:
            logger.warning("%s", warning)
        self.settings_view.bind(self.settings)  # handlers read what the operator runs with
        if self.api is not None:
            self.api.settings = self.settings


def _stats_of(informer: SharedIndexInformer) -> Callable[[], ReflectorStats]:
    return lambda: informer.reflector.stats


def some_keys(keys: list[str], shown: int = 5) -> str:
    """Some keys, for a log line: the first ``shown`` and how many more."""
    more = len(keys) - shown
    return ", ".join(keys[:shown]) + (f" and {more} more" if more > 0 else "")
