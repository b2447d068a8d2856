"""The operator's admission webhooks: its server (every replica serves) and, when ``webhook_managed``
names them, the webhook configurations that point the API server at it (the leader writes them).

Lifecycle: ``start()`` makes or loads the certificates and listens; ``configure()`` applies the
configurations and keeps them: every REPAIR_SECONDS it compares what the API server holds with
opframe's entries and applies them again when someone edited or deleted them; ``stop()`` first
withdraws the entries of non-persistent handlers (only when this replica applied them, and not when
other replicas may still serve: ``withdraw=False`` under leader election), so that the API server
stops calling a server that is going away, then stops serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.runtime.admission import configurations
from opframe.runtime.admission.certificates import ServingCertificates
from opframe.runtime.admission.serving import AdmissionServer, reachable_host
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
                 served_namespaces: Sequence[str] = ()) -> None:
        self.settings = settings
        self.handlers = list(handlers)
        self.client = client
        self.own_namespace = own_namespace
        self.served_namespaces = list(served_namespaces)
        host = settings.webhook_host
        names = [name for name in (host, reachable_host(settings.webhook_address), *settings.webhook_extra_sans)
                 if name]
        self.certificates = ServingCertificates(
            cert_file=settings.webhook_cert_file, key_file=settings.webhook_key_file,
            password=settings.webhook_key_password, ca_file=settings.webhook_ca_file, hosts=names)
        self.server = AdmissionServer(self.handlers, self.certificates, loops=loops, memo=memo, indexes=indexes,
                                      extra=extra, address=settings.webhook_address, port=settings.webhook_port,
                                      path=settings.webhook_path, host=host)
        self._applied: dict[Kind, list[dict[str, Any]]] = {}
        self._keeping = threading.Event()
        self._keeper: threading.Thread | None = None

    def start(self) -> None:
        if self.settings.webhook_ca_dump:
            Path(self.settings.webhook_ca_dump).write_bytes(self.certificates.ca_bundle)
        self.server.start()

    def entries(self, kind: Kind) -> list[dict[str, Any]]:
        assert self.settings.webhook_managed
        ca_bundle = self.certificates.ca_bundle
        return configurations.entries(
            kind, self.handlers, managed=self.settings.webhook_managed, own_namespace=self.own_namespace,
            served_namespaces=self.served_namespaces,
            segment=self.server.segment,
            client_config=lambda handler: configurations.client_config(self.server.url(handler.id), ca_bundle))

    def configure(self) -> None:
        """Apply the managed configurations and keep them (nothing without ``webhook_managed``)."""
        self._apply()
        if self.settings.webhook_managed and self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name="webhook-configurations", daemon=True)
            self._keeper.start()

    def _keep(self) -> None:
        while not self._keeping.wait(REPAIR_SECONDS):
            try:
                edited = [kind for kind, webhooks in self._applied.items() if not self._intact(kind, webhooks)]
                if edited:
                    logger.warning("the webhook configuration %s was changed by someone else; opframe's entries "
                                   "are applied again", self.settings.webhook_managed)
                    self._apply()
            except (errors.KubeError, configurations.ConfigurationError, OSError) as exc:
                logger.warning("the webhook configurations could not be checked: %s", exc)

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

    def _apply(self) -> None:
        name = self.settings.webhook_managed
        if not name:
            return
        for kind in (Kind.VALIDATE, Kind.MUTATE):
            webhooks = self.entries(kind)
            if not webhooks and kind not in self._applied:
                continue
            try:
                configurations.apply(self.client, kind, name, webhooks)
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
        replicas may still serve them), stop serving."""
        self._keeping.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
        name = self.settings.webhook_managed
        for kind, webhooks in self._applied.items() if withdraw else ():
            assert name
            try:
                configurations.withdraw(self.client, kind, name, webhooks,
                                        {handler.id: handler for handler, _ in self.handlers},
                                        self.server.segment, name)
            except errors.KubeError as exc:
                logger.warning("the webhook configuration %s could not be cleaned up: %s", name, exc)
        self._applied.clear()
        self.server.stop()

