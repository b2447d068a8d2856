"""The operator's admission webhooks: its server (every replica serves) and, when ``webhook_managed``
names them, the webhook configurations that point the API server at it (the leader writes them).

Lifecycle: ``start()`` makes or loads the certificates (with ``webhook_ca_secret``: issued from the CA
all replicas share, authority.py) and listens; ``configure()`` (the leader's) applies the
configurations. A keeper thread then checks every REPAIR_SECONDS: on every replica, the shared CA
(a rotated one gives a new serving certificate); on the leader, the rotation step that is due, and the
configurations against what the API server holds (applied again when someone edited or deleted them,
or when the CAs to trust changed). ``stop()`` first withdraws the entries of non-persistent handlers
(only when this replica applied them, and not when other replicas may still serve: ``withdraw=False``
under leader election), so that the API server stops calling a server that is going away; then, with
``webhook_drain``, answers on (not ready, closing each connection) while a Service stops leading
requests here; then stops serving.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.models.conversion import Conversion
from opframe.runtime.admission import configurations
from opframe.runtime.admission.authority import Authority, AuthorityError, SharedAuthority
from opframe.runtime.admission.certificates import CertificateError, ServingCertificates
from opframe.runtime.admission.serving import (
    CONVERSION_PREFIX,
    PROBE_SEGMENT,
    PROBE_WARNING,
    AdmissionServer,
    reachable_host,
)
from opframe.runtime.admission.validators import patch_write
from opframe.runtime.execution.loops import LoopPool
from opframe.settings import Settings

logger = logging.getLogger("opframe.admission")

#: How often the leader checks its configurations against what the API server holds: two GETs, and a
#: hand edit (or a deletion) is undone within this time.
REPAIR_SECONDS = 5.0


class Webhooks:
    def __init__(self, settings: Settings, handlers: Sequence[tuple[Handler, Resource]], *, client: KubeClient,
                 loops: LoopPool | None, memo: Memo, indexes: Callable[[], Mapping[str, Any]],
                 extra: Callable[[], Mapping[str, Any]] | None = None, own_namespace: str | None = None,
                 served_namespaces: Sequence[str] = (), conversions: Sequence[Conversion] = ()) -> None:
        self.settings = settings
        self.handlers = list(handlers)
        for handler, _ in self.handlers:
            if handler.kind is Kind.VALIDATE and not (handler.webhook and handler.webhook.is_policy):
                found = patch_write(handler.fn)
                if found is not None:
                    raise configurations.ConfigurationError(
                        f"the validating handler {handler.id} writes to its patch ({found[0]}:{found[1]}); the API "
                        "server fails every request whose validating webhook answers with a patch (500): make it "
                        "an on.mutate handler, or drop the write")
        self.client = client
        self.own_namespace = own_namespace
        self.served_namespaces = list(served_namespaces)
        host = settings.webhook_host
        self.service = _service(settings.webhook_service, own_namespace)
        service_names = _service_names(*self.service) if self.service else []
        names = [name for name in (host, *service_names, reachable_host(settings.webhook_address),
                                   *settings.webhook_extra_sans) if name]
        self.authority: SharedAuthority | None = None
        if settings.webhook_ca_secret and not settings.webhook_cert_file:
            if not own_namespace:
                raise CertificateError(f"webhook_ca_secret={settings.webhook_ca_secret!r} needs the operator's "
                                       "namespace (it runs in a pod, or set POD_NAMESPACE)")
            self.authority = SharedAuthority(
                client, own_namespace, settings.webhook_ca_secret,
                validity=datetime.timedelta(days=settings.webhook_ca_validity_days),
                overlap=datetime.timedelta(seconds=settings.webhook_ca_overlap))
        self.certificates = ServingCertificates(
            cert_file=settings.webhook_cert_file, key_file=settings.webhook_key_file,
            password=settings.webhook_key_password, ca_file=settings.webhook_ca_file, hosts=names,
            shared=self.authority is not None)
        self.server = AdmissionServer(self.handlers, self.certificates, loops=loops, memo=memo, indexes=indexes,
                                      extra=extra, address=settings.webhook_address, port=settings.webhook_port,
                                      path=settings.webhook_path, host=host, conversions=conversions)
        self._applied: dict[Kind, list[dict[str, Any]]] = {}
        #: The conversion clientConfig applied to each CRD (by its name).
        self._converting: dict[str, dict[str, Any]] = {}
        self._leading = False
        self._probing = settings.webhook_probe
        self._probe_client: KubeClient | None = None
        #: The leader's probe: None while the API server reaches the server (or unknown), else why not.
        self.unreachable: str | None = None
        self._owner_reference: dict[str, Any] | None = None
        self._drained_at = 0.0
        self._keeping = threading.Event()
        self._keeper: threading.Thread | None = None

    def _owner(self) -> dict[str, Any] | None:
        """The ownerReference of ``webhook_owner`` (looked up once), or None."""
        if not self.settings.webhook_owner:
            return None
        if self._owner_reference is None:
            try:
                self._owner_reference = configurations.owner_reference(self.client, self.settings.webhook_owner)
            except errors.NotFound:
                raise configurations.ConfigurationError(
                    f"webhook_owner={self.settings.webhook_owner!r}: no such ClusterRole; name the chart's, or "
                    "unset it") from None
            except errors.Forbidden:
                raise configurations.ConfigurationError(
                    f"RBAC forbids the operator to get the ClusterRole {self.settings.webhook_owner}; grant get on "
                    "clusterroles (resourceNames: that one) in rbac.authorization.k8s.io") from None
        return self._owner_reference

    def start(self) -> None:
        """Certificates, then the server; the keeper when there is a shared CA or a configuration to keep.
        Raises CertificateError or AuthorityError (naming the fix) when the certificates cannot be had."""
        if self.authority is not None:
            self.authority.owner = self._owner()
            self._follow(self.authority.load())
        if self.settings.webhook_ca_dump:
            Path(self.settings.webhook_ca_dump).write_bytes(self.certificates.ca_bundle)
        self.server.start()
        if self.authority is not None or self.settings.webhook_managed or self.server.conversions:
            self._keeper = threading.Thread(target=self._keep, name="webhook-keeper", daemon=True)
            self._keeper.start()

    def _follow(self, authority: Authority) -> None:
        if self.certificates.serve_from(authority.ca_cert, authority.ca_key, authority.bundle) and self._leading:
            logger.info("the webhook CAs to trust changed: the configurations get the new caBundle")

    def entries(self, kind: Kind) -> list[dict[str, Any]]:
        """opframe's entries in the configuration of ``kind``: one per handler, and the probe's (validating)."""
        assert self.settings.webhook_managed
        ca_bundle = self.certificates.ca_bundle
        probe = []
        if kind is Kind.VALIDATE and self._probing and self.own_namespace:
            probe = [configurations.probe_entry(self.settings.webhook_managed, self.own_namespace,
                                                self._client_config(ca_bundle)(PROBE_SEGMENT))]
        return self._handler_entries(kind, ca_bundle) + probe

    def _handler_entries(self, kind: Kind, ca_bundle: bytes) -> list[dict[str, Any]]:
        assert self.settings.webhook_managed
        return configurations.entries(
            kind, self.handlers, managed=self.settings.webhook_managed, own_namespace=self.own_namespace,
            served_namespaces=self.served_namespaces,
            segment=self.server.segment,
            client_config=self._client_config(ca_bundle))

    def _client_config(self, ca_bundle: bytes) -> Callable[[Handler | str], dict[str, Any]]:
        """The clientConfig for a handler (or a handler id): the Service's when there is one, else a URL."""
        def config(handler: Handler | str) -> dict[str, Any]:
            handler_id = handler if isinstance(handler, str) else handler.id
            if self.service is None:
                return configurations.client_config(self.server.url(handler_id), ca_bundle)
            namespace, name = self.service
            return configurations.service_client_config(namespace, name, self.settings.webhook_service_port,
                                                        self.server.request_path(handler_id), ca_bundle)
        return config

    def configure(self) -> None:
        """The leader's part: apply the managed configurations (nothing without ``webhook_managed``); the
        keeper keeps them, and steps the shared CA's rotation."""
        self._leading = True
        self._apply()

    def _keep(self) -> None:
        while not self._keeping.wait(REPAIR_SECONDS):
            try:
                self.check()
            except (errors.KubeError, configurations.ConfigurationError, AuthorityError, CertificateError,
                    OSError) as exc:
                logger.warning("the webhook certificates or configurations could not be checked: %s", exc)

    def check(self) -> None:
        """One round of the keeper (also callable from tests)."""
        self.certificates.refresh()  # files: a renewed CA file changes the caBundle to give
        if self.authority is not None:
            if self._leading:
                step = self.authority.step()
                if step is not None:
                    logger.info("the webhook CA Secret %s: %s step taken", self.authority.name, step.value)
            self._follow(self.authority.load())
        if self._leading and self.server.conversions:
            self._keep_conversions()
        if not self._leading or not self.settings.webhook_managed:
            return
        desired = {kind: self.entries(kind) for kind in self._applied}
        if any(desired[kind] != applied for kind, applied in self._applied.items()):
            self._apply()
        elif not all(self._intact(kind, webhooks) for kind, webhooks in self._applied.items()):
            logger.warning("the webhook configuration %s was changed by someone else; opframe's entries are "
                           "applied again", self.settings.webhook_managed)
            self._apply()
        if self._probing and self.own_namespace and Kind.VALIDATE in self._applied:
            self._probe(self.settings.webhook_managed, self.own_namespace)

    def _probe(self, managed: str, namespace: str) -> None:
        """Whether the API server calls this operator's webhook server: a dry-run create only the probe entry
        matches, answered with PROBE_WARNING. The outcome is logged when it changes, and is readiness."""
        warnings: list[str] = []
        if self._probe_client is None:
            self._probe_client = KubeClient(self.client.configuration, credentials=self.client.credentials)
        self._probe_client.warning_handler = warnings.append
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "generateName": "opframe-webhook-probe-", "namespace": namespace,
            "labels": {configurations.PROBE_LABEL: configurations.probe_label(managed)}}}
        try:
            self._probe_client.request("POST", configurations.CONFIGMAPS.path(namespace=namespace), body=body,
                                       query={"dryRun": "All"})
        except errors.Forbidden:
            logger.warning("the webhook reachability probe is off: RBAC forbids a dry-run create of configmaps in "
                           "%s; grant create on configmaps there to have it", namespace)
            self._probing = False
            return
        except errors.ApiError as exc:
            outcome: str | None = f"the API server cannot call the webhook server: {exc.message}"
        else:
            outcome = None if PROBE_WARNING in warnings else (
                "the API server admitted the probe without calling the webhook server; check the configuration "
                f"{managed}'s clientConfig")
        if outcome != self.unreachable:
            if outcome is None:
                logger.info("the API server reaches the webhook server again")
            else:
                logger.error("%s (checked every %.0f s; readiness fails meanwhile)", outcome, REPAIR_SECONDS)
        self.unreachable = outcome

    def reachable(self) -> str | None:
        """Readiness: None when the server answers a TLS handshake and (the leader's probe) the API server
        reaches it, else why not."""
        return self.server.reachable() or self.unreachable

    def _intact(self, kind: Kind, webhooks: list[dict[str, Any]]) -> bool:
        """Whether the API server holds each of opframe's entries as applied (fields it defaults aside)."""
        assert self.settings.webhook_managed
        try:
            stored = self.client.get(configurations.CONFIGURATIONS[kind], self.settings.webhook_managed)
        except errors.NotFound:
            return not webhooks
        by_name = {entry.get("name"): entry for entry in stored.get("webhooks") or []}
        return all(name in by_name and all(by_name[name].get(key) == value for key, value in webhook.items())
                   for webhook in webhooks for name in [webhook["name"]])

    def conversion_configs(self) -> dict[str, dict[str, Any]]:
        """The clientConfig of each CRD's conversion webhook (by the CRD's name)."""
        config = self._client_config(self.certificates.ca_bundle)
        return {key[len(CONVERSION_PREFIX):]: config(key) for key in self.server.conversions}

    def _keep_conversions(self) -> None:
        """The CRDs' spec.conversion as desired (applied again after an edit or a caBundle change)."""
        for name, client_config in self.conversion_configs().items():
            stored = None
            if self._converting.get(name) == client_config:
                try:
                    crd = self.client.get(configurations.CRDS, name)
                except errors.NotFound:
                    crd = {}
                stored = ((crd.get("spec") or {}).get("conversion") or {}).get("webhook", {}).get("clientConfig")
            if stored != client_config:
                if name in self._converting and self._converting[name] == client_config:
                    logger.warning("the conversion webhook of the CRD %s was changed by someone else; it is set "
                                   "again", name)
                self._apply_conversion(name, client_config)

    def _apply_conversion(self, name: str, client_config: dict[str, Any]) -> None:
        try:
            configurations.set_conversion(self.client, name, client_config)
        except errors.NotFound:
            raise configurations.ConfigurationError(
                f"the CRD {name} is not installed; apply it first (opframe crd FILE | kubectl apply -f -)") from None
        except errors.Forbidden:
            raise configurations.ConfigurationError(
                f"RBAC forbids the operator to patch the CRD {name}; grant get and patch on "
                "customresourcedefinitions in apiextensions.k8s.io with a ClusterRole") from None
        self._converting[name] = client_config
        logger.info("the CRD %s converts its versions through this operator's webhook", name)

    def _apply(self) -> None:
        for crd_name, client_config in self.conversion_configs().items():
            self._apply_conversion(crd_name, client_config)
        name = self.settings.webhook_managed
        if not name:
            return
        for kind in (Kind.VALIDATE, Kind.MUTATE):
            webhooks = self.entries(kind)
            if not webhooks and kind not in self._applied:
                continue
            try:
                configurations.apply(self.client, kind, name, webhooks, self._owner())
            except errors.Forbidden:
                plural = configurations.CONFIGURATIONS[kind].plural
                raise configurations.ConfigurationError(
                    f"RBAC forbids the operator to patch {plural} ({name}); grant create and patch on "
                    f"{plural} in admissionregistration.k8s.io with a ClusterRole and ClusterRoleBinding") from None
            self._applied[kind] = webhooks
            logger.info("the %s webhook configuration %s now has %d entries of this operator's",
                        "validating" if kind is Kind.VALIDATE else "mutating", name, len(webhooks))

    def stop(self, *, withdraw: bool = True) -> None:
        """Stop keeping the configurations, withdraw this operator's non-persistent entries (unless other
        replicas may still serve them), drain (``webhook_drain``), stop serving."""
        self.begin_stop(withdraw=withdraw)
        self.finish_stop()

    def begin_stop(self, *, withdraw: bool = True) -> None:
        """The first half of stop(): the keeper stops, entries are withdrawn, the drain begins (the
        operator stops its controllers meanwhile)."""
        self._keeping.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
        name = self.settings.webhook_managed
        for kind, webhooks in self._applied.items() if withdraw else ():
            assert name
            try:
                configurations.withdraw(self.client, kind, name, webhooks,
                                        {handler.id: handler for handler, _ in self.handlers},
                                        self.server.segment, name, self._owner())
            except errors.KubeError as exc:
                logger.warning("the webhook configuration %s could not be cleaned up: %s", name, exc)
        self._applied.clear()
        if self._probe_client is not None:
            self._probe_client.close()
        if self.settings.webhook_drain and not self.server.draining.is_set():
            logger.info("the webhook server answers on for %.1f s (draining) before it stops",
                        self.settings.webhook_drain)
            self._drained_at = time.monotonic() + self.settings.webhook_drain
            self.server.draining.set()

    def finish_stop(self) -> None:
        """The second half: the rest of the drain, then the server stops."""
        time.sleep(max(0.0, self._drained_at - time.monotonic()))
        self.server.stop()


def _service(reference: str | None, own_namespace: str | None) -> tuple[str, str] | None:
    """(namespace, name) of ``webhook_service`` (NAME or NAMESPACE/NAME)."""
    if not reference:
        return None
    namespace, _, name = reference.rpartition("/")
    namespace = namespace or own_namespace or ""
    if not namespace or not name:
        raise CertificateError(f"webhook_service={reference!r}: give NAMESPACE/NAME, or NAME when the operator "
                               "runs in a pod (its namespace is then the Service's)")
    return namespace, name


def _service_names(namespace: str, name: str) -> list[str]:
    """The DNS names the API server may check a Service's serving certificate against."""
    return [f"{name}.{namespace}.svc", name, f"{name}.{namespace}", f"{name}.{namespace}.svc.cluster.local"]

