"""Each operator of the corpus behaves the same under opframe as under kopf 1.45.2 (harness.py).

kopf is the oracle: the same file, the same steps, the same cluster, one engine after the other.
Every difference fails unless intended.yaml lists it with its reason. The selected cases run
CONCURRENCY at a time from the first test on; each test reports its own case.
"""

from __future__ import annotations

import concurrent.futures
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opframe.kube import KubeClient, Resource, load_configuration
from opframe.testing import ControlPlane, install_crd

from .harness import ENGINES, KOPF_VENV, Case, Run, cases, intended, run_case, run_namespace, unexplained

pytestmark = pytest.mark.e2e

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)


#: Cases in flight at once, each one engine after the other. An operator mostly waits for its steps to
#: settle, so on CI's 2 shared cores four pairs at a time take about a quarter of the time of one.
CONCURRENCY = int(os.environ.get("OPFRAME_DIFFERENTIAL_CONCURRENCY", "4"))


def run_pair(case: Case, plane: ControlPlane, workdir: Path) -> dict[str, Run]:
    """kopf, then opframe, on ``plane``, each in its namespace (both created first)."""
    client = KubeClient(load_configuration(plane.kubeconfig))
    try:
        for manifest in case.manifests():
            if manifest.get("kind") != "CustomResourceDefinition":
                raise AssertionError(f"{case.name}: only CRDs are manifests; create other objects in steps")
            install_crd(client, manifest)
        suffix = uuid.uuid4().hex[:6]
        namespaces = {engine: run_namespace(case.name, engine, suffix) for engine in ENGINES}
        for namespace in namespaces.values():  # both before either run: each run sees the same namespaces
            client.create(NAMESPACES, {"metadata": {"name": namespace}})
        return {engine: run_case(client, case, engine, namespace=namespaces[engine], kubeconfig=plane.kubeconfig,
                                 workdir=workdir) for engine in ENGINES}
    finally:
        client.close()


@pytest.fixture(scope="session")
def corpus_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        dict[str, concurrent.futures.Future[dict[str, Run]]]]:
    """Every selected case's pair of runs, started together (CONCURRENCY at a time) at the first test."""
    assert (KOPF_VENV / "bin" / "kopf").exists(), "kopf 1.45.2 is not installed: run make kopf-venv"
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_same_as_kopf" and hasattr(item, "callspec")]
    planes = {kind: request.getfixturevalue("node_cluster" if kind == "node" else "control_plane")
              for kind in {case.cluster for case in selected}}
    executor = concurrent.futures.ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="differential")
    futures = {case.name: executor.submit(run_pair, case, planes[case.cluster], tmp_path_factory.mktemp(case.name))
               for case in selected if not case.alone}
    # Cases marked alone run one by one once the others have ended (see Case.alone).
    solo = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="differential-alone")
    concurrent_ones = list(futures.values())

    def after_the_others(case: Case, workdir: Path) -> dict[str, Run]:
        concurrent.futures.wait(concurrent_ones)
        return run_pair(case, planes[case.cluster], workdir)

    futures.update({case.name: solo.submit(after_the_others, case, tmp_path_factory.mktemp(case.name))
                    for case in selected if case.alone})
    try:
        yield futures
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        solo.shutdown(wait=True, cancel_futures=True)


# A test waits for its case's pair, which may have queued behind others (four in flight, the alone ones
# after all of them): the longest pair takes about 3 minutes here, so allow several times that.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_same_as_kopf(case: Case, corpus_runs: dict[str, concurrent.futures.Future[dict[str, Run]]]) -> None:
    runs = corpus_runs[case.name].result()
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


def test_every_intended_difference_is_shown_to_users() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "migrating-from-kopf.md").read_text()
    missing = [entry.id for entry in intended() if f"`{entry.id}`" not in guide]
    assert not missing, f"docs/migrating-from-kopf.md's table lacks: {missing}"


def test_every_case_names_its_source_and_licence() -> None:
    for case in cases():
        assert case.spec.get("source") and case.spec.get("licence"), case.name
        assert (case.path / case.spec.get("operator", "operator.py")).exists(), case.name
        yaml.safe_dump(case.spec)  # plain data
    table = (Path(__file__).parent / "corpus" / "README.md").read_text()
    missing = [case.name for case in cases() if f"| {case.name} |" not in table]
    assert not missing, f"tests/differential/corpus/README.md's table lacks: {missing}"
