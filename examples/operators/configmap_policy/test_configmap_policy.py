"""The ConfigMap policy example, end to end: the real API server calls the operator's webhooks."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import AdmissionProbe, ControlPlane
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
    probe = AdmissionProbe(kube_client)
    try:
        process.start().wait_started()

        def configmap(name: str, labels: dict[str, str], **data: str) -> dict[str, Any]:
            return {"metadata": {"name": name, "labels": labels}, "data": data}

        # The webhooks are in place once a dry run comes back mutated (never a fixed sleep).
        probe.wait_until(CONFIGMAPS, configmap("probe", {}), lambda a: a.allowed and a.object is not None and
                         a.object["metadata"]["labels"].get("owner") == "unknown", namespace=namespace)
        refused = probe.create(CONFIGMAPS, configmap("strict", {"policy": "strict"}, password="hunter2"),
                               namespace=namespace, dry_run=False)
        assert not refused.allowed and refused.code == 422
        assert "a password does not belong in a ConfigMap" in refused.message
        warned = probe.create(CONFIGMAPS, configmap("tokens", {"policy": "strict"}, api_token="x"),
                              namespace=namespace, dry_run=False)
        assert warned.allowed and warned.warnings == ["key 'api_token' looks like a token: consider a Secret"]
        lax = probe.create(CONFIGMAPS, configmap("lax", {"policy": "lax"}, password="ok"), namespace=namespace,
                           dry_run=False)
        assert lax.object is not None and lax.object["metadata"]["labels"] == {"policy": "lax", "owner": "unknown"}
        stored = kube_client.get(CONFIGMAPS, "lax", namespace=namespace)
        assert stored["metadata"]["labels"]["owner"] == "unknown"
        owned = kube_client.create(CONFIGMAPS, configmap("owned", {"owner": "team-a"}), namespace=namespace)
        assert owned["metadata"]["labels"] == {"owner": "team-a"}
    finally:
        probe.close()
        process.stop()
        process.cleanup()
        for resource in CONFIGURATIONS:
            with contextlib.suppress(errors.NotFound):
                assert not kube_client.get(resource, managed).get("webhooks"), "entries left after a graceful stop"
                kube_client.delete(resource, managed)
