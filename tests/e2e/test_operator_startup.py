"""Every start-up error of `opframe run` is one clear line and exit code 1, before anything is watched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from opframe.kube import KubeClient, Resource
from opframe.testing import ControlPlane

pytestmark = pytest.mark.e2e

GOOD = 'from opframe import on\n\n@on.create("configmaps")\ndef created(**_):\n    pass\n'


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opframe.cli", "run", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def _single_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_missing_file(control_plane: ControlPlane, tmp_path: Path) -> None:
    error = _single_error(_run(str(tmp_path / "nope.py"), "--kubeconfig", str(control_plane.kubeconfig)))
    assert error == f"error: operator file {tmp_path / 'nope.py'} does not exist; check the path"


def test_syntax_error_names_file_and_line(control_plane: ControlPlane, tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("from opframe import on\n\ndef oops(:\n    pass\n")
    error = _single_error(_run(str(source), "--kubeconfig", str(control_plane.kubeconfig)))
    assert error.startswith(f"error: {source}:3: syntax error:")


def test_import_error_names_file_and_line(control_plane: ControlPlane, tmp_path: Path) -> None:
    source = tmp_path / "imports.py"
    source.write_text("from opframe import on\n\nimport no_such_module_anywhere\n")
    error = _single_error(_run(str(source), "--kubeconfig", str(control_plane.kubeconfig)))
    assert error == (f"error: {source}:3: importing the operator failed: ModuleNotFoundError: "
                     "No module named 'no_such_module_anywhere'")


def test_no_handler_registered(control_plane: ControlPlane, tmp_path: Path) -> None:
    source = tmp_path / "empty.py"
    source.write_text("import opframe\n")
    error = _single_error(_run(str(source), "--kubeconfig", str(control_plane.kubeconfig)))
    assert error.startswith("error: no handlers are registered; decorate functions with @opframe.on.create")


def test_unknown_resource_suggests_names(control_plane: ControlPlane, tmp_path: Path) -> None:
    source = tmp_path / "typo.py"
    source.write_text('from opframe import on\n\n@on.create("configmapz")\ndef created(**_):\n    pass\n')
    error = _single_error(_run(str(source), "--kubeconfig", str(control_plane.kubeconfig)))
    assert error == "error: unknown resource 'configmapz'; did you mean configmaps? (used by created)"


def test_unreachable_cluster(control_plane: ControlPlane, tmp_path: Path) -> None:
    config = json.loads(control_plane.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    kubeconfig = tmp_path / "unreachable"
    kubeconfig.write_text(json.dumps(config))
    source = tmp_path / "good.py"
    source.write_text(GOOD)
    error = _single_error(_run(str(source), "--kubeconfig", str(kubeconfig)))
    assert error.startswith("error: cannot reach the API server at https://127.0.0.1:1 (")
    assert error.endswith("check that the cluster is running and that the kubeconfig points at it")


def test_rbac_that_forbids_listing_and_watching(control_plane: ControlPlane, kube_client: KubeClient,
                                                namespace: str, tmp_path: Path) -> None:
    accounts = Resource("", "v1", "serviceaccounts")
    kube_client.create(accounts, {"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "powerless", "namespace": namespace}})
    token = kube_client.create(accounts, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                          "spec": {"expirationSeconds": 600}},
                               namespace=namespace, name="powerless", subresource="token")["status"]["token"]
    kubeconfig = control_plane.token_kubeconfig(tmp_path / "powerless", token, namespace=namespace)
    source = tmp_path / "good.py"
    source.write_text(GOOD)
    error = _single_error(_run(str(source), "--kubeconfig", str(kubeconfig), "-n", namespace))
    assert error.startswith(f"error: RBAC forbids the operator to list configmaps in namespace {namespace}; "
                            f"watch configmaps in namespace {namespace}; patch configmaps in namespace {namespace};")
    assert "grant these verbs" in error


def test_no_operator_given() -> None:
    error = _single_error(_run())
    assert error.startswith("error: no operator given")


def test_missing_status_permission_is_warned_at_start_up_and_a_refused_write_said_once(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, tmp_path: Path) -> None:
    """Issue 21: RBAC without <plural>/status. The start-up warns, naming the rule to add; the
    handlers still run, and the refused status writes are said once (not per object), as dropped."""
    from operator_journal import namespaced_crd

    from opframe.testing import eventually, install_crd
    from opframe.testing.operator import OperatorProcess

    group = "statusless.opframe.dev"
    resource = install_crd(kube_client, namespaced_crd(
        group, "Widget", {"type": "object", "x-kubernetes-preserve-unknown-fields": True}, subresources={"status": {}}))
    accounts = Resource("", "v1", "serviceaccounts")
    kube_client.create(accounts, {"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "no-status", "namespace": namespace}})
    rbac = "rbac.authorization.k8s.io"
    kube_client.create(Resource(rbac, "v1", "roles"), {
        "apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": {"name": "no-status", "namespace": namespace},
        "rules": [{"apiGroups": [group], "resources": ["widgets"], "verbs": ["get", "list", "watch", "patch"]},
                  {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]})
    kube_client.create(Resource(rbac, "v1", "rolebindings"), {
        "apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": {"name": "no-status", "namespace": namespace},
        "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "no-status"},
        "subjects": [{"kind": "ServiceAccount", "name": "no-status", "namespace": namespace}]})
    token = kube_client.create(accounts, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                          "spec": {"expirationSeconds": 600}},
                               namespace=namespace, name="no-status", subresource="token")["status"]["token"]
    kubeconfig = control_plane.token_kubeconfig(tmp_path / "no-status", token, namespace=namespace)
    source = tmp_path / "results.py"
    source.write_text(f'from opframe import on\n\n@on.create("widgets.{group}")\n'
                      'def made(name, **_):\n    return {"message": "made " + name}\n')
    with OperatorProcess([source], kubeconfig=kubeconfig, args=["-n", namespace]) as operator:
        operator.wait_started()
        for name in ("one", "two"):
            kube_client.create(resource, {"apiVersion": f"{group}/v1", "kind": "Widget",
                                          "metadata": {"name": name, "namespace": namespace}, "spec": {}})
        eventually(lambda: operator.output().count("Handler 'made' succeeded") == 2, what="both handled")
        for name in ("one", "two"):  # the bookkeeping is written; the results are not
            eventually(lambda name=name: "opframe.dev/last-handled-configuration" in (
                kube_client.get(resource, name, namespace=namespace)["metadata"].get("annotations") or {}),
                what=f"{name}'s diff-base")
            assert "status" not in kube_client.get(resource, name, namespace=namespace)
        output = operator.output()
    warned = [line for line in output.splitlines() if "RBAC forbids the operator to patch widgets/status" in line]
    assert len(warned) == 1 and "resources: [widgets/status], verbs: [patch]" in warned[0], warned
    refused = [line for line in output.splitlines() if "could not be written to status" in line]
    assert len(refused) == 1 and "they are dropped" in refused[0] and "widgets/status" in refused[0], refused
    assert "Traceback" not in output


def test_a_short_or_singular_resource_name_is_said_as_what_it_resolved_to(
        control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    """Issue 21: a name that resolves to something unexpected is not accepted silently."""
    from opframe.testing.operator import OperatorProcess

    source = tmp_path / "short.py"
    source.write_text('from opframe import on\n\n@on.create("cm")\ndef created(**_):\n    pass\n')
    with OperatorProcess([source], kubeconfig=control_plane.kubeconfig, args=["-n", namespace]) as operator:
        operator.wait_started()
        output = operator.output()
    assert "resource 'cm' (used by created) is configmaps, version v1 (kind ConfigMap)" in output, output[-2000:]
