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
