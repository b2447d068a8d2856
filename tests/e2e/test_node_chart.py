"""The operator image and the Helm chart, for real (issue 11): `make image`'s image runs in a pod
of the node-backed cluster, installed by `helm install`, through its real probes."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_chart import helm

from opframe.kube import KubeClient, Resource, errors, load_configuration
from opframe.testing import AdmissionProbe, ControlPlane, eventually, images

pytestmark = pytest.mark.e2e

PODS = Resource("", "v1", "pods", "Pod")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
IMAGE = "opframe.local/opframe:dev"
CHART = Path(__file__).resolve().parents[2] / "charts" / "opframe"
OWN_IMAGE_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operators" / "own_image"
#: Checks the pod's own ServiceAccount from inside, with the in-cluster configuration.
SECRETS_CHECK = '''
from kubernetes import client, config
config.load_incluster_config()
namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
try:
    client.CoreV1Api().list_namespaced_secret(namespace)
    result = "allowed"
except client.ApiException as error:
    result = str(error.status)
try:
    client.CoreV1Api().list_namespaced_config_map(namespace)
    result += " configmaps-allowed"
except client.ApiException as error:
    result += f" configmaps-{error.status}"
open("/dev/termination-log", "w").write(result)
'''


def image_archive() -> Path:
    archive = images.opframe_image_archive()
    if not archive.exists():
        raise AssertionError(f"the operator image is not built at {archive}; run 'make image'")
    return archive


@pytest.fixture(scope="module")
def cluster(node_cluster: ControlPlane) -> Iterator[tuple[ControlPlane, KubeClient]]:
    assert node_cluster.node is not None
    node_cluster.node.import_image(image_archive(), IMAGE)
    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    yield node_cluster, client
    client.close()


@pytest.fixture
def release(cluster: tuple[ControlPlane, KubeClient]) -> Iterator[Callable[..., tuple[str, str]]]:
    plane, client = cluster
    made: list[tuple[str, str]] = []

    def install(*values: str, code: str | None = None, image: str = IMAGE) -> tuple[str, str]:
        namespace = f"chart-{uuid.uuid4().hex[:8]}"
        client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        repository, tag = image.rsplit(":", 1)
        args = ["install", "op", str(CHART), "--kubeconfig", str(plane.kubeconfig), "-n", namespace,
                "--set", f"image.repository={repository}", "--set-string", f"image.tag={tag}",
                "--set", "image.pullPolicy=Never", "--set", "resources.requests.cpu=10m"]
        for value in values:
            args += ["--set", value]
        if code is not None:
            values_file = plane.workdir / f"values-{namespace}.json"  # type: ignore[operator]
            values_file.write_text(json.dumps({"operator": {"code": code}}))
            args += ["-f", str(values_file)]
        result = helm(*args)
        assert result.returncode == 0, result.stderr
        made.append((namespace, "op"))
        return namespace, "op"

    yield install
    for namespace, name in made:
        helm("uninstall", name, "--kubeconfig", str(plane.kubeconfig), "-n", namespace, "--wait")
        client.delete(NAMESPACES, namespace)


def _ready_pods(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return [p for p in client.list(PODS, namespace=namespace).items
            if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]


def _handled(client: KubeClient, namespace: str, name: str) -> bool:
    annotations = client.get(CONFIGMAPS, name, namespace=namespace)["metadata"].get("annotations") or {}
    return "opframe.dev/last-handled-configuration" in annotations


def _labelled(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {"opframe.dev/example": "true"}}}


def _container_processes(plane: ControlPlane) -> list[int]:
    assert plane.node is not None
    return [pid for pid in plane.node.cgroup_pids()
            if b"opframe" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_an_operator_in_its_own_image_runs_from_the_chart(cluster: tuple[ControlPlane, KubeClient],
                                                         release: Callable[..., tuple[str, str]],
                                                         tmp_path: Path) -> None:
    """examples/operators/own_image: an image built FROM opframe's (the Dockerfile's documented buildah
    build), loaded into the node, run by the chart with operator.source=image: its baked-in
    operator handles an object."""
    plane, client = cluster
    archive = images.build_image(OWN_IMAGE_EXAMPLE, "opframe.local/own-operator:1", tmp_path / "own-operator.tar",
                                 build_args={"OPFRAME_IMAGE": f"oci-archive:{image_archive()}"})
    assert plane.node is not None
    plane.node.import_image(archive, "opframe.local/own-operator:1")
    namespace, _ = release("replicas=1", "operator.source=image", image="opframe.local/own-operator:1")
    eventually(lambda: _ready_pods(client, namespace), what="the own image's operator pod Ready", timeout=90)
    client.create(CONFIGMAPS, _labelled(namespace, "baked"))
    eventually(lambda: (client.get(CONFIGMAPS, "baked", namespace=namespace)["metadata"].get("labels") or {})
               .get("handled-by") == "own-image", what="the object handled by the baked-in operator")


def test_the_chart_runs_the_image_ready_locked_down_and_handling(cluster: tuple[ControlPlane, KubeClient],
                                                                release: Callable[..., tuple[str, str]]) -> None:
    plane, client = cluster
    namespace, _ = release("replicas=1")
    pods = eventually(lambda: _ready_pods(client, namespace), what="the operator pod Ready (its readinessProbe)",
                      timeout=90)
    client.create(CONFIGMAPS, _labelled(namespace, "from-inside"))
    eventually(lambda: _handled(client, namespace, "from-inside"), what="the object handled by the pod")
    assert plane.node is not None
    assert "opframe started" in plane.node.pod_log(namespace, pods[0]["metadata"]["name"], lines=200)
    # As the chart and the Dockerfile say: uid 10001, a read-only root filesystem.
    pids = _container_processes(plane)
    assert pids, "the operator's process is not among the node's pod processes"
    status = Path(f"/proc/{pids[0]}/status").read_text()
    assert "Uid:\t10001\t10001" in status
    root_mount = next(line for line in Path(f"/proc/{pids[0]}/mountinfo").read_text().splitlines()
                      if line.split()[4] == "/")
    assert root_mount.split()[5].split(",")[0] == "ro", root_mount
    # Its ServiceAccount cannot read Secrets, checked from inside a pod that uses it.
    account = pods[0]["spec"]["serviceAccountName"]
    client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rbac-check", "namespace": namespace},
                         "spec": {"restartPolicy": "Never", "serviceAccountName": account,
                                  "securityContext": {"runAsUser": 10001, "runAsNonRoot": True},
                                  "containers": [{"name": "check", "image": IMAGE, "imagePullPolicy": "Never",
                                                  "command": ["python", "-c", SECRETS_CHECK]}]}})
    done = eventually(lambda: (p := client.get(PODS, "rbac-check", namespace=namespace))["status"].get("phase")
                      in ("Succeeded", "Failed") and p, what="the RBAC check pod", timeout=60)
    message = done["status"]["containerStatuses"][0]["state"]["terminated"].get("message", "")
    assert message == "403 configmaps-allowed", message


def test_helm_upgrade_rolls_the_pod_with_a_graceful_stop(cluster: tuple[ControlPlane, KubeClient],
                                                        release: Callable[..., tuple[str, str]]) -> None:
    plane, client = cluster
    namespace, name = release("replicas=1")
    first = eventually(lambda: _ready_pods(client, namespace), what="the first pod Ready", timeout=90)[0]
    resource_version = client.list(PODS, namespace=namespace).resource_version
    seen: list[dict[str, Any]] = []
    stream = client.watch(PODS, namespace=namespace, resource_version=resource_version, timeout_seconds=120,
                          inactivity_timeout=150)
    reader = threading.Thread(target=lambda: seen.extend(e.object for e in stream if e.type != "BOOKMARK"),
                              daemon=True)
    reader.start()
    client.create(CONFIGMAPS, _labelled(namespace, "before-upgrade"))
    eventually(lambda: _handled(client, namespace, "before-upgrade"), what="handled before the upgrade")
    result = helm("upgrade", name, str(CHART), "--kubeconfig", str(plane.kubeconfig), "-n", namespace,
                  "--reuse-values", "--set", "operator.env.OPFRAME_LOG_LEVEL=DEBUG")
    assert result.returncode == 0, result.stderr

    def old_pod_ended() -> dict[str, Any] | None:
        for pod in seen:
            if pod["metadata"]["name"] != first["metadata"]["name"]:
                continue
            for status in pod["status"].get("containerStatuses") or []:
                if "terminated" in status["state"]:
                    return dict(status["state"]["terminated"])
        return None

    ended = eventually(old_pod_ended, what="the old pod's container to end", timeout=90)
    stream.close()
    assert ended["exitCode"] == 0, ended  # SIGTERM: handlers finished, progress written, clean exit
    new = eventually(lambda: [p for p in _ready_pods(client, namespace)
                              if p["metadata"]["name"] != first["metadata"]["name"]], what="the new pod Ready",
                     timeout=90)
    assert new[0]["spec"]["containers"][0]["env"]
    client.create(CONFIGMAPS, _labelled(namespace, "after-upgrade"))
    eventually(lambda: _handled(client, namespace, "after-upgrade"), what="handled after the upgrade")


def _holder(client: KubeClient, namespace: str, lease: str) -> str:
    try:
        return str(client.get(LEASES, lease, namespace=namespace)["spec"].get("holderIdentity") or "")
    except errors.NotFound:
        return ""


def test_two_replicas_elect_one_leader_and_hand_over_when_it_is_deleted(
        cluster: tuple[ControlPlane, KubeClient], release: Callable[..., tuple[str, str]]) -> None:
    _, client = cluster
    namespace, name = release("replicas=2", "podDisruptionBudget.enabled=false")
    lease = f"{name}-opframe"
    eventually(lambda: len(_ready_pods(client, namespace)) == 2, what="two pods Ready", timeout=120)
    leader = eventually(lambda: _holder(client, namespace, lease), what="a leader", timeout=30)
    pods = {p["metadata"]["name"] for p in _ready_pods(client, namespace)}
    leader_pod = next(p for p in pods if leader.startswith(p))
    deleted_at = time.monotonic()
    client.delete(PODS, leader_pod, namespace=namespace)
    successor = eventually(lambda: (h := _holder(client, namespace, lease)) and not h.startswith(leader_pod) and h,
                           what="the other replica to lead", timeout=30)
    # The standby, or the Deployment's replacement pod if it started and tried first: either
    # way another replica leads, within LeaseDuration + RetryPeriod of the deletion.
    current = {p["metadata"]["name"] for p in client.list(PODS, namespace=namespace).items}
    assert any(successor.startswith(p) for p in current - {leader_pod}), (successor, current, leader)
    assert time.monotonic() - deleted_at < 15 + 2  # LeaseDuration + RetryPeriod
    client.create(CONFIGMAPS, _labelled(namespace, "after-failover"))
    eventually(lambda: _handled(client, namespace, "after-failover"), what="handled by the new leader")


LIVENESS_CODE = '''
import os
from opframe import on

@on.create("configmaps", labels={"opframe.dev/example": "true"})
def created(name, **_):
    pass

@on.probe(id="self-check")
def self_check(api, **_):
    namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
    try:
        api.client.get(api.resource("configmaps"), "sick", namespace=namespace)
    except Exception:
        return "fine"
    raise RuntimeError("told to be sick")
'''


def test_a_failing_liveness_check_is_acted_on_by_the_kubelet(cluster: tuple[ControlPlane, KubeClient],
                                                             release: Callable[..., tuple[str, str]]) -> None:
    _, client = cluster
    namespace, _ = release("replicas=1", code=LIVENESS_CODE)
    pod = eventually(lambda: _ready_pods(client, namespace), what="the operator pod Ready", timeout=90)[0]
    client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "sick", "namespace": namespace}})
    restarted = eventually(
        lambda: (client.get(PODS, pod["metadata"]["name"], namespace=namespace)["status"]
                 ["containerStatuses"][0].get("restartCount", 0) >= 1),
        what="the kubelet to restart the container after 3 failed liveness probes", timeout=90)
    assert restarted


OFFICIAL_CLIENT_CODE = '''
import kubernetes
import opframe as kopf

@kopf.on.create("configmaps", labels={"opframe.dev/example": "true"})
def created(name, namespace, **_):
    # As many kopf operators do: the official client with no set-up of its own (kopf's login sets it up).
    kubernetes.client.CoreV1Api().patch_namespaced_config_map(name, namespace, {"data": {"client": "in-cluster"}})
'''


def test_the_official_client_works_in_handlers_in_the_pod_as_under_kopf(
        cluster: tuple[ControlPlane, KubeClient], release: Callable[..., tuple[str, str]]) -> None:
    """In-cluster (the image, the chart's ServiceAccount): kubernetes.client.CoreV1Api() in a handler reaches
    the API server with the pod's credentials, with no load_incluster_config() of the operator's own."""
    _, client = cluster
    namespace, _ = release("replicas=1", code=OFFICIAL_CLIENT_CODE)
    eventually(lambda: _ready_pods(client, namespace), what="the operator pod Ready", timeout=90)
    client.create(CONFIGMAPS, _labelled(namespace, "via-client"))
    eventually(lambda: (client.get(CONFIGMAPS, "via-client", namespace=namespace).get("data") or {}).get("client")
               == "in-cluster", what="the handler's patch through the official client", timeout=60)


#: An operator with admission handlers only: the chart with webhooks.enabled serves them through a Service.
WEBHOOK_CODE = '''
import opframe as kopf

@kopf.on.validate("configmaps", id="size-limit", labels={"opframe.dev/guarded": "true"})
def size_limit(body, **_):
    if len((body.get("data") or {}).get("size", "")) > 3:
        raise kopf.AdmissionError("size takes at most 3 characters", code=422)

@kopf.on.mutate("configmaps", id="stamp", labels={"opframe.dev/guarded": "true"}, operations=["CREATE"])
def stamp(patch, **_):
    patch.metadata.setdefault("labels", {})["opframe.dev/stamped"] = "yes"
'''
VALIDATING_CONFIGS = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
                              namespaced=False)
SECRETS = Resource("", "v1", "secrets", "Secret")


def _guarded(namespace: str, name: str, size: str = "ok") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": {"size": size},
            "metadata": {"name": name, "namespace": namespace, "labels": {"opframe.dev/guarded": "true"}}}


def _admission_requests(plane: ControlPlane, namespace: str, pod: str) -> float:
    """The pod's opframe_admission_requests_total, read through the API server's pod proxy."""
    code, body = plane.admin_get(f"/api/v1/namespaces/{namespace}/pods/{pod}:8080/proxy/metrics")
    assert code == 200, body[:300]
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
               if line.startswith("opframe_admission_requests_total"))


def test_webhooks_through_the_service_two_replicas_and_one_deleted_fails_no_admission(
        cluster: tuple[ControlPlane, KubeClient], release: Callable[..., tuple[str, str]]) -> None:
    plane, client = cluster
    namespace, name = release("replicas=2", "podDisruptionBudget.enabled=false", "webhooks.enabled=true",
                              code=WEBHOOK_CODE)
    eventually(lambda: len(_ready_pods(client, namespace)) == 2, what="two pods Ready", timeout=120)
    probe = AdmissionProbe(client)
    try:
        refused = probe.wait_until(CONFIGMAPS, _guarded(namespace, "too-big", size="12345"),
                                   lambda answer: answer.code == 422, namespace=namespace, timeout=60)
        assert refused.code == 422 and "size takes at most 3 characters" in refused.message
        mutated = probe.create(CONFIGMAPS, _guarded(namespace, "fine"), namespace=namespace, dry_run=False)
        assert mutated.object is not None
        assert mutated.object["metadata"]["labels"]["opframe.dev/stamped"] == "yes"
    finally:
        probe.close()
    configuration = f"{name}-opframe.{namespace}.opframe.dev"
    entry = client.get(VALIDATING_CONFIGS, configuration)["webhooks"][0]
    assert "url" not in entry["clientConfig"]
    assert entry["clientConfig"]["service"] == {"namespace": namespace, "name": f"{name}-opframe-webhooks",
                                                "path": "/size-limit", "port": 443}

    # Both replicas serve: each pod's webhook server answers a review (POSTed through the API server's pod
    # proxy, straight to that pod) with the handler's refusal.
    pods = [p["metadata"]["name"] for p in _ready_pods(client, namespace)]
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "direct", "operation": "CREATE", "userInfo": {"username": "test"},
        "resource": {"group": "", "version": "v1", "resource": "configmaps"},
        "object": _guarded(namespace, "direct", size="12345")}}
    for pod in pods:
        answer = client.request("POST", f"/api/v1/namespaces/{namespace}/pods/https:{pod}:9443/proxy/size-limit",
                                body=review)
        assert answer["response"]["uid"] == "direct" and answer["response"]["allowed"] is False, (pod, answer)
        assert answer["response"]["status"]["message"] == "size takes at most 3 characters"
        assert _admission_requests(plane, namespace, pod) > 0

    # A replica deleted (the leader, which wrote the configurations) while objects are created.
    created: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            cm = f"during-{len(created) + len(failures)}"
            try:
                client.create(CONFIGMAPS, _guarded(namespace, cm), namespace=namespace)
                created.append(cm)
            except errors.ApiError as exc:
                failures.append(f"{cm}: {exc}")
            time.sleep(0.05)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(2)
        leader = eventually(lambda: _holder(client, namespace, f"{name}-opframe"), what="a leader", timeout=30)
        deleted = next(pod for pod in pods if leader.startswith(pod))
        client.delete(PODS, deleted, namespace=namespace)
        eventually(lambda: len([p for p in _ready_pods(client, namespace) if p["metadata"]["name"] != deleted]) == 2
                   and deleted not in {p["metadata"]["name"] for p in client.list(PODS, namespace=namespace).items},
                   what="the deleted replica gone and its replacement Ready", timeout=120)
        time.sleep(3)
    finally:
        stop.set()
        writer.join()
    assert failures == [], failures[:5]
    assert len(created) > 20
    for cm in created[::10]:
        labels = client.get(CONFIGMAPS, cm, namespace=namespace)["metadata"]["labels"]
        assert labels.get("opframe.dev/stamped") == "yes", cm

    # helm uninstall takes the configurations and the CA Secret away (they are owned by its ClusterRole).
    assert client.get(SECRETS, f"{name}-opframe-webhook-ca", namespace=namespace)
    result = helm("uninstall", name, "--kubeconfig", str(plane.kubeconfig), "-n", namespace, "--wait")
    assert result.returncode == 0, result.stderr

    def gone() -> bool:
        for resource, object_name, where in ((VALIDATING_CONFIGS, configuration, None),
                                             (SECRETS, f"{name}-opframe-webhook-ca", namespace)):
            try:
                client.get(resource, object_name, namespace=where)
                return False
            except errors.NotFound:
                pass
        return True

    eventually(gone, what="the configurations and the CA Secret garbage-collected", timeout=60)


SITES = Path(__file__).resolve().parents[2] / "examples" / "operators" / "sites"
SITES_V1 = Resource("sites.opframe.dev", "v1", "sites", "Site")
SITES_V2 = Resource("sites.opframe.dev", "v2", "sites", "Site")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)


def test_the_sites_example_chart_converts_versions_through_the_service(
        cluster: tuple[ControlPlane, KubeClient]) -> None:
    """examples/operators/sites/chart: opframe's chart as a dependency, the CRD generated from the models
    in its crds/, and the two replicas serving the CRD's conversion webhook through their Service."""
    plane, client = cluster
    chart = SITES / "chart"
    built = helm("dependency", "build", str(chart))
    assert built.returncode == 0, built.stderr
    namespace = f"sites-{uuid.uuid4().hex[:8]}"
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        installed = helm("install", "sites", str(chart), "--kubeconfig", str(plane.kubeconfig), "-n", namespace,
                         "--set-file", f"opframe.operator.code={SITES / 'operator.py'}",
                         "--set", "opframe.image.repository=opframe.local/opframe", "--set", "opframe.image.tag=dev",
                         "--set", "opframe.image.pullPolicy=Never", "--set", "opframe.resources.requests.cpu=10m",
                         "--set", "opframe.podDisruptionBudget.enabled=false")
        assert installed.returncode == 0, installed.stderr
        eventually(lambda: len(_ready_pods(client, namespace)) == 2, what="two pods Ready", timeout=120)
        conversion = eventually(lambda: client.get(CRDS, "sites.sites.opframe.dev")["spec"]["conversion"].get(
            "webhook"), what="the CRD converting through the operator", timeout=60)
        assert conversion["clientConfig"]["service"] == {"namespace": namespace, "name": "sites-opframe-webhooks",
                                                         "path": "/convert/sites.sites.opframe.dev", "port": 443}

        def create() -> bool:
            try:
                client.create(SITES_V1, {"apiVersion": "sites.opframe.dev/v1", "kind": "Site",
                                         "metadata": {"name": "shop", "annotations": {"sites.opframe.dev/tls": "true"}},
                                         "spec": {"host": "shop.example", "replicas": 3}}, namespace=namespace)
            except errors.ApiError as exc:
                if "conversion webhook" not in str(exc):
                    raise
                return False  # the Service's endpoints and kube-proxy's rules catch up
            return True

        eventually(create, what="a create through v1, converted to the stored v2", timeout=60)
        stored = client.get(SITES_V2, "shop", namespace=namespace)
        assert stored["spec"] == {"domain": "shop.example", "replicas": 3, "tls": True}
        assert client.get(SITES_V1, "shop", namespace=namespace)["spec"] == {"host": "shop.example", "replicas": 3}
        eventually(lambda: (client.get(SITES_V2, "shop", namespace=namespace).get("status") or {}).get("seenAs")
                   == "sites.opframe.dev/v1", what="the handler registered for v1 got v1", timeout=60)
    finally:
        helm("uninstall", "sites", "--kubeconfig", str(plane.kubeconfig), "-n", namespace, "--wait")
        client.delete(NAMESPACES, namespace)
        with contextlib.suppress(errors.NotFound):
            client.delete(CRDS, "sites.sites.opframe.dev")  # Helm leaves a chart's crds/ in place
