"""The pod-phase labeller, end to end. No kubelet runs, so the test moves the pod's phase itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from opframe.kube import KubeClient, Resource
from opframe.testing import ControlPlane, eventually
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
PODS = Resource("", "v1", "pods", "Pod", subresources=("status",))
LABEL = "pod-phase.opframe.dev/phase"


def _label(client: KubeClient, namespace: str) -> str | None:
    return (client.get(PODS, "web", namespace=namespace)["metadata"].get("labels") or {}).get(LABEL)


def _wait_label(client: KubeClient, namespace: str, value: str) -> None:
    eventually(lambda: _label(client, namespace) == value,
               what=lambda: f"the label to be {value!r} (it is {_label(client, namespace)!r})")


def test_pods_are_labelled_with_their_phase(control_plane: ControlPlane, kube_client: KubeClient,
                                            namespace: str) -> None:
    with OperatorProcess([HERE / "operator.py"], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace]) as operator:
        operator.wait_started()
        kube_client.create(PODS, {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "web", "namespace": namespace},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
        _wait_label(kube_client, namespace, "pending")
        for phase in ("Running", "Succeeded"):
            kube_client.patch(PODS, "web", {"status": {"phase": phase}}, namespace=namespace, subresource="status")
            _wait_label(kube_client, namespace, phase.lower())
        assert operator.stop() == 0
        log = operator.output()
        assert "phase Running" in log and "phase Succeeded" in log and "Traceback" not in log


def test_real_pods_are_labelled_as_they_move_through_their_phases(node_cluster: ControlPlane) -> None:
    """On the node-backed cluster: a kubelet moves the pods, nothing is patched by the test."""
    import threading

    from opframe.kube import load_configuration
    from opframe.testing import images

    assert node_cluster.node is not None
    node_cluster.node.import_image(images.sleeper_image(node_cluster.node.workdir / "images"),
                                   "opframe.local/sleeper:1")
    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    namespace = "pod-phase-real"
    client.create(Resource("", "v1", "namespaces", "Namespace", namespaced=False),
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    labels: dict[str, list[str]] = {"ends-well": [], "ends-badly": []}
    start = client.list(PODS, namespace=namespace).resource_version
    stream = client.watch(PODS, namespace=namespace, resource_version=start, timeout_seconds=120,
                          inactivity_timeout=150)

    def record() -> None:
        for event in stream:
            name = event.object.get("metadata", {}).get("name")
            value = (event.object["metadata"].get("labels") or {}).get(LABEL) if name in labels else None
            if value and (not labels[name] or labels[name][-1] != value):
                labels[name].append(value)

    threading.Thread(target=record, daemon=True).start()
    with OperatorProcess([HERE / "operator.py"], kubeconfig=node_cluster.kubeconfig,
                         args=["-n", namespace]) as operator:
        operator.wait_started()
        for name, code in (("ends-well", "0"), ("ends-badly", "1")):
            sleeper = {"image": "opframe.local/sleeper:1", "imagePullPolicy": "Never"}
            client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
                                 "spec": {"restartPolicy": "Never",
                                          "initContainers": [{"name": "wait", **sleeper, "args": ["2", "0"]}],
                                          "containers": [{"name": "main", **sleeper, "args": ["2", code]}]}})
        eventually(lambda: labels["ends-well"][-1:] == ["succeeded"] and labels["ends-badly"][-1:] == ["failed"],
                   what=lambda: f"final labels (seen so far: {labels})", timeout=60)
        assert operator.stop() == 0
    stream.close()
    client.close()
    assert labels == {"ends-well": ["pending", "running", "succeeded"],
                      "ends-badly": ["pending", "running", "failed"]}
