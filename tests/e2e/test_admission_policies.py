"""CEL policies (``on.validate(..., cel=...)``) against the real kube-apiserver: the operator writes a
ValidatingAdmissionPolicy and its binding per handler, and the API server enforces them itself, also
once the operator has stopped. A rule the API server refuses, or RBAC that forbids writing policies,
stops the start-up with what to fix. The operators run in-process."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.registry import Registry
from opframe.kube import KubeClient, Resource, errors
from opframe.runtime.admission import policies
from opframe.runtime.operator.operator import Operator, StartupError
from opframe.settings import Settings
from opframe.testing import AdmissionProbe, ControlPlane, eventually

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
VALIDATING = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False)


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": data}


@pytest.fixture
def managed(kube_client: KubeClient) -> Iterator[str]:
    """A policy name suffix of the test's own; its policies are deleted afterwards (the operator never does)."""
    name = f"p{uuid.uuid4().hex[:6]}.opframe.test"
    yield name
    for policy in kube_client.list(policies.POLICIES).items:
        if policy["metadata"]["name"].endswith(f".{name}"):
            policies.withdraw(kube_client, policy["metadata"]["name"])


@pytest.fixture
def operators() -> Iterator[Callable[..., Operator]]:
    started: list[Operator] = []

    def make(registry: Registry, kubeconfig: Path, **settings: Any) -> Operator:
        operator = Operator(Settings(kubeconfig=str(kubeconfig), shutdown_timeout=5, **settings), registry)
        started.append(operator)
        operator.prepare()
        return operator

    yield make
    for operator in started:
        if not operator.stopped.is_set():
            operator.stop()


@pytest.fixture
def other_namespace(kube_client: KubeClient, namespace: str) -> Iterator[str]:
    other = f"o-{namespace[:55]}"
    kube_client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    yield other
    with contextlib.suppress(errors.NotFound):
        kube_client.delete(NAMESPACES, other)


def test_the_api_server_enforces_the_rules_also_after_the_operator_stopped(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, other_namespace: str, managed: str,
        operators: Callable[..., Operator], caplog: pytest.LogCaptureFixture) -> None:
    called: list[str] = []
    registry = Registry()

    @on.validate("configmaps", id="small", cel="!has(object.data) || object.data.size() <= 2",
                 message="at most 2 keys", registry=registry)
    def small(**_: Any) -> None:
        """A ConfigMap has at most 2 keys."""
        called.append("small")

    @on.validate("configmaps", id="named", labels={"policy": "strict"}, registry=registry, cel=[
        {"expression": "object.metadata.name.startsWith('app-')", "reason": "Forbidden",
         "messageExpression": "'name ' + object.metadata.name + ' does not start with app-'"}])
    def named(**_: Any) -> None:
        called.append("named")

    caplog.set_level(logging.INFO, logger="opframe.admission")
    operator = operators(registry, control_plane.kubeconfig, namespaces=[namespace], webhook_managed=managed)
    operator.start()
    assert operator.webhooks is None  # no webhook server for cel= handlers alone
    assert [record.getMessage() for record in caplog.records if "became" in record.getMessage()] == [
        f"handler small became ValidatingAdmissionPolicy small.{managed} (enforced by the API server, no webhook)",
        f"handler named became ValidatingAdmissionPolicy named.{managed} (enforced by the API server, no webhook)"]
    stored = kube_client.get(policies.POLICIES, f"small.{managed}")
    assert stored["metadata"]["annotations"]["kubernetes.io/description"] == "A ConfigMap has at most 2 keys."

    probe = AdmissionProbe(kube_client)
    try:
        too_big = configmap("too-big", a="1", b="2", c="3")
        refused = probe.wait_until(CONFIGMAPS, too_big, lambda answer: not answer.allowed, namespace=namespace)
        assert refused.code == 422 and refused.message.endswith(
            f"ValidatingAdmissionPolicy 'small.{managed}' with binding 'small.{managed}' denied request: "
            "at most 2 keys"), refused
        assert probe.create(CONFIGMAPS, configmap("fits", a="1", b="2"), namespace=namespace, dry_run=False).allowed
        # only the namespaces the operator serves (-n): elsewhere the rule does not apply
        assert probe.create(CONFIGMAPS, too_big, namespace=other_namespace, dry_run=False).allowed
        # labels= is the policy's objectSelector; a mapping rule's messageExpression and reason
        strict = probe.create(CONFIGMAPS, configmap("plain", {"policy": "strict"}), namespace=namespace)
        assert (strict.code, strict.message.endswith("name plain does not start with app-")) == (403, True), strict
        assert probe.create(CONFIGMAPS, configmap("app-x", {"policy": "strict"}), namespace=namespace).allowed
        assert probe.create(CONFIGMAPS, configmap("plain"), namespace=namespace).allowed

        operator.stop()
        # The point: with the operator gone, the policies stay, and the API server still refuses, on CREATE
        # and on UPDATE, also once it has taken up every change made to its policies until now.
        for resource in (policies.POLICIES, policies.BINDINGS):
            for name in (f"small.{managed}", f"named.{managed}"):
                kube_client.get(resource, name)
        settle(kube_client, probe, namespace)
        after = probe.create(CONFIGMAPS, too_big, namespace=namespace, dry_run=False)
        assert not after.allowed and after.message.endswith("at most 2 keys"), after
        fits = kube_client.get(CONFIGMAPS, "fits", namespace=namespace)
        fits["data"]["c"] = "3"
        with pytest.raises(errors.Invalid, match="at most 2 keys"):
            kube_client.replace(CONFIGMAPS, "fits", fits, namespace=namespace)
    finally:
        probe.close()
    assert called == []  # the decorated functions are never called


def settle(kube_client: KubeClient, probe: AdmissionProbe, namespace: str) -> None:
    """Wait until the API server enforces a policy made now: it takes up changes to policies in order, so
    by then it has taken up every earlier one (a deletion of ours, say)."""
    marker = f"marker-{uuid.uuid4().hex[:6]}"
    registry = Registry()
    on.validate("configmaps", id=marker, cel=f"object.metadata.name != '{marker}'", registry=registry)(
        lambda **_: None)
    (made,) = policies.policies([(handler, CONFIGMAPS) for handler in registry.handlers()], managed="opframe.test",
                                segment=lambda handler_id: handler_id, served_namespaces=[namespace])
    try:
        policies.apply(kube_client, made)
        probe.wait_until(CONFIGMAPS, configmap(marker), lambda answer: not answer.allowed, namespace=namespace)
    finally:
        policies.withdraw(kube_client, made.name)


def test_a_rule_the_api_server_refuses_stops_the_start_up_naming_it(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, managed: str,
        operators: Callable[..., Operator]) -> None:
    registry = Registry()
    on.validate("configmaps", id="fine", cel="true", registry=registry)(lambda **_: None)
    on.validate("configmaps", id="broken", cel=["true", "object.data.size() <="], registry=registry)(lambda **_: None)
    operator = operators(registry, control_plane.kubeconfig, namespaces=[namespace], webhook_managed=managed)
    with pytest.raises(StartupError) as error:
        operator.start()
    message = str(error.value)
    assert message.startswith(f"the ValidatingAdmissionPolicies cannot be written: handler 'broken': the API server "
                              f"refuses its ValidatingAdmissionPolicy broken.{managed}, expression "
                              "'object.data.size() <=': "), message
    assert "spec.validations[1].expression" in message and "Syntax error" in message  # the API server's words
    with pytest.raises(errors.NotFound):
        kube_client.get(policies.POLICIES, f"broken.{managed}")


def test_without_rbac_for_policies_the_start_up_says_what_to_grant(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, managed: str,
        operators: Callable[..., Operator], tmp_path: Path) -> None:
    account = "no-policies"
    kube_client.create(ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": account, "namespace": namespace}})
    token = kube_client.create(ACCOUNTS, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                          "spec": {"expirationSeconds": 600}},
                               namespace=namespace, name=account, subresource="token")["status"]["token"]
    kubeconfig = control_plane.token_kubeconfig(tmp_path / "kubeconfig", token, namespace=namespace)
    registry = Registry()
    on.validate("configmaps", id="small", cel="object.data.size() <= 2", registry=registry)(lambda **_: None)
    operator = operators(registry, kubeconfig, namespaces=[namespace], webhook_managed=managed,
                         post_events=False)
    with pytest.raises(StartupError) as error:
        operator.start()
    message = str(error.value)
    assert f"handler 'small': RBAC forbids the operator to write the ValidatingAdmissionPolicy small.{managed}" in \
        message, message
    assert message.endswith("grant create and patch on validatingadmissionpolicies and "
                            "validatingadmissionpolicybindings in admissionregistration.k8s.io with a ClusterRole "
                            "and ClusterRoleBinding"), message


def test_beside_webhooks_a_cel_handler_is_a_policy_and_no_webhook_entry(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, managed: str,
        operators: Callable[..., Operator]) -> None:
    registry = Registry()

    @on.validate("configmaps", id="served", registry=registry)
    def served(name: str, **_: Any) -> None:
        if name == "denied":
            raise opframe.AdmissionError("denied by the webhook", code=422)

    on.validate("configmaps", id="small", cel="!has(object.data) || object.data.size() <= 2", message="at most 2 keys",
                registry=registry)(lambda **_: None)
    operator = operators(registry, control_plane.kubeconfig, namespaces=[namespace], webhook_managed=managed,
                         webhook_address="127.0.0.1")
    probe = AdmissionProbe(kube_client)
    try:
        operator.start()
        assert operator.webhooks is not None
        entries = kube_client.get(VALIDATING, managed)["webhooks"]
        assert [entry["name"] for entry in entries] == [f"served.{managed}"]
        probe.wait_until(CONFIGMAPS, configmap("denied"), lambda answer: not answer.allowed, namespace=namespace)
        refused = probe.wait_until(CONFIGMAPS, configmap("big", a="1", b="2", c="3"),
                                   lambda answer: not answer.allowed, namespace=namespace)
        assert refused.message.endswith("at most 2 keys")
        assert probe.create(CONFIGMAPS, configmap("fine", a="1"), namespace=namespace).allowed
        operator.stop()
        assert not kube_client.get(VALIDATING, managed).get("webhooks")  # the webhook entry is withdrawn...
        assert kube_client.get(policies.POLICIES, f"small.{managed}")  # ...the policy stays
    finally:
        probe.close()
        with contextlib.suppress(errors.NotFound):
            kube_client.delete(VALIDATING, managed)


def test_the_leader_applies_a_policy_again_after_a_hand_edit_or_a_deletion(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, managed: str,
        operators: Callable[..., Operator], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opframe.runtime.admission.policies.REPAIR_SECONDS", 0.3)
    registry = Registry()
    on.validate("configmaps", id="small", cel="!has(object.data) || object.data.size() <= 2",
                message="at most 2 keys", registry=registry)(lambda **_: None)
    operator = operators(registry, control_plane.kubeconfig, namespaces=[namespace], webhook_managed=managed)
    operator.start()
    name = f"small.{managed}"

    def expression() -> str | None:
        try:
            return str(kube_client.get(policies.POLICIES, name)["spec"]["validations"][0]["expression"])
        except errors.NotFound:
            return None

    stored = kube_client.get(policies.POLICIES, name)
    stored["spec"]["validations"][0]["expression"] = "true"  # someone loosens the rule by hand
    kube_client.replace(policies.POLICIES, name, stored)
    eventually(lambda: expression() == "!has(object.data) || object.data.size() <= 2", what="the rule restored",
               timeout=15)
    kube_client.delete(policies.BINDINGS, name)  # without its binding a policy enforces nothing
    eventually(lambda: _exists(kube_client, policies.BINDINGS, name), what="the binding written again", timeout=15)
    operator.stop()
    assert operator.policy_keeper is not None and not operator.policy_keeper._thread.is_alive()


def _exists(client: KubeClient, resource: Resource, name: str) -> bool:
    try:
        client.get(resource, name)
    except errors.NotFound:
        return False
    return True
