"""The deployment limits example, end to end: the API server enforces the operator's CEL policies, also
once the operator has stopped; no webhook server runs for them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.runtime.admission import policies
from opframe.testing import AdmissionProbe, ControlPlane
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")


def deployment(name: str, replicas: int, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}}}


def test_the_api_server_enforces_the_limits_also_after_the_operator_stopped(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str) -> None:
    managed = f"limits-{uuid.uuid4().hex[:6]}.example.com"
    names = [f"replicas.{managed}", f"team-label.{managed}"]
    process = OperatorProcess([HERE / "operator.py"], kubeconfig=control_plane.kubeconfig,
                              args=["-n", namespace, "--standalone"], env={"OPFRAME_WEBHOOK_MANAGED": managed})
    probe = AdmissionProbe(kube_client)
    try:
        process.start().wait_started()
        output = process.output()
        for handler, name in zip(("replicas", "team_label"), names, strict=True):
            assert (f"handler {handler} became ValidatingAdmissionPolicy {name} (enforced by the API server, "
                    "no webhook)") in output
        assert "Listening for webhooks" not in output  # cel= handlers alone start no webhook server

        probe.wait_until(DEPLOYMENTS, deployment("big", 11), lambda a: not a.allowed, namespace=namespace)
        big = probe.create(DEPLOYMENTS, deployment("big", 11), namespace=namespace, dry_run=False)
        assert (big.code, f"ValidatingAdmissionPolicy '{names[0]}'" in big.message,
                big.message.endswith("denied request: at most 10 replicas")) == (422, True, True), big
        assert probe.create(DEPLOYMENTS, deployment("small", 3), namespace=namespace, dry_run=False).allowed
        anonymous = probe.create(DEPLOYMENTS, deployment("anonymous", 1, policy="strict"), namespace=namespace,
                                 dry_run=False)
        assert not anonymous.allowed and anonymous.message.endswith("deployment anonymous needs a team label")
        assert probe.create(DEPLOYMENTS, deployment("owned", 1, policy="strict", team="a"), namespace=namespace,
                            dry_run=False).allowed

        assert process.stop() == 0
        # The point: the operator is gone, its policies stay, the API server still refuses (CREATE and UPDATE).
        for name in names:
            assert kube_client.get(policies.POLICIES, name)["spec"]["validations"]
            assert kube_client.get(policies.BINDINGS, name)["spec"]["policyName"] == name
        after = probe.create(DEPLOYMENTS, deployment("later", 12), namespace=namespace, dry_run=False)
        assert not after.allowed and after.message.endswith("at most 10 replicas"), after
        small = kube_client.get(DEPLOYMENTS, "small", namespace=namespace)
        small["spec"]["replicas"] = 20
        with pytest.raises(errors.Invalid, match="at most 10 replicas"):
            kube_client.replace(DEPLOYMENTS, "small", small, namespace=namespace)
        assert probe.create(DEPLOYMENTS, deployment("later", 10), namespace=namespace, dry_run=False).allowed
    finally:
        probe.close()
        process.stop()
        process.cleanup()
        for name in names:
            policies.withdraw(kube_client, name)
