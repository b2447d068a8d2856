"""Logging in again when the API server rejects the credentials (401), as kopf re-authenticates:
the on.login handlers run again (or, without them, the kubeconfig is read again), and the request
that failed is sent with what they return. Real tokens of real ServiceAccounts, revoked by deleting
the account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from operator_journal import CONFIGMAPS, Journal, configmap, journal, operator_factory

from opframe.kube import KubeClient, Resource, errors, load_configuration
from opframe.testing import ControlPlane, eventually
from opframe.testing.operator import OperatorProcess

__all__ = ["journal", "operator_factory"]  # fixtures

pytestmark = pytest.mark.e2e

ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")


@pytest.fixture
def account(kube_client: KubeClient, namespace: str) -> Iterator[Callable[[str], str]]:
    """A ServiceAccount allowed to handle the namespace's ConfigMaps: its name -> a token of it. (A Role of
    our own: the aggregated ClusterRoles such as edit are empty without kube-controller-manager.)"""
    kube_client.create(ROLES, {"metadata": {"name": "operator", "namespace": namespace}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "patch", "update"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}]})

    def make(name: str) -> str:
        kube_client.create(ACCOUNTS, {"metadata": {"name": name, "namespace": namespace}})
        kube_client.create(ROLE_BINDINGS, {
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "operator"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]})
        answer = kube_client.create(ACCOUNTS, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                               "spec": {"expirationSeconds": 3600}},
                                    namespace=namespace, name=name, subresource="token")
        return str(answer["status"]["token"])

    yield make


def revoke(kube_client: KubeClient, namespace: str, name: str, token: str, kubeconfig: Path) -> None:
    """Delete the account: the API server rejects its tokens from then on (ServiceAccount lookup)."""
    kube_client.delete(ACCOUNTS, name, namespace=namespace)

    def rejected() -> bool:
        configuration = load_configuration(kubeconfig)
        configuration.api_key = {"authorization": f"Bearer {token}"}
        configuration.cert_file = configuration.key_file = None
        probe = KubeClient(configuration)
        try:
            probe.list(CONFIGMAPS, namespace=namespace, limit=1)
        except errors.Unauthorized:
            return True
        finally:
            probe.close()
        return False

    eventually(rejected, what=f"the token of {name} to be rejected", timeout=30)


def test_login_handlers_run_again_when_the_token_is_rejected(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        account: Callable[[str], str], operator_factory: Callable[..., OperatorProcess], tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    first = account("first")
    token_file.write_text(first)
    cluster = load_configuration(control_plane.kubeconfig)
    operator_factory(f'''
    @on.login()
    def login(**_):
        token = open({str(token_file)!r}).read()
        note(handler="login", token=token[-12:])
        return opframe.ConnectionInfo(server={cluster.host!r}, ca_path={cluster.ssl_ca_cert!r}, token=token,
                                      default_namespace={namespace!r})

    @on.create("configmaps", labels={{"app": "test"}})
    def created(name, patch, **_):
        note(handler="create", name=name)
        patch.metadata.labels["seen"] = "yes"
    ''', "--standalone", "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "before"))
    eventually(lambda: kube_client.get(CONFIGMAPS, "before", namespace=namespace)["metadata"]["labels"].get("seen")
               == "yes", what="the first object handled with the first token")

    second = account("second")
    token_file.write_text(second)
    revoke(kube_client, namespace, "first", first, control_plane.kubeconfig)
    kube_client.create(CONFIGMAPS, configmap(namespace, "after"))
    # The watch opened with the first token goes on; the handler's PATCH gets a 401, the login handler runs
    # again, and the PATCH goes through with the second token.
    eventually(lambda: kube_client.get(CONFIGMAPS, "after", namespace=namespace)["metadata"]["labels"].get("seen")
               == "yes", what="the object created after the revocation handled", timeout=60)
    assert [entry["token"] for entry in journal.entries(handler="login")] == [first[-12:], second[-12:]]
    assert [entry["name"] for entry in journal.entries(handler="create")] == ["before", "after"]


def test_without_login_handlers_the_kubeconfig_is_read_again_when_the_token_is_rejected(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        account: Callable[[str], str], tmp_path: Path) -> None:
    """kopf's default login (login_via_client) runs again on a 401: a kubeconfig whose token was renewed
    on disk (by a sidecar, a CI job...) is taken up without a restart."""
    first = account("first")
    kubeconfig = control_plane.token_kubeconfig(tmp_path / "kubeconfig", first, namespace=namespace)
    operator = tmp_path / "operator.py"
    operator.write_text(f'''
import json
from opframe import on

@on.create("configmaps", labels={{"app": "test"}})
def created(name, patch, **_):
    with open({str(journal.path)!r}, "a") as journal:
        journal.write(json.dumps({{"handler": "create", "name": name}}) + "\\n")
    patch.metadata.labels["seen"] = "yes"
''')
    with OperatorProcess([operator], kubeconfig=kubeconfig, args=["--standalone", "-n", namespace]) as process:
        process.wait_started()
        kube_client.create(CONFIGMAPS, configmap(namespace, "before"))
        journal.wait_count(1, handler="create", name="before")
        control_plane.token_kubeconfig(kubeconfig, account("second"), namespace=namespace)
        revoke(kube_client, namespace, "first", first, control_plane.kubeconfig)
        kube_client.create(CONFIGMAPS, configmap(namespace, "after"))
        eventually(lambda: kube_client.get(CONFIGMAPS, "after", namespace=namespace)["metadata"]["labels"].get(
            "seen") == "yes", what="the object created after the revocation handled", timeout=60)
        assert "Re-authentication has finished." in process.log_path.read_text()
