"""Each operator of the corpus behaves the same under opframe as under kopf 1.45.2 (harness.py).

kopf is the oracle: the same file, the same steps, the same cluster, one engine after the other.
Every difference fails unless intended.yaml lists it with its reason.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from opframe.kube import KubeClient, Resource, load_configuration
from opframe.testing import ControlPlane, install_crd

from .harness import ENGINES, KOPF_VENV, Case, cases, intended, run_case, run_namespace, unexplained

pytestmark = pytest.mark.e2e

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
CRDS = "customresourcedefinitions"


def _cluster(request: pytest.FixtureRequest, case: Case) -> ControlPlane:
    plane: ControlPlane = request.getfixturevalue("node_cluster" if case.cluster == "node" else "control_plane")
    return plane


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_same_as_kopf(case: Case, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert (KOPF_VENV / "bin" / "kopf").exists(), "kopf 1.45.2 is not installed: run make kopf-venv"
    plane = _cluster(request, case)
    client = KubeClient(load_configuration(plane.kubeconfig))
    try:
        for manifest in case.manifests():
            if manifest.get("kind") == "CustomResourceDefinition":
                install_crd(client, manifest)
            else:
                raise AssertionError(f"{case.name}: only CRDs are manifests; create other objects in steps")
        runs = {}
        suffix = uuid.uuid4().hex[:6]
        namespaces = {engine: run_namespace(case.name, engine, suffix) for engine in ENGINES}
        for namespace in namespaces.values():  # both before either run: each run sees the same namespaces
            client.create(NAMESPACES, {"metadata": {"name": namespace}})
        for engine in ENGINES:
            runs[engine] = run_case(client, case, engine, namespace=namespaces[engine], kubeconfig=plane.kubeconfig,
                                    workdir=tmp_path)
        kopf, opframe = runs["kopf"], runs["opframe"]
        assert kopf.started, f"kopf did not start:\n{kopf.log[-4000:]}"
        assert kopf.exit_code == 0 or case.spec.get("kopf_exit_code") == kopf.exit_code, kopf.log[-4000:]
        if not opframe.started:
            assert any(entry.excuses_refusal(case.name, opframe.log) for entry in intended()), (
                f"{case.name}: opframe refused to start where kopf ran, and no intended difference says why:\n"
                f"{opframe.log[-4000:]}")
            return
        lines = unexplained(case.name, kopf, opframe, intended())
        assert not lines, (
            f"{case.name}: opframe differs from kopf 1.45.2 ({len(lines)} differences):\n" + "\n".join(lines[:60])
            + f"\n--- kopf's log (end) ---\n{kopf.log[-3000:]}\n--- opframe's log (end) ---\n{opframe.log[-3000:]}")
        assert opframe.exit_code == kopf.exit_code, opframe.log[-4000:]
    finally:
        client.close()


def test_every_intended_difference_is_shown_to_users() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "migrating-from-kopf.md").read_text()
    missing = [entry.id for entry in intended() if f"`{entry.id}`" not in guide]
    assert not missing, f"docs/migrating-from-kopf.md's table lacks: {missing}"


def test_every_case_names_its_source_and_licence() -> None:
    for case in cases():
        assert case.spec.get("source") and case.spec.get("licence"), case.name
        assert (case.path / case.spec.get("operator", "operator.py")).exists(), case.name
        yaml.safe_dump(case.spec)  # plain data
