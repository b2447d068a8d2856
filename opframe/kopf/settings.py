"""kopf's ``OperatorSettings``: nested groups of settings, mapped onto opframe's ``Settings``.

kopf operators change their settings in a startup handler::

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_):
        settings.execution.default_backoff = 5
        settings.persistence.finalizer = "example.com/finalizer"

opframe passes an ``OperatorSettings`` with kopf's groups, fields and defaults to startup
handlers, and once they ran, ``applied_to()`` turns what they changed into opframe's
``Settings``. Invariants:

* a field left at kopf's default changes nothing: opframe's own settings (command line,
  ``OPFRAME_*``) stay in force;
* a changed field that means something in opframe takes effect with kopf's meaning
  (the ``MAPPED`` table);
* a changed field that does not gets one warning naming it and what to use instead
  (the ``UNSUPPORTED`` table) — never silence, never a crash.

Some fields are read before startup handlers run (how to connect, which namespaces);
kopf reads those before its startup handlers too, from the command line. opframe's own
settings among them (``READ_BEFORE_STARTUP``), set through this object, get a warning
naming where to set them. The result is validated as opframe's ``Settings`` are: an
invalid value stops the start-up with one message naming the field.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypedDict

import pydantic

from opframe.handlers.bookkeeping import LAST_HANDLED
from opframe.kopf.storage import KOPF_FINALIZER, TOUCH_KEY
from opframe.objects.diffs import KOPF_PREFIX
from opframe.settings import Settings

# -- storages: where progress and the diff-base are kept (configuration carriers in opframe) -------

class ProgressRecord(TypedDict, total=False):
    """kopf's per-handler progress record, as persisted in its annotations."""

    started: str | None
    stopped: str | None
    delayed: str | None
    purpose: str | None
    retries: int | None
    success: bool | None
    failure: bool | None
    message: str | None
    subrefs: list[str] | None


@dataclasses.dataclass
class DiffBaseStorage:
    """Where the last handled essence is kept; opframe keeps it in an annotation of its prefix."""


@dataclasses.dataclass
class AnnotationsDiffBaseStorage(DiffBaseStorage):
    prefix: str = KOPF_PREFIX
    key: str = LAST_HANDLED
    ignored_fields: Iterable[Any] | None = None
    v1: bool = True


@dataclasses.dataclass
class StatusDiffBaseStorage(DiffBaseStorage):
    name: str = "kopf"
    field: str = "status.{name}.last-handled-configuration"


@dataclasses.dataclass
class MultiDiffBaseStorage(DiffBaseStorage):
    storages: list[DiffBaseStorage] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ProgressStorage:
    """Where per-handler progress is kept; opframe keeps it in annotations of its prefix."""


@dataclasses.dataclass
class AnnotationsProgressStorage(ProgressStorage):
    prefix: str = KOPF_PREFIX
    verbose: bool = False
    touch_key: str = TOUCH_KEY
    v1: bool = True


@dataclasses.dataclass
class StatusProgressStorage(ProgressStorage):
    name: str = "kopf"
    field: str = "status.{name}.progress"
    touch_field: str = "status.{name}.dummy"


@dataclasses.dataclass
class MultiProgressStorage(ProgressStorage):
    storages: list[ProgressStorage] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SmartProgressStorage(ProgressStorage):
    """kopf's default: annotations, reading status-kept progress of older versions too."""

    name: str = "kopf"
    field: str = "status.{name}.progress"
    touch_key: str = TOUCH_KEY
    touch_field: str = "status.{name}.dummy"
    prefix: str = KOPF_PREFIX
    v1: bool = True
    verbose: bool = False


# -- the groups ----------------------------------------------------------------------------------

@dataclasses.dataclass
class ProcessSettings:
    ultimate_exiting_timeout: float | None = 10 * 60


@dataclasses.dataclass
class PostingSettings:
    enabled: bool = True
    loggers: bool = False
    level: int = logging.INFO
    default_backoffs: float | Iterable[float] = (1, 1, 2, 3, 5, 8, 13, 21)
    logging_backoffs: float | Iterable[float] = (1, 1, 2, 3, 5)
    worker_limit: int | None = None
    idle_timeout: float = 1.0
    reporting_component: str = "kopf"
    reporting_instance: str = "dev"
    event_name_prefix: str = "kopf-event-"


@dataclasses.dataclass
class PeeringSettings:
    name: str = "default"
    stealth: bool = False
    priority: int = 0
    lifetime: int = 60
    mandatory: bool = False
    standalone: bool = False
    clusterwide: bool = False

    @property
    def namespaced(self) -> bool:
        return not self.clusterwide

    @namespaced.setter
    def namespaced(self, value: bool) -> None:
        self.clusterwide = not value


@dataclasses.dataclass
class WatchingSettings:
    server_timeout: float | None = None
    client_timeout: float | None = None
    connect_timeout: float | None = None
    reconnect_backoff: float = 0.1
    inactivity_timeout: float = 70.0
    chunk_size: int | None = None
    initial_streaming: bool = False
    label_selectors: dict[Any, str] = dataclasses.field(default_factory=dict)
    field_selectors: dict[Any, str] = dataclasses.field(default_factory=dict)
    shard_selectors: dict[Any, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class QueueingSettings:
    worker_limit: int | None = None
    idle_timeout: float = 5.0
    exit_timeout: float = 2.0
    error_delays: Iterable[float] = (1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610)

    @property
    def batch_window(self) -> float:
        return 0.1


@dataclasses.dataclass
class ScanningSettings:
    disabled: bool = False


@dataclasses.dataclass
class AdmissionSettings:
    server: Any = None
    managed: str | None = None


@dataclasses.dataclass
class ExecutionSettings:
    default_backoff: float = 60
    executor: concurrent.futures.Executor | None = None
    max_workers: int | None = None


@dataclasses.dataclass
class NetworkingSettings:
    request_timeout: float | None = 5 * 60
    connect_timeout: float | None = None
    error_backoffs: float | Iterable[float] = (1, 1, 2, 3, 5, 8, 13, 21)
    enforce_retry_after: bool = False
    trust_env: bool = False


@dataclasses.dataclass
class PersistenceSettings:
    finalizer: str = KOPF_FINALIZER
    progress_storage: ProgressStorage = dataclasses.field(default_factory=SmartProgressStorage)
    diffbase_storage: DiffBaseStorage = dataclasses.field(default_factory=AnnotationsDiffBaseStorage)
    consistency_timeout: float = 5.0


@dataclasses.dataclass
class BackgroundSettings:
    cancellation_polling: float = 60
    instant_exit_timeout: float | None = None
    instant_exit_zero_time_cycles: int | None = 10


@dataclasses.dataclass
class OperatorSettings:
    """kopf's settings, in kopf's groups and with kopf's defaults (see the module docstring)."""

    process: ProcessSettings = dataclasses.field(default_factory=ProcessSettings)
    posting: PostingSettings = dataclasses.field(default_factory=PostingSettings)
    peering: PeeringSettings = dataclasses.field(default_factory=PeeringSettings)
    watching: WatchingSettings = dataclasses.field(default_factory=WatchingSettings)
    queueing: QueueingSettings = dataclasses.field(default_factory=QueueingSettings)
    scanning: ScanningSettings = dataclasses.field(default_factory=ScanningSettings)
    admission: AdmissionSettings = dataclasses.field(default_factory=AdmissionSettings)
    execution: ExecutionSettings = dataclasses.field(default_factory=ExecutionSettings)
    background: BackgroundSettings = dataclasses.field(default_factory=BackgroundSettings)
    networking: NetworkingSettings = dataclasses.field(default_factory=NetworkingSettings)
    persistence: PersistenceSettings = dataclasses.field(default_factory=PersistenceSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_opframe", {})
        object.__setattr__(self, "_base", None)

    # opframe's own settings are reachable here too (``settings.success_events = True`` in a
    # startup handler, as with opframe's Settings before); anything else is a clear error.
    def __getattr__(self, name: str) -> Any:
        if name in Settings.model_fields:
            overrides: dict[str, Any] = self.__dict__.get("_opframe", {})
            if name in overrides:
                return overrides[name]
            base = self.__dict__.get("_base")
            return getattr(base, name) if base is not None else Settings.model_fields[name].default
        raise _no_such_setting(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in {f.name for f in dataclasses.fields(OperatorSettings)}:
            object.__setattr__(self, name, value)
        elif name in Settings.model_fields:
            self.__dict__["_opframe"][name] = value
        else:
            raise _no_such_setting(name)

    def bind(self, settings: Settings) -> None:
        """Read opframe's settings through this object (what the operator runs with)."""
        object.__setattr__(self, "_base", settings)

    @property
    def batching(self) -> QueueingSettings:
        """kopf's older name of ``queueing``."""
        return self.queueing

    def changes(self) -> dict[str, Any]:
        """Every field that differs from kopf's default, as ``{"group.field": value}``."""
        defaults = OperatorSettings()
        found: dict[str, Any] = {}
        for group in dataclasses.fields(self):
            mine, theirs = getattr(self, group.name), getattr(defaults, group.name)
            for field in dataclasses.fields(mine):
                value = getattr(mine, field.name)
                if value != getattr(theirs, field.name):
                    found[f"{group.name}.{field.name}"] = value
        return found

    def applied_to(self, settings: Settings) -> tuple[Settings, list[str]]:
        """opframe's settings with this object's changes applied, and a warning per change it cannot honour."""
        updates: dict[str, Any] = {}
        warnings: list[str] = []
        for name, value in self.changes().items():
            if name in STORAGES:
                continue  # _storage_prefix() below
            if name in MAPPED:
                for target, converted in MAPPED[name](value).items():
                    updates[target] = converted
            else:
                instead = UNSUPPORTED.get(name, "opframe has no such setting")
                warnings.append(f"settings.{name} = {value!r} has no effect in opframe: {instead}")
        overrides: dict[str, Any] = self.__dict__["_opframe"]
        for name, value in list(overrides.items()):
            if name in READ_BEFORE_STARTUP:
                if value != getattr(settings, name):
                    warnings.append(f"settings.{name} = {value!r} has no effect: it is read before startup handlers "
                                    f"run; set it with {READ_BEFORE_STARTUP[name]}")
                del overrides[name]  # read through this object, it shows the value in force
                continue
            updates[name] = value
        storage_prefix, storage_warning = _storage_prefix(self.persistence)
        if storage_prefix is not None:
            updates["prefix"] = storage_prefix
        warnings.extend(storage_warning)
        if not updates:
            return settings, warnings
        try:
            return Settings.model_validate({**settings.model_dump(), **updates}), warnings
        except pydantic.ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                                 for error in exc.errors())
            raise ValueError(f"a startup handler set invalid settings ({problems}); fix the values it sets") from None


def _no_such_setting(name: str) -> AttributeError:
    return AttributeError(f"OperatorSettings has no setting {name!r}; kopf's groups are "
                          f"{', '.join(f.name for f in dataclasses.fields(OperatorSettings))}, opframe's settings "
                          f"{', '.join(Settings.model_fields)}")


def _storage_prefix(persistence: PersistenceSettings) -> tuple[str | None, list[str]]:
    """The annotation prefix the storages name, when changed; a warning for storages opframe cannot use."""
    defaults = PersistenceSettings()
    prefix: str | None = None
    warnings: list[str] = []
    for name, storage, default in (("progress_storage", persistence.progress_storage, defaults.progress_storage),
                                   ("diffbase_storage", persistence.diffbase_storage, defaults.diffbase_storage)):
        if storage == default:
            continue
        if isinstance(storage, AnnotationsProgressStorage | SmartProgressStorage | AnnotationsDiffBaseStorage):
            prefix = storage.prefix
        else:
            warnings.append(f"settings.persistence.{name} = {storage!r} has no effect in opframe: it keeps "
                            "progress and the diff-base in annotations; use AnnotationsProgressStorage(prefix=...) "
                            "or AnnotationsDiffBaseStorage(prefix=...) to choose their prefix")
    return prefix, warnings


def _same(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {target: value}


#: kopf's storage fields: their prefix becomes opframe's (see _storage_prefix).
STORAGES = frozenset({"persistence.progress_storage", "persistence.diffbase_storage"})

def _admission_server(server: Any) -> dict[str, Any]:
    """opframe's webhook settings for kopf's ``settings.admission.server`` (kopf/webhooks.py)."""
    if server is None:
        return {}
    settings = getattr(server, "settings", None)
    if not callable(settings):
        raise ValueError(f"settings.admission.server = {server!r}: opframe serves webhooks itself; assign a "
                         "kopf.WebhookServer(...) (or one of its variants), or set the webhook_* settings")
    result: dict[str, Any] = settings()
    return result


#: kopf fields that mean something in opframe: the opframe settings each one sets.
MAPPED: dict[str, Callable[[Any], dict[str, Any]]] = {
    "process.ultimate_exiting_timeout": lambda v: {"shutdown_timeout": float(v) if v is not None else 3600.0},
    "posting.enabled": _same("post_events"),
    "posting.reporting_component": _same("event_component"),
    "posting.reporting_instance": _same("event_instance"),
    "posting.event_name_prefix": _same("event_name_prefix"),
    "peering.standalone": lambda v: {"leader_election": not v},
    "watching.server_timeout": _same("watch_timeout"),
    "watching.inactivity_timeout": _same("inactivity_timeout"),
    "watching.chunk_size": lambda v: {"page_size": v or 0},
    "watching.initial_streaming": _same("watch_list"),
    "queueing.worker_limit": lambda v: {"workers": v} if v else {},
    "execution.default_backoff": _same("default_backoff"),
    "execution.max_workers": lambda v: {"workers": v} if v else {},
    "persistence.finalizer": _same("finalizer"),
    "admission.server": _admission_server,
    "admission.managed": _same("webhook_managed"),
}


#: opframe settings read before startup handlers run (logging, connecting, which namespaces),
#: with where to set them instead; a startup handler's change to one is warned about.
READ_BEFORE_STARTUP: dict[str, str] = {
    "namespaces": "-n/--namespace or OPFRAME_NAMESPACES",
    "all_namespaces": "-A/--all-namespaces or OPFRAME_ALL_NAMESPACES",
    "log_level": "--verbose/--quiet or OPFRAME_LOG_LEVEL",
    "log_format": "--log-format or OPFRAME_LOG_FORMAT",
    "kubeconfig": "--kubeconfig or OPFRAME_KUBECONFIG",
    "context": "--context or OPFRAME_CONTEXT",
    "qps": "OPFRAME_QPS",
    "burst": "OPFRAME_BURST",
}

#: kopf fields opframe cannot honour, with what to use instead.
UNSUPPORTED: dict[str, str] = {
    "posting.loggers": "opframe does not post log lines as Events; post them with kopf.info()/warn()/event()",
    "posting.level": "opframe does not post log lines as Events",
    "posting.default_backoffs": "opframe's event recorder has its own spam filter (25 per object, then 1 per 5 min)",
    "posting.logging_backoffs": "opframe does not post log lines as Events",
    "posting.worker_limit": "one background thread posts Events",
    "posting.idle_timeout": "one background thread posts Events",
    "peering.name": "peering is replaced by Lease leader election: --leader-election --lease-name NAME",
    "peering.stealth": "peering is replaced by Lease leader election (--leader-election)",
    "peering.priority": "peering priorities are not supported; use Lease leader election (--leader-election)",
    "peering.lifetime": "use --leader-election with OPFRAME_LEASE_DURATION",
    "peering.mandatory": "peering is replaced by Lease leader election (--leader-election)",
    "peering.clusterwide": "peering is replaced by Lease leader election (--lease-namespace)",
    "watching.client_timeout": "opframe's watches end by the server's timeout and its inactivity timeout "
                               "(settings.watching.server_timeout, settings.watching.inactivity_timeout)",
    "watching.connect_timeout": "the client's connect timeout is fixed (10 s)",
    "watching.reconnect_backoff": "re-watches follow client-go's backoff (0.8 s doubling to 30 s)",
    "watching.label_selectors": "label selectors come from the handlers' labels= filters",
    "watching.field_selectors": "field selectors are not supported; filter with when= or field=/value=",
    "watching.shard_selectors": "sharding is not supported; run one operator per namespace set (-n)",
    "queueing.idle_timeout": "workers are threads that stay",
    "queueing.exit_timeout": "use OPFRAME_SHUTDOWN_TIMEOUT",
    "queueing.error_delays": "failed reconciles follow the work queue's rate limiter (5 ms doubling to 1000 s)",
    "scanning.disabled": "opframe always discovers the served resources at start-up",
    "execution.executor": "sync handlers run on the worker threads (OPFRAME_WORKERS per kind)",
    "networking.request_timeout": "the client's request timeout is fixed",
    "networking.connect_timeout": "the client's connect timeout is fixed (10 s)",
    "networking.error_backoffs": "the client retries with its own backoff and retry budget",
    "networking.enforce_retry_after": "the client always honours Retry-After",
    "networking.trust_env": "the client uses the kubeconfig only (no proxy variables)",
    "persistence.consistency_timeout": "opframe waits for its own writes by resourceVersion expectations",
    "background.cancellation_polling": "set cancellation_polling= on the daemon",
    "background.instant_exit_timeout": "use OPFRAME_SHUTDOWN_TIMEOUT",
    "background.instant_exit_zero_time_cycles": "use OPFRAME_SHUTDOWN_TIMEOUT",
}
