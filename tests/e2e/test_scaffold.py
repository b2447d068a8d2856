"""`opframe new`, end to end as a user goes: the project is made, its own tests pass against the local
control plane, its image builds on opframe's (the project's `make image`), and opframe's chart with
the project's values runs it on a node, where it handles an object."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_chart import helm

from opframe.kube import KubeClient, Resource, errors, load_configuration
from opframe.testing import ControlPlane, eventually, images

pytestmark = pytest.mark.e2e

OPFRAME = str(Path(sys.executable).parent / "opframe")  # the console script, as a user runs it
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
SHOPS = Resource("example.com", "v1", "shops", "Shop")
#: How the node knows an image named without a registry (the kubelet's normalisation, as containerd's).
IMAGE = "docker.io/library/shop-operator:0.1.0"


def _user_environment() -> dict[str, str]:
    """This environment without what pytest and the test session set: the project's own run is fresh."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "KUBECONFIG")) and key != "OPFRAME_CACHE_DIR"} | {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("projects")
    made = subprocess.run([OPFRAME, "new", "shop-operator", "--dir", str(parent)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    assert "make test" in made.stdout
    return parent / "shop-operator"


def test_the_project_has_what_it_needs(project: Path) -> None:
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
        ".gitignore", "Dockerfile", "Makefile", "README.md", "crd.yaml", "crds.values.yaml", "operator.py",
        "pyproject.toml", "tests/test_operator.py", "values.yaml"]
    assert "make test" in (project / "README.md").read_text() and "make deploy" in (project / "README.md").read_text()


def test_its_own_tests_pass_against_the_local_control_plane(project: Path) -> None:
    run = subprocess.run(["make", "test"], cwd=project, capture_output=True, text=True, timeout=600, check=False,
                         env=_user_environment())
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


@pytest.fixture
def cluster(node_cluster: ControlPlane) -> Iterator[tuple[ControlPlane, KubeClient]]:
    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    yield node_cluster, client
    client.close()


def test_its_image_runs_from_opframes_chart_and_handles_an_object(project: Path,
                                                                  cluster: tuple[ControlPlane, KubeClient]) -> None:
    plane, client = cluster
    buildah = " ".join(images.buildah_command())
    built = subprocess.run(["make", "image", f"BUILDAH={buildah}",
                            f"OPFRAME_IMAGE=oci-archive:{images.opframe_image_archive()}"],
                           cwd=project, capture_output=True, text=True, timeout=900, check=False,
                           env=_user_environment())
    subprocess.run([*images.buildah_command(), "rmi", "shop-operator:0.1.0"], capture_output=True, check=False)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert plane.node is not None
    plane.node.import_image(project / "shop-operator.tar", IMAGE)

    namespace = f"shop-{uuid.uuid4().hex[:6]}"
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    chart = (project / "Makefile").read_text().split("OPFRAME_CHART ?= ", 1)[1].split("\n", 1)[0]
    installed = helm("install", "shop", chart, "--kubeconfig", str(plane.kubeconfig), "-n", namespace,
                     "-f", str(project / "values.yaml"), "-f", str(project / "crds.values.yaml"),
                     "--set", "image.repository=shop-operator", "--set", "image.pullPolicy=Never",
                     "--set", "replicas=1", "--set", "resources.requests.cpu=10m")
    try:
        assert installed.returncode == 0, installed.stderr
        eventually(lambda: client.get(CRDS, "shops.example.com"), what="the chart's CRD")
        eventually(lambda: _created(client, namespace), what="a Shop created once the CRD is served", timeout=30)
        made = eventually(lambda: client.get(CONFIGMAPS, "first-message", namespace=namespace),
                          what="the operator's ConfigMap (its pod running the project's image)", timeout=120)
        assert made["data"] == {"message": "hello"}
        eventually(lambda: (client.get(SHOPS, "first", namespace=namespace).get("status") or {}).get("configmap")
                   == "first-message", what="the Shop's status")
    finally:
        helm("uninstall", "shop", "--kubeconfig", str(plane.kubeconfig), "-n", namespace, "--wait")
        client.delete(NAMESPACES, namespace)
        with contextlib.suppress(errors.NotFound):
            client.delete(CRDS, "shops.example.com")  # the chart keeps CRDs at uninstall, by design


def _created(client: KubeClient, namespace: str) -> bool:
    try:
        client.create(SHOPS, {"apiVersion": "example.com/v1", "kind": "Shop",
                              "metadata": {"name": "first", "namespace": namespace}, "spec": {"message": "hello"}})
    except errors.NotFound:
        return False  # not served yet
    return True


def test_a_bad_name_or_a_taken_folder_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    bad = subprocess.run([OPFRAME, "new", "Shop_Operator", "--dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 1
    assert "'Shop_Operator' cannot name a project: use lower-case letters" in bad.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    taken = subprocess.run([OPFRAME, "new", "taken", "--dir", str(tmp_path)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert taken.returncode == 1 and "exists and is not empty" in taken.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["mine.txt", "taken"]
