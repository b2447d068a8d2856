"""The admission webhook server (opframe.runtime.admission) on its own and called by the real
kube-apiserver: request hygiene, certificate rotation without a failed request, answering before the
API server's timeout, and the options beyond kopf's written into the managed configurations."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

import opframe
from opframe import on
from opframe.handlers.handler import ADMISSION_KINDS
from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry
from opframe.kube import KubeClient, Resource, errors
from opframe.kube.pki import issue, new_ca
from opframe.runtime.admission.certificates import ServingCertificates
from opframe.runtime.admission.serving import MAX_BODY_BYTES, AdmissionServer
from opframe.runtime.admission.webhooks import Webhooks
from opframe.settings import Settings
from opframe.testing import eventually

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
VALIDATING = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False)


def review(uid: str = "u1", **request: Any) -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "resource": {"group": "", "version": "v1", "resource": "configmaps"}, "operation": "CREATE",
        "userInfo": {"username": "u"}, "object": {"metadata": {"name": "a", "namespace": "n"}}, **request}}


@pytest.fixture
def serve() -> Iterator[Callable[..., AdmissionServer]]:
    started: list[AdmissionServer] = []

    def start(registry: Registry, certificates: ServingCertificates | None = None, path: str = "") -> AdmissionServer:
        handlers = [(handler, CONFIGMAPS) for handler in registry.handlers(*ADMISSION_KINDS)]
        server = AdmissionServer(handlers, certificates or ServingCertificates(hosts=["127.0.0.1"]), loops=None,
                                 memo=Memo(), indexes=dict, address="127.0.0.1", path=path)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def client(server: AdmissionServer) -> urllib3.PoolManager:
    ca = server.certificates.ca_bundle
    context = ssl.create_default_context(cadata=ca.decode())
    return urllib3.PoolManager(ssl_context=context, retries=False)


def test_bad_requests_get_a_reason_and_the_server_goes_on(serve: Callable[..., AdmissionServer]) -> None:
    registry = Registry()
    on.validate("configmaps", id="check", registry=registry)(lambda **_: None)
    server = serve(registry, path="/hooks")
    http = client(server)
    url = server.url("check")
    json_type = {"Content-Type": "application/json"}
    answers = [
        http.request("GET", url),
        http.request("POST", f"https://127.0.0.1:{server.port}/elsewhere/check", body=b"{}", headers=json_type),
        http.request("POST", url, body=b"{}", headers={"Content-Type": "text/plain"}),
        http.request("POST", url, body=b"not json", headers=json_type),
        http.request("POST", url, body=json.dumps({"apiVersion": "v1"}).encode(), headers=json_type),
        # the root names no handler: kopf answers with an empty allow, and so does opframe
        http.request("POST", server.url("") + "/", body=json.dumps(review(uid="root")).encode(), headers=json_type),
    ]
    codes = [answer.status for answer in answers]
    assert codes == [405, 404, 415, 400, 400, 200], [(a.status, a.data[:80]) for a in answers]
    assert answers[4].data.startswith(b"400: apiVersion 'v1' is not an AdmissionReview's")
    assert json.loads(answers[5].data)["response"] == {"uid": "root", "allowed": True}
    # A body announced too long is refused before it is read (the connection is closed); none, 411.
    context = ssl.create_default_context(cadata=server.certificates.ca_bundle.decode())
    for length, status in ((f"Content-Length: {MAX_BODY_BYTES + 1}\r\n", b"413"), ("", b"411")):
        with socket_to(server) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(f"POST /hooks/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        f"{length}\r\n".encode())
            assert tls.recv(100).split(b" ")[1] == status
    good = http.request("POST", url, body=json.dumps(review()).encode(), headers={"Content-Type": "application/json"})
    assert good.status == 200 and json.loads(good.data)["response"] == {"uid": "u1", "allowed": True}


def test_a_slow_handler_is_answered_for_before_the_api_server_gives_up(
        serve: Callable[..., AdmissionServer]) -> None:
    registry = Registry()
    release = threading.Event()
    on.validate("configmaps", id="slow", registry=registry)(lambda **_: release.wait(30))
    on.validate("configmaps", id="tolerated", ignore_failures=True, registry=registry)(lambda **_: release.wait(30))
    server = serve(registry)
    http = client(server)
    try:
        for handler_id, allowed in (("slow", False), ("tolerated", True)):
            started = time.monotonic()
            answer = http.request("POST", server.url(handler_id) + "?timeout=2s", body=json.dumps(review()).encode(),
                                  headers={"Content-Type": "application/json"})
            took = time.monotonic() - started
            response = json.loads(answer.data)["response"]
            assert response["allowed"] is allowed and took < 2.0, (response, took)
            if not allowed:
                status = response["status"]
                assert status["code"] == 504 and "did not answer within 2 s" in status["message"]
    finally:
        release.set()


def _pair(folder: Path, name: str, ca: Any) -> tuple[Path, Path]:
    _, ca_key, ca_cert = ca
    pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name=name, server_names=("127.0.0.1",))
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    cert.write_bytes(pair.cert_pem)
    key.write_bytes(pair.key_pem)
    return cert, key


def test_replaced_certificate_files_serve_the_next_handshake_and_no_request_fails(
        serve: Callable[..., AdmissionServer], tmp_path: Path) -> None:
    ca = new_ca("test-ca")
    first_cert, first_key = _pair(tmp_path, "first", ca)
    second_cert, second_key = _pair(tmp_path, "second", ca)
    live_cert, live_key = tmp_path / "tls.crt", tmp_path / "tls.key"
    live_cert.write_bytes(first_cert.read_bytes())
    live_key.write_bytes(first_key.read_bytes())
    registry = Registry()
    on.validate("configmaps", id="check", registry=registry)(lambda **_: None)
    server = serve(registry, ServingCertificates(cert_file=str(live_cert), key_file=str(live_key),
                                                 ca_file=None, hosts=None))
    context = ssl.create_default_context(cadata=ca[0].cert_pem.decode())

    def served_name() -> str:
        with socket_to(server) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
            return str(subject["commonName"])

    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_asking() -> None:
        http = urllib3.PoolManager(ssl_context=context, retries=False)
        while not stop.is_set():
            try:
                answer = http.request("POST", server.url("check"), body=json.dumps(review()).encode(),
                                      headers={"Content-Type": "application/json"})
                assert answer.status == 200
            except BaseException as exc:  # every failure counts
                failures.append(exc)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        assert served_name() == "first"
        live_key.write_bytes(second_key.read_bytes())  # the key first: a half-written pair keeps the old one
        live_cert.write_bytes(second_cert.read_bytes())
        deadline = time.monotonic() + 10
        while served_name() != "second":
            assert time.monotonic() < deadline, "the new certificate was never served"
            time.sleep(0.2)
    finally:
        stop.set()
        asker.join()
    assert not failures, failures[:3]


@contextlib.contextmanager
def socket_to(server: AdmissionServer) -> Iterator[Any]:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        yield raw


def test_options_beyond_kopf_reach_the_api_server(kube_client: KubeClient, namespace: str, tmp_path: Path) -> None:
    """match_conditions (CEL) keep requests away from the handler; timeout= is written; entries of another
    field manager in the same configuration survive opframe's writes (server-side apply)."""
    name = f"{namespace}.opframe.test"
    seen: list[str] = []
    registry = Registry()

    @on.validate("configmaps", id="guard", registry=registry, timeout=5,
                 match_conditions=[{"name": "only-guarded",
                                    "expression": "object.metadata.name.startsWith('guarded')"}])
    def guard(name: str, **_: Any) -> None:
        seen.append(name)
        raise opframe.AdmissionError("guarded configmaps are read-only here", code=422)

    settings = Settings(webhook_address="127.0.0.1", webhook_managed=name)
    handlers = [(handler, CONFIGMAPS) for handler in registry.handlers(*ADMISSION_KINDS)]
    webhooks = Webhooks(settings, handlers, client=kube_client, loops=None, memo=Memo(), indexes=dict)
    try:
        webhooks.start()
        webhooks.configure()
        # another manager's entry in the same configuration
        kube_client.patch(VALIDATING, name, {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": [{
                "name": f"other.{name}", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "failurePolicy": "Ignore", "clientConfig": {"url": "https://127.0.0.1:1/never"},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["secrets"],
                           "operations": ["CREATE"]}]}]}, patch_type="apply", field_manager="someone-else")
        webhooks.configure()
        stored = {w["name"]: w for w in kube_client.get(VALIDATING, name)["webhooks"]}
        assert set(stored) == {f"guard.{name}", f"other.{name}"}
        assert stored[f"guard.{name}"]["timeoutSeconds"] == 5

        def create(cm: str) -> None:
            kube_client.create(CONFIGMAPS, {"metadata": {"name": cm, "namespace": namespace}}, namespace=namespace)

        deadline = time.monotonic() + 10
        while True:  # the API server takes up a new configuration within about 0.05 s; allow more
            try:
                create(f"guarded-{int(time.monotonic() * 1000)}")
            except errors.ApiError as exc:
                assert exc.code == 422 and "guarded configmaps are read-only here" in str(exc)
                break
            assert time.monotonic() < deadline, "the webhook never took effect"
            time.sleep(0.1)
        create("free")  # the match condition keeps this request away from the operator
        assert "free" not in seen and any(name.startswith("guarded") for name in seen)
        webhooks.stop()
        # withdrawn at a graceful stop: opframe's entry is gone, the other manager's stays
        assert [w["name"] for w in kube_client.get(VALIDATING, name).get("webhooks") or []] == [f"other.{name}"]
    finally:
        webhooks.server.stop()
        with contextlib.suppress(errors.NotFound):
            kube_client.delete(VALIDATING, name)


def test_readiness_dials_the_server_and_every_answer_is_observed(serve: Callable[..., AdmissionServer]) -> None:
    registry = Registry()
    on.validate("configmaps", id="check", registry=registry)(lambda **_: None)
    on.validate("configmaps", id="deny", registry=registry)(lambda **_: (_ for _ in ()).throw(RuntimeError("no")))
    server = serve(registry)
    observed: list[tuple[str, str]] = []
    server.observer = lambda handlers, outcome, seconds: observed.append((handlers, outcome))
    assert server.reachable() is None
    http = client(server)
    for handler_id in ("check", "deny"):
        http.request("POST", server.url(handler_id), body=json.dumps(review()).encode(),
                     headers={"Content-Type": "application/json"})
    assert observed == [("check", "allowed"), ("deny", "denied")]
    server.stop()
    assert "does not answer a TLS handshake" in (server.reachable() or "")


def test_the_leaders_configurations_are_repaired_when_edited_or_deleted(
        kube_client: KubeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opframe.runtime.admission.webhooks.REPAIR_SECONDS", 0.3)
    name = f"repair-{time.monotonic_ns() % 10**8}.opframe.test"
    registry = Registry()
    on.validate("configmaps", id="guard", registry=registry, ignore_failures=True,
                match_conditions=[{"name": "never", "expression": "false"}])(lambda **_: None)
    handlers = [(handler, CONFIGMAPS) for handler in registry.handlers(*ADMISSION_KINDS)]
    webhooks = Webhooks(Settings(webhook_address="127.0.0.1", webhook_managed=name), handlers, client=kube_client,
                        loops=None, memo=Memo(), indexes=dict)

    def entry() -> dict[str, Any] | None:
        try:
            stored = kube_client.get(VALIDATING, name).get("webhooks") or []
        except errors.NotFound:
            return None
        return next((w for w in stored if w["name"] == f"guard.{name}"), None)

    try:
        webhooks.start()
        webhooks.configure()
        assert entry() is not None and entry()["failurePolicy"] == "Ignore"  # type: ignore[index]
        stored = kube_client.get(VALIDATING, name)
        stored["webhooks"][0]["failurePolicy"] = "Fail"  # a hand edit
        kube_client.replace(VALIDATING, name, stored)
        eventually(lambda: (entry() or {}).get("failurePolicy") == "Ignore", what="the hand edit undone", timeout=15)
        kube_client.delete(VALIDATING, name)
        eventually(lambda: entry() is not None, what="the deleted configuration written again", timeout=15)
        webhooks.stop()
        assert entry() is None  # withdrawn at a graceful stop
    finally:
        webhooks.stop()
        with contextlib.suppress(errors.NotFound):
            kube_client.delete(VALIDATING, name)


def test_the_leader_probes_that_the_api_server_reaches_its_server_and_readiness_says_when_not(
        kube_client: KubeClient, namespace: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("opframe.runtime.admission.webhooks.REPAIR_SECONDS", 3600)  # the test calls check()
    name = f"{namespace}.probe.opframe.test"
    registry = Registry()
    on.validate("configmaps", id="guard", registry=registry,
                match_conditions=[{"name": "never", "expression": "false"}])(lambda **_: None)
    handlers = [(handler, CONFIGMAPS) for handler in registry.handlers(*ADMISSION_KINDS)]
    webhooks = Webhooks(Settings(webhook_address="127.0.0.1", webhook_managed=name), handlers, client=kube_client,
                        loops=None, memo=Memo(), indexes=dict, own_namespace=namespace)
    try:
        webhooks.start()
        webhooks.configure()
        entries = {w["name"]: w for w in kube_client.get(VALIDATING, name)["webhooks"]}
        label = entries[f"opframe-probe.{name}"]["objectSelector"]["matchLabels"]["opframe.dev/webhook-probe"]
        assert label.startswith("sha256-") and len(label) <= 63  # the name is longer than a label value
        eventually(lambda: webhooks.check() is None and webhooks.unreachable is None and webhooks.reachable() is None,
                   what="the probe through the API server answered", timeout=10)
        assert not kube_client.list(CONFIGMAPS, namespace=namespace).items  # dry runs: nothing stored
        webhooks.server.stop()  # the API server can no longer reach it
        webhooks.check()
        assert webhooks.unreachable is not None
        assert webhooks.unreachable.startswith("the API server cannot call the webhook server: ")
        assert "failed calling webhook" in webhooks.unreachable
        assert webhooks.reachable() is not None
        assert [r.getMessage() for r in caplog.records if "cannot call the webhook server" in r.getMessage()]
    finally:
        webhooks.stop()
        with contextlib.suppress(errors.NotFound):
            kube_client.delete(VALIDATING, name)
