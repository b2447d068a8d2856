"""Operator: validates everything, then wires one informer + controller per watched kind.

Start-up is all-or-nothing: ``prepare()`` checks the handlers, the cluster, every
resource name and the RBAC permissions before anything is watched, and raises one
``StartupError`` whose message names the cause and the fix. ``start()`` runs the
startup handlers, starts the informers, waits for their caches, then starts the
workers (controller-runtime's order: no worker before every cache has synced).
``stop()`` stops taking work, lets running handlers finish within the shutdown
timeout, stops daemons and informers, and runs the cleanup handlers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from opframe.cache.informer import SharedIndexInformer, wait_for_cache_sync
from opframe.cache.listwatch import ResourceListerWatcher
from opframe.cache.reflector import ReflectorStats
from opframe.handlers import filters
from opframe.handlers.progress import Annotations
from opframe.handlers.registry import CHANGE_KINDS, Handler, Kind, Registry, default_registry
from opframe.kube import errors
from opframe.kube.client import ClientSettings, KubeClient
from opframe.kube.config import ConfigurationError, load_configuration
from opframe.kube.discovery import AmbiguousResourceError, Discovery, ResourceNotFoundError
from opframe.kube.resources import Resource
from opframe.runtime.controller import Controller, RuntimeContext
from opframe.runtime.events import EventRecorder
from opframe.runtime.health import HealthServer, Passed
from opframe.runtime.indexes import OperatorIndexes
from opframe.runtime.invocation import AsyncRunner, Memo, call
from opframe.runtime.leader import LeaderElector, LeaseConfig, default_identity
from opframe.runtime.metrics import OperatorMetrics
from opframe.settings import NamespaceSelector, Settings

logger = logging.getLogger("opframe.operator")

#: How long start-up waits for the API server to answer before calling it unreachable.
REACHABILITY_BUDGET = 5.0
#: The Events' own budget: bursts of 100, then 50 a second; beyond that they queue and,
#: when the queue is full, are dropped (Events are best effort).
EVENTS_QPS = 50.0
EVENTS_BURST = 100
EVENTS_RETRY_BUDGET = 5.0
SELF_SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                       namespaced=False)


class StartupError(Exception):
    """The operator cannot start; the message names the cause and the fix."""


class Operator:
    def __init__(self, settings: Settings | None = None, registry: Registry | None = None) -> None:
        self.settings = settings or Settings()
        self.registry = registry if registry is not None else default_registry
        self.namespaces = NamespaceSelector(self.settings.namespaces, all_namespaces=self.settings.all_namespaces)
        self.client: KubeClient | None = None
        self.resources: dict[tuple[str, ...], Resource] = {}
        self.controllers: dict[Resource, Controller] = {}
        self.informers: dict[Resource, SharedIndexInformer] = {}
        self.memo = Memo()
        self._discovery: Discovery | None = None
        self.events: EventRecorder | None = None
        self.metrics: OperatorMetrics | None = None
        self.health: HealthServer | None = None
        self.elector: LeaderElector | None = None
        self.leader_gauge: Any = None
        #: Set when this replica lost its lease: it must stop handling and exit non-zero.
        self.lost_leadership = threading.Event()
        self.runner: AsyncRunner | None = None
        self.started = threading.Event()
        self.stopped = threading.Event()

    # -- validation -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Check everything start() needs; raise StartupError on the first problem."""
        if not self.registry.resources() and not self.registry.handlers(Kind.STARTUP):
            raise StartupError("no handlers are registered; decorate functions with @opframe.on.create(...), "
                               "@opframe.on.update(...) and the like in the operator file")
        try:
            configuration = load_configuration(self.settings.kubeconfig, context=self.settings.context)
        except ConfigurationError as exc:
            raise StartupError(str(exc)) from None
        if not self.namespaces.all_namespaces and not self.namespaces.include:
            self.namespaces.include = [_kubeconfig_namespace(self.settings) or "default"]
        self.client = KubeClient(configuration, ClientSettings(qps=self.settings.qps, burst=self.settings.burst))
        probe = KubeClient(configuration, ClientSettings(retry_budget=REACHABILITY_BUDGET))
        try:
            probe.request("GET", "/version")
        except errors.TransportError as exc:
            raise StartupError(f"cannot reach the API server at {configuration.host} ({_first_line(exc)}); check "
                               "that the cluster is running and that the kubeconfig points at it") from None
        except errors.Unauthorized:
            raise StartupError(f"the API server at {configuration.host} rejected the credentials (401); renew "
                               "the token or certificate in the kubeconfig") from None
        except errors.ApiError:
            pass  # /version may be forbidden; discovery below tells more
        finally:
            probe.close()
        discovery = Discovery(self.client)
        for spec in self.registry.resources():
            try:
                self.resources[spec] = discovery.resolve(*spec)
            except (ResourceNotFoundError, AmbiguousResourceError) as exc:
                raise StartupError(f"{exc} (used by {self._users(spec)})") from None
            except errors.Forbidden as exc:
                raise StartupError(f"discovery is forbidden ({exc.message}); grant the operator's account "
                                   "the system:discovery ClusterRole") from None
        self._check_rbac()

    def _users(self, spec: tuple[str, ...]) -> str:
        return ", ".join(sorted({h.id for h in self.registry.handlers() if h.resource == spec}))

    def _check_rbac(self) -> None:
        assert self.client is not None
        missing: list[str] = []
        for spec, resource in self.resources.items():
            kinds = {h.kind for h in self.registry.handlers() if h.resource == spec}
            verbs = ["list", "watch"]
            if kinds & (CHANGE_KINDS | {Kind.TIMER, Kind.DAEMON}):  # they write to the object
                verbs.append("patch")
            scopes = [self.namespaces.single] if resource.namespaced and self.namespaces.single else [None]
            for namespace in scopes:
                for verb in verbs:
                    if not self._allowed(resource, verb, namespace):
                        where = f"in namespace {namespace}" if namespace else "cluster-wide"
                        missing.append(f"{verb} {resource.qualified_name} {where}")
        if missing:
            raise StartupError(
                f"RBAC forbids the operator to {'; '.join(missing)}; grant these verbs to its account with a "
                "Role/RoleBinding (one namespace) or a ClusterRole/ClusterRoleBinding (cluster-wide)")

    def _allowed(self, resource: Resource, verb: str, namespace: str | None) -> bool:
        assert self.client is not None
        attributes: dict[str, Any] = {"verb": verb, "group": resource.group, "resource": resource.plural}
        if namespace:
            attributes["namespace"] = namespace
        review = self.client.create(SELF_SUBJECT_ACCESS_REVIEWS, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}})
        return bool((review.get("status") or {}).get("allowed"))

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.client is None:
            self.prepare()
        assert self.client is not None
        self.runner = AsyncRunner()
        for handler in self.registry.handlers(Kind.STARTUP):
            try:
                call(handler, self._activity_kwargs(handler), self.runner)
            except Exception as exc:
                raise StartupError(f"startup handler {handler.id} failed: {type(exc).__name__}: {exc}") from exc
        indexes = OperatorIndexes(self.runner)
        self.metrics = OperatorMetrics()
        self.client.observer = self.metrics.observe_request
        # Events get a client and a request budget of their own (as client-go's event
        # broadcaster does), so that posting them never slows the handlers' writes.
        self.events = EventRecorder(KubeClient(self.client.configuration, ClientSettings(
            qps=EVENTS_QPS, burst=EVENTS_BURST, retry_budget=EVENTS_RETRY_BUDGET)), enabled=self.settings.post_events)
        self.events.start()
        context = RuntimeContext(
            client=self.client, annotations=Annotations(self.settings.prefix),
            finalizer=self.settings.finalizer_name, memo=self.memo, runner=self.runner,
            events=self.events, success_events=self.settings.success_events,
            namespace_matches=self.namespaces.matches, indexes=indexes, runtime=self, metrics=self.metrics)
        # Group by the resolved resource first: two names for one resource ("pods" and
        # "v1/pods") share one informer, whose label selector must suit all their handlers.
        by_resource: dict[Resource, list[Handler]] = {}
        for spec, resource in self.resources.items():
            by_resource.setdefault(resource, []).extend(h for h in self.registry.handlers() if h.resource == spec)
        for resource, handlers in by_resource.items():
            for handler in handlers:
                if handler.kind is Kind.INDEX:
                    indexes.declare(resource, handler)
            namespace = self.namespaces.single if resource.namespaced else None
            selector = filters.label_selector([h.labels for h in handlers])
            informer = SharedIndexInformer(
                ResourceListerWatcher(self.client, resource, namespace=namespace, label_selector=selector),
                name=resource.qualified_name, inactivity_timeout=self.settings.inactivity_timeout,
                use_watch_list=self.settings.watch_list)
            self.informers[resource] = informer
            self.metrics.watch_reflector(resource.qualified_name, _stats_of(informer))
            self.controllers[resource] = Controller(context, resource, handlers, informer,
                                                    workers=self.settings.workers)
        for informer in self.informers.values():
            informer.start()
        self._start_health_server()
        if not wait_for_cache_sync(*(i.has_synced for i in self.informers.values()),
                                   timeout=self.settings.sync_timeout):
            raise StartupError(f"the caches did not sync within {self.settings.sync_timeout:.0f} s; check the "
                               "API server's health, or raise OPFRAME_SYNC_TIMEOUT")
        if self.settings.leader_election:
            self._start_leader_election()
        else:
            self._start_workers()

    def _start_workers(self) -> None:
        for controller in self.controllers.values():
            controller.start()
        self.started.set()
        logger.info("opframe started: %s", ", ".join(
            f"{r.qualified_name} ({len(c.handlers)} handlers)" for r, c in self.controllers.items()))

    def _start_leader_election(self) -> None:
        assert self.client is not None
        namespace = self.settings.lease_namespace or _service_account_namespace() or _kubeconfig_namespace(
            self.settings) or "default"
        config = LeaseConfig(name=self.settings.lease_name, namespace=namespace, identity=default_identity(),
                             lease_duration=self.settings.lease_duration,
                             renew_deadline=self.settings.renew_deadline, retry_period=self.settings.retry_period)
        # One attempt per request, each shorter than a retry period: a renewal must fail
        # fast enough for the leader to give up before its lease can expire for others.
        lease_client = KubeClient(self.client.configuration, ClientSettings(
            retry_budget=0.0, request_timeout=config.retry_period, connect_timeout=config.retry_period))
        self.leader_gauge = self.metrics.leader.labels(config.name) if self.metrics is not None else None

        def started_leading() -> None:
            if self.leader_gauge is not None:
                self.leader_gauge.set(1)
            self._start_workers()

        def stopped_leading() -> None:
            if self.leader_gauge is not None:
                self.leader_gauge.set(0)
            # Stop handling at once: no new keys; the process then exits non-zero.
            for controller in self.controllers.values():
                controller.queue.shut_down()
            self.lost_leadership.set()

        self.elector = LeaderElector(lease_client, config, on_started_leading=started_leading,
                                     on_stopped_leading=stopped_leading)
        logger.info("waiting to lead lease %s/%s as %s", namespace, config.name, config.identity)
        self.elector.start()

    def _start_health_server(self) -> None:
        if self.settings.health_port is None:
            return
        probes = self.registry.handlers(Kind.PROBE)

        def probe_check(handler: Handler) -> Callable[[], str | Passed | None]:
            def check() -> str | Passed | None:
                result = call(handler, self._activity_kwargs(handler), self.runner)
                return None if result is None else Passed(result)
            return check

        def watch_check(informer: SharedIndexInformer) -> Callable[[], str | None]:
            def check() -> str | None:
                if informer.reflector.stuck():
                    return (f"no news from the watch for {informer.reflector.seconds_since_activity():.0f} s "
                            f"(state {informer.reflector.state.value})")
                return None
            return check

        def leader_check() -> str | None:
            if self.lost_leadership.is_set():
                return "lost the lease"
            return None

        liveness: list[tuple[str, Callable[[], str | Passed | None]]] = [("ping", lambda: None)]
        liveness += [(f"watch-{r.qualified_name}", watch_check(i)) for r, i in self.informers.items()]
        liveness += [(f"probe-{h.id}", probe_check(h)) for h in probes]
        readiness: list[tuple[str, Callable[[], str | Passed | None]]] = [
            ("informers-synced", lambda: None if all(i.has_synced() for i in self.informers.values())
             else "caches not synced yet"),
            ("leader-election", leader_check),
        ]
        self.health = HealthServer(self.settings.health_host, self.settings.health_port, liveness=liveness,
                                   readiness=readiness, metrics=self.metrics.render if self.metrics else None)
        self.health.start()
        logger.info("health and metrics on %s:%d (/healthz, /readyz, /metrics)", self.settings.health_host,
                    self.health.port)

    def stop(self) -> None:
        timeout = 0.0 if self.lost_leadership.is_set() else self.settings.shutdown_timeout
        for controller in self.controllers.values():
            if not controller.stop(timeout):
                logger.warning("%s: handlers still running after %.0f s; stopping anyway", controller.name, timeout)
        if self.elector is not None:
            self.elector.stop()  # a leader releases its lease, so a standby takes over at once
        for informer in self.informers.values():
            informer.stop()
        for handler in self.registry.handlers(Kind.CLEANUP):
            try:
                call(handler, self._activity_kwargs(handler), self.runner)
            except Exception:
                logger.exception("cleanup handler %s failed", handler.id)
        if self.events is not None:
            self.events.stop()
        if self.runner is not None:
            self.runner.close()
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

    def _activity_kwargs(self, handler: Handler) -> dict[str, Any]:
        """Keyword arguments of the handlers that belong to no object (startup, cleanup, probe)."""
        return {"memo": self.memo, "logger": logger, "settings": self.settings, "param": handler.param,
                "runtime": self}

    def resource(self, *spec: str) -> Resource:
        """Resolve a resource name as the decorators do (for handlers: ``runtime.resource("deployments")``)."""
        assert self.client is not None, "the operator is not prepared"
        if self._discovery is None:
            self._discovery = Discovery(self.client)
        return self._discovery.resolve(*spec)

    def handlers_for(self, resource: Resource) -> list[Handler]:
        controller = self.controllers.get(resource)
        return list(controller.handlers) if controller else []


def _kubeconfig_namespace(settings: Settings) -> str | None:
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=settings.kubeconfig)  # type: ignore[no-untyped-call]
        if settings.context:
            contexts, _ = config.list_kube_config_contexts(config_file=settings.kubeconfig)  # type: ignore[no-untyped-call]
            active = next((c for c in contexts if c["name"] == settings.context), active)
        namespace = (active or {}).get("context", {}).get("namespace")
        return str(namespace) if namespace else None
    except Exception:
        return None


def _stats_of(informer: SharedIndexInformer) -> Callable[[], ReflectorStats]:
    return lambda: informer.reflector.stats


def _service_account_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as namespace_file:
            return namespace_file.read().strip() or None
    except OSError:
        return None


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
