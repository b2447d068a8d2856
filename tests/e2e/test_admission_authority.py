"""The CA every replica shares (opframe.runtime.admission.authority), on the real API server: one Secret
made once, every replica's certificate issued from it, and a rotation (new CA trusted, then serving,
then the old one dropped) with the API server calling the webhook throughout and no failed request."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opframe import on
from opframe.handlers.handler import ADMISSION_KINDS
from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry
from opframe.kube import KubeClient, Resource, errors
from opframe.kube.pki import new_ca
from opframe.runtime.admission.authority import ROTATE_ANNOTATION, SECRETS
from opframe.runtime.admission.certificates import ServingCertificates
from opframe.runtime.admission.webhooks import Webhooks
from opframe.settings import Settings
from opframe.testing import eventually

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
MUTATING = Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced=False)


def handshake(port: int, trusted: bytes) -> bool:
    """Whether a new TLS connection to 127.0.0.1:port verifies against ``trusted`` alone."""
    context = ssl.create_default_context(cadata=trusted.decode())
    context.check_hostname = False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw):
            return True
    except ssl.SSLError:
        return False


def replica(registry: Registry, client: KubeClient, namespace: str, managed: str) -> Webhooks:
    handlers = [(handler, CONFIGMAPS) for handler in registry.handlers(*ADMISSION_KINDS)]
    settings = Settings(webhook_address="127.0.0.1", webhook_host="127.0.0.1", webhook_managed=managed,
                        webhook_ca_secret="webhook-ca", webhook_ca_overlap=1.5)
    return Webhooks(settings, handlers, client=client, loops=None, memo=Memo(), indexes=dict, own_namespace=namespace)


@pytest.fixture
def replicas(kube_client: KubeClient, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Webhooks]]:
    monkeypatch.setattr("opframe.runtime.admission.webhooks.REPAIR_SECONDS", 0.3)
    managed = f"{namespace}.authority.opframe.test"
    registry = Registry()

    @on.mutate("configmaps", id="stamp", registry=registry, operations=["CREATE"],
               namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}})
    def stamp(patch: Any, **_: Any) -> None:
        patch.metadata.setdefault("labels", {})["stamped"] = "yes"

    made = [replica(registry, kube_client, namespace, managed) for _ in range(2)]
    yield made
    for webhooks in made:
        webhooks.stop(withdraw=False)
    with contextlib.suppress(errors.NotFound):
        kube_client.delete(MUTATING, managed)


def secret_data(client: KubeClient, namespace: str) -> dict[str, bytes]:
    data = client.get(SECRETS, "webhook-ca", namespace=namespace).get("data") or {}
    return {key: base64.b64decode(value) for key, value in data.items()}


def test_the_replicas_share_one_ca_and_a_rotation_fails_no_request(
        kube_client: KubeClient, namespace: str, replicas: list[Webhooks]) -> None:
    leader, standby = replicas
    # The replica the API server calls is a slow one: it serves a certificate of a new signing CA only a
    # second after the Secret says so (the CAs it trusts change at once). The overlap is what keeps its
    # requests from failing meanwhile.
    serve_from = leader.certificates.serve_from
    seen: dict[bytes, float] = {}
    serving: list[tuple[bytes, bytes]] = []

    def slow_serve_from(ca_cert: bytes, ca_key: bytes, bundle: bytes) -> bool:
        first_seen = seen.setdefault(ca_cert, time.monotonic())
        if not serving or time.monotonic() - first_seen >= 1.0:
            serving[:] = [(ca_cert, ca_key)]
        return serve_from(*serving[0], bundle)

    leader.certificates.serve_from = slow_serve_from  # type: ignore[method-assign]
    leader.start()
    standby.start()
    first = secret_data(kube_client, namespace)
    assert set(first) == {"ca.crt", "ca.key"}
    # one CA for both: each replica's own certificate verifies against the one Secret's CA
    assert leader.certificates.ca_bundle == standby.certificates.ca_bundle == first["ca.crt"]
    assert handshake(leader.server.port, first["ca.crt"]) and handshake(standby.server.port, first["ca.crt"])
    leader.configure()

    created: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            name = f"cm-{len(created) + len(failures)}"
            try:
                kube_client.create(CONFIGMAPS, {"metadata": {"name": name, "namespace": namespace}},
                                   namespace=namespace)
                created.append(name)
            except errors.ApiError as exc:
                failures.append(f"{name}: {exc}")

    def stamped(name: str) -> bool:
        labels = kube_client.get(CONFIGMAPS, name, namespace=namespace)["metadata"].get("labels") or {}
        return labels.get("stamped") == "yes"

    def probe() -> bool:
        name = f"probe-{time.monotonic_ns()}"
        kube_client.create(CONFIGMAPS, {"metadata": {"name": name, "namespace": namespace}}, namespace=namespace)
        return stamped(name)

    eventually(probe, what="the webhook in effect", timeout=15)
    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.5)
        kube_client.patch(SECRETS, "webhook-ca", {"metadata": {"annotations": {ROTATE_ANNOTATION: "now"}}},
                          namespace=namespace)
        eventually(lambda: "next.crt" in secret_data(kube_client, namespace), what="a new CA introduced",
                   timeout=15)
        eventually(lambda: "previous.crt" in secret_data(kube_client, namespace), what="the new CA promoted",
                   timeout=15)
        eventually(lambda: set(secret_data(kube_client, namespace)) == {"ca.crt", "ca.key"},
                   what="the old CA retired", timeout=15)
        time.sleep(1.0)  # requests go on after the last step, through the API server's new client
    finally:
        stop.set()
        writer.join()
    last = secret_data(kube_client, namespace)
    assert last["ca.crt"] != first["ca.crt"]
    assert failures == [] and len(created) > 20
    assert all(stamped(name) for name in created[::5])  # the webhook was called throughout
    # both replicas serve certificates of the new CA to new connections, and only it is trusted
    assert leader.certificates.ca_bundle == standby.certificates.ca_bundle == last["ca.crt"]
    for webhooks in replicas:
        assert handshake(webhooks.server.port, last["ca.crt"])
        assert not handshake(webhooks.server.port, first["ca.crt"])
    stored = kube_client.get(MUTATING, leader.settings.webhook_managed or "")["webhooks"][0]
    assert base64.b64decode(stored["clientConfig"]["caBundle"]) == last["ca.crt"]


def test_a_broken_ca_secret_is_named_with_the_fix(kube_client: KubeClient, namespace: str,
                                                  replicas: list[Webhooks]) -> None:
    kube_client.create(SECRETS, {"metadata": {"name": "webhook-ca", "namespace": namespace},
                                 "data": {"ca.crt": base64.b64encode(b"junk").decode()}}, namespace=namespace)
    with pytest.raises(Exception, match=f"the CA Secret {namespace}/webhook-ca holds no usable ca.crt and ca.key"):
        replicas[0].start()


def test_a_shared_ca_replica_serves_from_the_signing_ca_and_trusts_the_bundle() -> None:
    first, second = new_ca("first")[0], new_ca("second")[0]
    certificates = ServingCertificates(hosts=["127.0.0.1"], shared=True)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(ssl.SSLError, OSError):
                certificates.context().wrap_socket(connection, server_side=True).close()
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert certificates.serve_from(first.cert_pem, first.key_pem, first.cert_pem)
        assert handshake(port, first.cert_pem) and not handshake(port, second.cert_pem)
        # introduced: trusted, not yet signing; the served certificate stays
        assert certificates.serve_from(first.cert_pem, first.key_pem, first.cert_pem + second.cert_pem)
        assert certificates.ca_bundle == first.cert_pem + second.cert_pem
        assert handshake(port, first.cert_pem)
        assert not certificates.serve_from(first.cert_pem, first.key_pem, first.cert_pem + second.cert_pem)
        # promoted: the next handshake gets a certificate of the new CA
        assert certificates.serve_from(second.cert_pem, second.key_pem, second.cert_pem + first.cert_pem)
        assert handshake(port, second.cert_pem) and not handshake(port, first.cert_pem)
    finally:
        listener.close()
