"""The Helm chart: lint, render, reject bad values, apply to the real control plane, prove its RBAC."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from operator_journal import CONFIGMAPS, configmap

from opframe.kube import Discovery, KubeClient, Resource, errors
from opframe.testing import ControlPlane, controlplane
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "opframe"


def helm_binary() -> Path:
    path = controlplane.helm_binary()
    if not path.exists():
        raise AssertionError(f"helm is not built at {path}; run 'make helm'")
    return path


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm_binary()), *args], capture_output=True, text=True, check=False, timeout=120)


def render(namespace: str, *sets: str) -> list[dict[str, Any]]:
    result = helm("template", "rel", str(CHART), "--namespace", namespace, *[f"--set={s}" for s in sets])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_chart_lints() -> None:
    result = helm("lint", str(CHART), "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_default_render_is_least_privilege_and_restricted() -> None:
    docs = render("ops")
    deployment = by_kind(docs, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-election" in container["args"] and "--namespace=ops" in container["args"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "128Mi"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"]["drop"] == ["ALL"] and security["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert by_kind(docs, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    assert by_kind(docs, "Service")[0]["spec"]["ports"][0]["name"] == "http-metrics"
    assert by_kind(docs, "ClusterRole") == []
    rules = [rule for role in by_kind(docs, "Role") for rule in role["rules"]]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert ("", "secrets", "get") not in granted and not any(r == "*" or v == "*" for _, r, v in granted)
    assert {("coordination.k8s.io", "leases", "update"), ("", "events", "create"),
            ("", "configmaps", "watch")} <= granted
    assert by_kind(docs, "ConfigMap")[0]["data"]["operator.py"].startswith("from opframe import on")


def test_non_default_values_render() -> None:
    single = render("ops", "replicas=1", "operator.source=image", "operator.path=/app/op.py",
                    "namespaces={team-a,team-b}", "operator.args={--workers,8}")
    container = by_kind(single, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "--leader-election" not in container["args"]
    assert container["args"][:3] == ["/app/op.py", "--namespace=team-a", "--namespace=team-b"]
    assert container["args"][-2:] == ["--workers", "8"]
    assert by_kind(single, "PodDisruptionBudget") == [] and by_kind(single, "ConfigMap") == []
    assert {r["metadata"]["namespace"] for r in by_kind(single, "Role") if r["metadata"]["name"] == "rel-opframe"} == {
        "team-a", "team-b"}
    excluding = render("ops", "namespaces={team-a,!team-b}")  # an exclusion gets no Role
    assert {r["metadata"]["namespace"] for r in by_kind(excluding, "Role")
            if r["metadata"]["name"] == "rel-opframe"} == {"team-a"}
    patterns = render("ops", "namespaces={team-*}", "rbac.clusterWide=true")
    assert len(by_kind(patterns, "ClusterRole")) == 1
    wide = render("ops", "allNamespaces=true")
    assert "--all-namespaces" in by_kind(wide, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert len(by_kind(wide, "ClusterRole")) == 1 and len(by_kind(wide, "ClusterRoleBinding")) == 1


def test_webhooks_render_a_service_the_rbac_and_the_certificates_of_their_source() -> None:
    assert not [d for d in render("ops") if "webhook" in d["metadata"]["name"]]  # off by default
    docs = render("ops", "webhooks.enabled=true")
    container = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["OPFRAME_WEBHOOK_SERVICE"] == "ops/rel-opframe-webhooks"
    assert env["OPFRAME_WEBHOOK_MANAGED"] == "rel-opframe.ops.opframe.dev"
    assert env["OPFRAME_WEBHOOK_CA_SECRET"] == "rel-opframe-webhook-ca"
    assert env["OPFRAME_WEBHOOK_OWNER"] == "rel-opframe-ops-webhooks" and env["OPFRAME_WEBHOOK_DRAIN"] == "5"
    assert {"name": "webhooks", "containerPort": 9443} in container["ports"]
    service = next(d for d in by_kind(docs, "Service") if d["metadata"]["name"] == "rel-opframe-webhooks")
    assert service["spec"]["ports"] == [{"name": "https-webhooks", "port": 443, "targetPort": "webhooks"}]
    cluster_rules = by_kind(docs, "ClusterRole")[0]["rules"]
    assert "mutatingwebhookconfigurations" in cluster_rules[0]["resources"] and "*" not in cluster_rules[0]["verbs"]
    own_rules = next(r for r in by_kind(docs, "Role") if r["metadata"]["name"] == "rel-opframe-webhooks")["rules"]
    assert own_rules[0] == {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}  # the probe
    assert own_rules[1]["resourceNames"] == ["rel-opframe-webhook-ca"]  # only its own Secret, by name
    assert not by_kind(docs, "Certificate")
    managed = render("ops", "webhooks.enabled=true", "webhooks.certificates.source=certManager")
    certificate = by_kind(managed, "Certificate")[0]
    assert certificate["spec"]["dnsNames"][0] == "rel-opframe-webhooks.ops.svc"
    assert certificate["spec"]["issuerRef"] == {"name": "rel-opframe-webhooks", "kind": "Issuer",
                                                "group": "cert-manager.io"}
    assert by_kind(managed, "Issuer")[0]["spec"] == {"selfSigned": {}}
    pod = by_kind(managed, "Deployment")[0]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["OPFRAME_WEBHOOK_CA_FILE"] == "/etc/opframe/webhooks/ca.crt" and "OPFRAME_WEBHOOK_CA_SECRET" not in env
    assert {"name": "webhook-tls", "secret": {"secretName": "rel-opframe-webhook-tls"}} in pod["volumes"]
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(managed, "Role")}
    assert len(roles["rel-opframe-webhooks"]) == 1  # no Secret of the operator's: cert-manager's is mounted
    issued = render("ops", "webhooks.enabled=true", "webhooks.certificates.source=certManager",
                    "webhooks.certificates.certManager.issuerRef.name=corp-ca",
                    "webhooks.certificates.certManager.issuerRef.kind=ClusterIssuer")
    assert by_kind(issued, "Issuer") == []
    assert by_kind(issued, "Certificate")[0]["spec"]["issuerRef"]["kind"] == "ClusterIssuer"


@pytest.mark.parametrize(("setting", "complaint"), [
    ("replicas=0", "/replicas"),
    ("operator.source=git", "/operator/source"),
    ("operator.path=relative.py", "/operator/path"),
    ("health.port=80", "/health/port"),
    ("rbac.rules[0].verbs={steal}", "/rbac/rules/0/verbs/0"),
    ("securityContext.runAsNonRoot=false", "/securityContext/runAsNonRoot"),
    ("replica=3", "additional properties 'replica' not allowed"),
    ("webhooks.configurationName=hooks.example", "/webhooks/configurationName"),
    ("webhooks.certificates.source=selfSigned", "/webhooks/certificates/source"),
    ("namespaces={team-*}", '"team-*" is a pattern, and a Role needs a namespace\'s exact name: '
                            "set rbac.clusterWide=true"),
], ids=["replicas", "source", "path", "port", "verb", "root", "typo", "webhook-name", "certificate-source",
        "namespace-glob-without-clusterwide"])
def test_bad_values_are_rejected(setting: str, complaint: str) -> None:
    result = helm("template", "rel", str(CHART), f"--set={setting}")
    assert result.returncode != 0
    assert complaint in result.stderr, result.stderr


def _apply(client: KubeClient, docs: list[dict[str, Any]]) -> None:
    discovery = Discovery(client)
    for doc in docs:
        group, _, version = doc["apiVersion"].rpartition("/")
        resource = discovery.resolve(group, version, doc["kind"])
        client.patch(resource, doc["metadata"]["name"], doc, namespace=doc["metadata"].get("namespace"),
                     patch_type="apply", field_manager="opframe-chart-test", force=True)


def test_applied_chart_rbac_is_enough_and_cannot_read_secrets(control_plane: ControlPlane, kube_client: KubeClient,
                                                               namespace: str, tmp_path: Path) -> None:
    docs = render(namespace, "replicas=1")
    _apply(kube_client, docs)
    deployment = kube_client.get(Resource("apps", "v1", "deployments"), "rel-opframe", namespace=namespace)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "rel-opframe"

    token = kube_client.create(Resource("", "v1", "serviceaccounts"), {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
        namespace=namespace, name="rel-opframe", subresource="token")["status"]["token"]
    kubeconfig = control_plane.token_kubeconfig(tmp_path / "chart-sa", token, namespace=namespace)
    code = tmp_path / "operator.py"
    code.write_text(by_kind(docs, "ConfigMap")[0]["data"]["operator.py"])
    args = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"][1:]
    args = [a for a in args if not a.startswith("--health-port")]
    with OperatorProcess([code], kubeconfig=kubeconfig, args=[*args, "--leader-election",
                                                             f"--lease-namespace={namespace}"]) as operator:
        operator.wait_started()
        body = configmap(namespace, "hello", labels={"opframe.dev/example": "true"})
        kube_client.create(CONFIGMAPS, body)
        operator.wait_for_output(f"saw {namespace}/hello")
        assert operator.stop() == 0
        assert "Traceback" not in operator.output()
    from opframe.kube import load_configuration

    with KubeClient(load_configuration(kubeconfig)) as as_operator:
        with pytest.raises(errors.Forbidden):
            as_operator.list(Resource("", "v1", "secrets"), namespace=namespace)
        with pytest.raises(errors.Forbidden):
            as_operator.get(Resource("", "v1", "secrets"), "anything", namespace=namespace)
        with pytest.raises(errors.Forbidden):
            as_operator.list(CONFIGMAPS, namespace="default")


def notes(tmp_path: Path, namespace: str, *sets: str) -> str:
    """The chart's NOTES.txt rendered as `helm install` prints it, without a cluster. `helm template`
    renders no notes (and `helm install --dry-run=client` still asks the cluster), so a copy of the
    chart renders its NOTES.txt through `tpl` into a ConfigMap: the same values, release and helpers.
    test_helm_install_prints_these_notes checks that helm install prints the same text."""
    import shutil

    source = CHART / "templates" / "NOTES.txt"
    assert source.exists(), f"{source} is missing: the chart prints no notes after helm install"
    chart = tmp_path / "opframe"
    shutil.copytree(CHART, chart)
    shutil.copy(source, chart / "NOTES.txt")
    (chart / "templates" / "notes-under-test.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\n"
        'data:\n  notes: {{ tpl (.Files.Get "NOTES.txt") . | toJson }}\n')
    result = helm("template", "rel", str(chart), "--namespace", namespace,
                  "--show-only", "templates/notes-under-test.yaml", *[f"--set={s}" for s in sets])
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


def test_notes_say_what_was_installed_and_how_to_check_it(tmp_path: Path) -> None:
    selector = by_kind(render("ops"), "Deployment")[0]["spec"]["selector"]["matchLabels"]
    pods = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
    default = notes(tmp_path / "default", "ops").splitlines()
    assert default[0] == ("opframe operator rel-opframe is installed in namespace ops "
                          "(image ghcr.io/opframe/opframe:0.1.0).")
    assert "Serves:    namespace ops (the release's)" in default
    assert "Replicas:  2, leader election on (Lease rel-opframe in ops)" in default
    assert ("Code:      operator.code, from the ConfigMap rel-opframe-code mounted at /operator; "
            "runs /operator/operator.py") in default
    assert f"  kubectl -n ops get pods -l {pods}" in default and "  kubectl -n ops logs deploy/rel-opframe" in default
    assert "Health:    /healthz (liveness) and /readyz (readiness) on port 8080 of each pod:" in default
    assert "Metrics:   /metrics through the Service rel-opframe-metrics, port 8080" in default
    assert ("RBAC:      the rules of rbac.rules, in a Role in each namespace served, for the ServiceAccount "
            "rel-opframe") in default
    assert any("a missing" in line for line in default)  # the start-up check of the permissions
    assert not [line for line in default if line.startswith(("WARNING", "Webhooks", "CRDs"))]

    other = notes(tmp_path / "other", "ops", "replicas=3", "leaderElection.enabled=false",
                  "operator.source=image", "operator.path=/app/op.py", "allNamespaces=true",
                  "metrics.service.enabled=false", "webhooks.enabled=true",
                  "crds[0].apiVersion=apiextensions.k8s.io/v1", "crds[0].kind=CustomResourceDefinition",
                  "crds[0].metadata.name=widgets.example.dev", "crds[0].spec.group=example.dev").splitlines()
    assert "Serves:    all namespaces" in other
    assert "Replicas:  3, leader election off" in other
    assert other[other.index("Replicas:  3, leader election off") + 1].startswith(
        "WARNING:   3 replicas without leader election")
    assert "Code:      the file /app/op.py in the image (operator.source=image, operator.path)" in other
    assert "Metrics:   /metrics on port 8080 of each pod (no Service: metrics.service.enabled=false)" in other
    assert any(line.startswith("Webhooks:  the Service rel-opframe-webhooks, port 443") for line in other)
    assert "           writes the webhook configurations rel-opframe.ops.opframe.dev" in other
    assert "CRDs:      widgets.example.dev" in other
    assert any(line.startswith("RBAC:      the rules of rbac.rules, in a ClusterRole") for line in other)


def test_helm_install_prints_these_notes(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    result = helm("install", "rel", str(CHART), "--dry-run=client", "--namespace", namespace,
                  "--kubeconfig", str(control_plane.kubeconfig))
    assert result.returncode == 0, result.stderr
    assert "\nNOTES:\n" in result.stdout, result.stdout[-2000:]
    printed = result.stdout.split("\nNOTES:\n", 1)[1]
    assert printed.strip() == notes(tmp_path, namespace).strip()


def test_crds_are_rendered_with_the_chart_labels_and_kept_at_uninstall(tmp_path: Path) -> None:
    assert "CustomResourceDefinition" not in {d["kind"] for d in render("ops")}  # crds: [] by default
    definition = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.dev", "labels": {"team": "web"},
                     "resourceVersion": "42", "uid": "copied-from-a-cluster"},
        "spec": {"group": "example.dev", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        "status": {"storedVersions": ["v1"]},
    }
    values = tmp_path / "crds.yaml"
    values.write_text(yaml.safe_dump({"crds": [definition]}))
    result = helm("template", "rel", str(CHART), "--namespace", "ops", "--values", str(values))
    assert result.returncode == 0, result.stderr
    crds = by_kind([d for d in yaml.safe_load_all(result.stdout) if d], "CustomResourceDefinition")
    assert len(crds) == 1
    crd = crds[0]
    assert crd["metadata"]["name"] == "widgets.example.dev" and crd["spec"] == definition["spec"]
    assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    deployment_labels = by_kind(render("ops"), "Deployment")[0]["metadata"]["labels"]
    assert crd["metadata"]["labels"] == {**deployment_labels, "team": "web"}
    assert "namespace" not in crd["metadata"] and "resourceVersion" not in crd["metadata"] and "status" not in crd


@pytest.mark.parametrize(("setting", "complaint"), [
    ("crds[0].kind=ConfigMap", "at '/crds/0/kind': value must be 'CustomResourceDefinition'"),
    ("crds[0].apiVersion=apiextensions.k8s.io/v1beta1",
     "at '/crds/0/apiVersion': value must be 'apiextensions.k8s.io/v1'"),
], ids=["kind", "api-version"])
def test_a_crds_item_that_is_no_v1_crd_is_rejected(setting: str, complaint: str) -> None:
    item = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata.name": "widgets.example.dev", "spec.group": "example.dev"}
    key = setting.split("=", 1)[0].removeprefix("crds[0].")
    sets = [f"--set=crds[0].{k}={v}" for k, v in item.items() if k != key] + [f"--set={setting}"]
    result = helm("template", "rel", str(CHART), *sets)
    assert result.returncode != 0
    assert complaint in result.stderr, result.stderr
