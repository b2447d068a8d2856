"""The ConfigMap policy example, end to end: the real API server calls the operator's webhooks."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import ControlPlane
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
CONFIGURATIONS = (
    Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False),
    Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced=False))


def test_the_api_server_refuses_and_mutates_as_the_policy_says(control_plane: ControlPlane, kube_client: KubeClient,
                                                                 namespace: str) -> None:
    managed = f"policy-{uuid.uuid4().hex[:6]}.example.com"
    process = OperatorProcess([HERE / "operator.py"], kubeconfig=control_plane.kubeconfig,
                              args=["-n", namespace, "--standalone"],
                              env={"OPFRAME_WEBHOOK_MANAGED": managed, "OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1"})
    try:
        process.start().wait_started()

        def create(name: str, labels: dict[str, str], **data: str) -> dict:
            return kube_client.create(CONFIGMAPS, {"metadata": {"name": name, "labels": labels}, "data": data},
                                      namespace=namespace)

        deadline = time.monotonic() + 30
        while "owner" not in create(f"probe-{int(time.monotonic() * 1000)}", {})["metadata"].get("labels", {}):
            assert time.monotonic() < deadline, "the mutating webhook never took effect"
            time.sleep(0.2)
        with pytest.raises(errors.ApiError) as refused:
            create("strict", {"policy": "strict"}, password="hunter2")
        assert refused.value.code == 422 and "a password does not belong in a ConfigMap" in str(refused.value)
        assert create("lax", {"policy": "lax"}, password="ok")["metadata"]["labels"] == {"policy": "lax",
                                                                                          "owner": "unknown"}
        assert create("owned", {"owner": "team-a"})["metadata"]["labels"] == {"owner": "team-a"}
    finally:
        process.stop()
        process.cleanup()
        for resource in CONFIGURATIONS:
            with contextlib.suppress(errors.NotFound):
                assert not kube_client.get(resource, managed).get("webhooks"), "entries left after a graceful stop"
                kube_client.delete(resource, managed)
