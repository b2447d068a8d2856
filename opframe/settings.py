"""Settings: one pydantic model, read from ``OPFRAME_*`` environment variables and CLI options.

Every field is documented here; ``opframe run --help`` shows the same text. The
command line wins over the environment, which wins over the defaults.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Annotated, Literal, Protocol

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from opframe.cache.reflector import DEFAULT_INACTIVITY_TIMEOUT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPFRAME_", extra="forbid", validate_default=True)

    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Namespaces to serve, comma-separated in the environment; globs allowed ('team-*'), "
                    "'!' excludes ('!kube-*'). "
                    "Empty with all_namespaces false: opframe run serves every namespace with a warning (kopf's "
                    "default); an Operator built directly serves the kubeconfig's namespace, else 'default'. "
                    "Namespaces named explicitly get one watch each and need RBAC in just those namespaces "
                    "(a Role each); globs and exclusions open one cluster-wide watch filtered by the "
                    "operator, which needs a ClusterRole.")
    all_namespaces: bool = Field(False, description="Serve every namespace (and cluster-scoped resources).")
    workers: int = Field(16, ge=1, le=256, description="Worker threads per watched kind (handlers mostly wait "
                                                      "on I/O, so threads are cheap; one key is never handled by "
                                                      "two at once).")
    # 0.25 s: the storm of `make bench` (PATCHes 50 ms apart on a loaded server, some 150 ms) stays one burst
    # (2.2 calls per object, converged 1.33x the writer alone; with 0.1 s: 3.7 calls, 1.51x). Measured 2026-12-06.
    burst_window: float = Field(0.25, ge=0, description="An object changed again within this many seconds of its "
                                "previous change is in a burst: it is handled once the changes stop for this long "
                                "(its first change is handled at once). Coalesces update storms into few handler "
                                "calls; 0 handles every change as soon as a worker is free.")
    burst_max_delay: float = Field(1.0, ge=0, description="Seconds a change in a burst may wait at most: an object "
                                   "that never stops changing is still handled this often.")
    backlog_window: float = Field(60.0, gt=0, description="Seconds a kind's work queue may grow without emptying "
                                  "before the operator logs that it is falling behind (once, with the figures) and "
                                  "shows it in /metrics (opframe_workqueue_falling_behind) and /readyz.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["text", "json", "plain", "full"] = Field("text", description="Log line format.")
    kubeconfig: str | None = Field(None, description="Path of a kubeconfig; default: $KUBECONFIG, "
                                                     "in-cluster, then ~/.kube/config.")
    context: str | None = Field(None, description="kubeconfig context to use.")
    qps: float = Field(500.0, gt=0, description="Client-side limit on API requests per second (an operator "
                                                "writes about one PATCH per handled change; Events have a budget "
                                                "of their own).")
    burst: int = Field(1000, ge=1, description="Client-side burst of API requests.")
    prefix: str = Field("opframe.dev", description="Prefix of the annotations and finalizer opframe writes.")
    finalizer: str = Field("", description="Finalizer name; default '<prefix>/finalizer'.")
    inactivity_timeout: float | None = Field(
        None, gt=0, description="Seconds a watch may say nothing, not even a bookmark, before it is closed and "
                                "re-opened from its last resourceVersion (no relist). Default: "
                                f"{DEFAULT_INACTIVITY_TIMEOUT:g} s "
                                "(kube-apiserver bookmarks a watch about once a minute once its cache has moved on).")
    watch_list: bool = Field(True, description="Sync the cache with a streaming watch-list (sendInitialEvents: "
                             "objects one by one, never the whole collection in one answer; relists too), "
                             "falling back to LIST where the API server does not stream; as client-go >= 1.35 "
                             "(WatchListClient). "
                             "false: always LIST, which kube-apiserver answers at resourceVersion 0 in one "
                             "piece from its cache, whatever the page size.")
    default_backoff: float | None = Field(None, gt=0, description="Seconds before a failed handler without "
                                          "backoff= runs again (kopf's settings.execution.default_backoff). Unset: "
                                          "exponential with jitter, 1 s doubling up to 5 min.")
    adopt_kopf: bool = Field(False, description="Continue objects a kopf operator handled: read kopf's diff-base "
                                                "and per-handler progress (kopf_prefix), honour and release kopf's "
                                                "finalizer (kopf_finalizer), clear kopf's progress records as each "
                                                "cause finishes. See docs/migrating-from-kopf.md.")
    kopf_prefix: str | None = Field(None, description="kopf's annotation prefix, read with adopt_kopf (unset: "
                                                       "kopf's default, kopf.zalando.org).")
    kopf_finalizer: str | None = Field(None, description="kopf's finalizer, honoured and released with adopt_kopf "
                                                          "(unset: kopf's default, "
                                                          "kopf.zalando.org/KopfFinalizerMarker).")
    event_component: str = Field("opframe", description="source.component and reportingComponent of the Events "
                                                         "opframe posts (kopf: settings.posting.reporting_component).")
    event_instance: str = Field("", description="reportingInstance of the Events opframe posts (empty: none).")
    event_name_prefix: str = Field("", description="generateName prefix of posted Events (kopf's 'kopf-event-'); "
                                                  "empty: '<object name>.<random>'.")
    watch_timeout: float | None = Field(None, gt=0, description="Seconds a watch request lasts server-side before "
                                        "it is re-opened (client-go jitter: between this and twice this). Unset: "
                                        "300 s (kopf: settings.watching.server_timeout).")
    page_size: int = Field(500, ge=0, description="Objects per page of the initial LIST (0: no paging; kopf: "
                                                 "settings.watching.chunk_size).")
    shutdown_timeout: float = Field(30.0, ge=0, description="Seconds running handlers get to finish on "
                                                            "SIGTERM/SIGINT.")
    sync_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the caches to sync at start.")
    post_events: bool = Field(True, description="Post Kubernetes Events: a Warning for each handler failure "
                                                "(and a Normal one per success with success_events).")
    success_events: bool = Field(False, description="Also post a Normal Event for every handler success. Off by "
                                                    "default (as in kopf since 1.45 and controller-runtime): at scale "
                                                    "it is one more API write per handled change.")
    leader_election: bool = Field(False, description="Take part in Lease-based leader election; only the leader "
                                                     "handles (on in the Helm chart).")
    lease_name: str = Field("opframe", description="Name of the coordination.k8s.io Lease.")
    lease_namespace: str | None = Field(None, description="Namespace of the Lease; default: the service account's "
                                                          "namespace in a pod, else the kubeconfig's, else 'default'.")
    lease_duration: float = Field(15.0, gt=0, description="Seconds another replica respects a lease it saw renewed.")
    renew_deadline: float = Field(10.0, gt=0, description="Seconds the leader may fail to renew before it stops.")
    retry_period: float = Field(2.0, gt=0, description="Seconds between lease attempts.")
    health_port: int | None = Field(None, ge=0, le=65535, description="Port for /healthz, /readyz and /metrics; "
                                                                      "unset: no HTTP server (0: any free port).")
    liveness_endpoint: str | None = Field(None, description="kopf's -L URL (e.g. http://0.0.0.0:8080/healthz): "
                                          "serves the probe handlers' results as JSON at that path.")
    health_host: str = Field("0.0.0.0", description="Address the health and metrics server listens on.")
    webhook_address: str = Field("", description="Address the admission webhook server listens on (empty: every "
                                 "interface, as kopf's WebhookServer). It starts when on.validate/on.mutate "
                                 "handlers exist.")
    webhook_port: int = Field(0, ge=0, le=65535, description="Port of the admission webhook server (0: any free "
                              "port, as kopf's).")
    webhook_host: str | None = Field(None, description="Host name or address the API server reaches the webhook "
                                     "server at (its URL, and a name in a generated certificate); default: "
                                     "localhost, or the listening address when it is a specific one.")
    webhook_path: str = Field("", description="URL path under which each handler is served as /<path>/<id>.")
    webhook_cert_file: str | None = Field(None, description="PEM serving certificate (with webhook_key_file); "
                                          "unset: a self-signed CA and certificate are made at start-up. The "
                                          "files are re-read when they change, for the next TLS handshake.")
    webhook_key_file: str | None = Field(None, description="PEM private key of webhook_cert_file.")
    webhook_key_password: str | None = Field(None, description="Password of an encrypted webhook_key_file.")
    webhook_ca_file: str | None = Field(None, description="PEM CA the API server should trust (the caBundle); "
                                        "default: the generated CA, or webhook_cert_file itself.")
    webhook_ca_dump: str | None = Field(None, description="A file to write the caBundle's PEM to (kopf's cadump).")
    webhook_extra_sans: list[str] = Field(default_factory=list, description="More names or addresses for a "
                                          "generated serving certificate.")
    webhook_managed: str | None = Field(None, description="Name of the Validating/MutatingWebhookConfiguration "
                                        "opframe keeps (server-side apply) for its handlers; unset: none is "
                                        "written (kopf's settings.admission.managed).")
    webhook_service: str | None = Field(None, description="The Service (NAME or NAMESPACE/NAME; default namespace: "
                                        "the operator's) that leads to the webhook servers: the managed "
                                        "configurations name it instead of a URL, and the serving certificate "
                                        "carries its DNS names (the chart sets it).")
    webhook_service_port: int = Field(443, ge=1, le=65535, description="The port of webhook_service.")
    webhook_ca_secret: str | None = Field(None, description="A Secret in the operator's namespace with the CA every "
                                          "replica issues its serving certificate from; made when absent, rotated "
                                          "by the leader with an overlap (the chart sets it).")
    webhook_ca_validity_days: float = Field(365.0, gt=0, description="Validity of a CA made for "
                                            "webhook_ca_secret; it is renewed when a third of it remains.")
    webhook_ca_overlap: float = Field(600.0, gt=0, description="Seconds between the steps of a CA rotation (new CA "
                                      "trusted, then serving, then the old one dropped): longer than it takes "
                                      "every replica and the API server to notice a step.")
    webhook_owner: str | None = Field(None, description="A ClusterRole that owns the managed configurations and the "
                                      "CA Secret, so that they are garbage-collected with it (the chart's, "
                                      "removed by helm uninstall).")
    webhook_probe: bool = Field(True, description="The leader checks every 5 s that the API server reaches the "
                                "webhook server (a dry-run create of a labelled ConfigMap in the operator's "
                                "namespace, through an entry of the validating configuration); readiness fails "
                                "while it does not. Needs webhook_managed and the operator's namespace.")
    webhook_drain: float = Field(0.0, ge=0, description="Seconds the webhook server keeps answering at shutdown "
                                 "(not ready, closing connections after each answer) while the Service stops "
                                 "sending it requests; the chart sets 5.")

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("namespaces")
    @classmethod
    def _valid_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not pattern or pattern in ("!",):
                raise ValueError(f"empty namespace pattern {pattern!r}")
        return patterns

    @field_validator("webhook_path")
    @classmethod
    def _plain_path(cls, path: str) -> str:
        if any(c in path for c in "?#") or any(c.isspace() for c in path):
            raise ValueError(f"webhook_path {path!r}: a plain URL path (the API server refuses a query or a "
                             "fragment in a webhook's URL), such as /webhooks")
        return path

    @property
    def finalizer_name(self) -> str:
        return self.finalizer or f"{self.prefix}/finalizer"


class NamespaceSelector:
    """Which namespaces the operator serves. Invariant: an exclusion always wins over an inclusion."""

    def __init__(self, patterns: list[str], *, all_namespaces: bool) -> None:
        self.include = [p for p in patterns if not p.startswith("!")]
        self.exclude = [p[1:] for p in patterns if p.startswith("!")]
        self.all_namespaces = all_namespaces or (not self.include and bool(self.exclude))

    @property
    def explicit(self) -> list[str]:
        """The namespaces to watch one by one: when every pattern names one namespace
        without globs and nothing is excluded; else [] (one cluster-wide watch)."""
        if self.all_namespaces or not self.include or self.exclude:
            return []
        if any(c in pattern for pattern in self.include for c in "*?["):
            return []
        return list(dict.fromkeys(self.include))

    def scopes(self, namespaced: bool) -> list[str | None]:
        """Where a kind is watched (and its RBAC checked): each explicit namespace for a namespaced
        kind, else one cluster-wide scope (None)."""
        return list(self.explicit) if namespaced and self.explicit else [None]

    @property
    def single(self) -> str | None:
        """The one namespace to watch, when the patterns name exactly one without globs."""
        explicit = self.explicit
        return explicit[0] if len(explicit) == 1 else None

    def describe(self) -> str:
        """The namespaces served, in words (the start-up line says it)."""
        if self.all_namespaces:
            served = "all namespaces"
        elif self.explicit:
            served = ("namespace " if len(self.explicit) == 1 else "namespaces ") + ", ".join(self.explicit)
        else:
            served = "namespaces matching " + ", ".join(self.include)
        return served + (" except " + ", ".join(self.exclude) if self.exclude else "")

    def matches(self, namespace: str | None) -> bool:
        if namespace is None:  # cluster-scoped objects (namespaces, nodes, ...) belong to no namespace
            return True
        if any(fnmatch.fnmatchcase(namespace, p) for p in self.exclude):
            return False
        return self.all_namespaces or any(fnmatch.fnmatchcase(namespace, p) for p in self.include)


class SettingsView(Protocol):
    """Another API's view of an operator's Settings (kopf's ``OperatorSettings``, opframe/kopf/settings.py).

    Handlers and activities get the view as their ``settings`` keyword argument; what startup
    handlers change in it is applied to the operator's Settings once they ran. The core knows
    no more of kopf's settings than this.
    """

    def bind(self, settings: Settings) -> None:
        """Read opframe's own fields (``view.workers`` ...) from ``settings`` from now on."""
        ...

    def applied_to(self, settings: Settings) -> tuple[Settings, list[str]]:
        """``settings`` with what was changed in the view; warnings about what has no effect.
        Raises ValueError naming the field when a value is invalid."""
        ...
