"""The Website example, end to end on the real control plane."""

from __future__ import annotations

from pathlib import Path

import pytest

from opframe.kube import KubeClient
from opframe.testing import ControlPlane
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent


def test_website_operator_creates_updates_and_cleans_up(control_plane: ControlPlane, kube_client: KubeClient,
                                                        namespace: str) -> None:
    import scenario

    scenario.install_crd(kube_client)
    with OperatorProcess([HERE / "operator.py"], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace]) as operator:
        operator.wait_started()
        try:
            observed = scenario.run(kube_client, namespace, say=lambda _: None)
        except scenario.ScenarioError as error:
            raise AssertionError(f"{error}\noperator log:\n{operator.output()}") from None
        assert observed["status_after_create"]["create_site"]["children"] == [
            "configmaps/hello-site", "deployments/hello-site", "services/hello-site"]
        assert observed["observed_changes"] == ["content", "replicas"]
        assert operator.stop() == 0
        log = operator.output()
        assert "created deployment hello-site" in log and "deleted service hello-site" in log
        assert "Traceback" not in log


def test_website_pods_really_run_and_the_status_follows_their_readiness(node_cluster: ControlPlane) -> None:
    import scenario

    from opframe.kube import load_configuration
    from opframe.testing import images

    assert node_cluster.node is not None
    node_cluster.node.import_image(images.web_image(node_cluster.node.workdir / "images"), "opframe.local/web:1")
    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    scenario.install_crd(client)
    with OperatorProcess([HERE / "operator.py"], kubeconfig=node_cluster.kubeconfig, args=["-n", "default"],
                         env={"WEBSITE_IMAGE": "opframe.local/web:1"}) as operator:
        operator.wait_started()
        try:
            observed = scenario.run_with_pods(client, "default", say=lambda _: None)
        except scenario.ScenarioError as error:
            raise AssertionError(f"{error}\noperator log:\n{operator.output()}") from None
        assert [phase for _, phase, _ in observed["pods"]] == ["Running", "Running"]
        assert all(ip and ip.startswith("10.244.0.") for _, _, ip in observed["pods"])
        assert operator.stop() == 0
    client.close()
