"""The tutorial's operator at each step (docs/tutorial.md), run by KopfRunner against the test
session's control plane; each test checks what its step adds, from what the API server holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import KopfRunner, eventually, install_crd

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


@pytest.fixture(scope="module")
def sites(kube_client: KubeClient) -> Resource:
    return install_crd(kube_client, yaml.safe_load((HERE / "crd.yaml").read_text()))


@pytest.fixture
def step(namespace: str) -> Iterator[Callable[[int], KopfRunner]]:
    runners: list[KopfRunner] = []

    def run(number: int) -> KopfRunner:
        runner = KopfRunner(["run", "-n", namespace, str(HERE / f"step{number}.py")], timeout=60)
        runner.__enter__()
        runners.append(runner)
        assert runner.wait_ready(60), runner.log
        return runner

    yield run
    for runner in runners:
        runner.__exit__(None, None, None)


def site(name: str, namespace: str, page: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "tutorial.example.com/v1", "kind": "Site",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"page": page, "replicas": replicas}}


def status(client: KubeClient, sites: Resource, name: str, namespace: str) -> dict[str, Any]:
    return client.get(sites, name, namespace=namespace).get("status") or {}


def test_step1_a_site_gets_its_page(step: Callable[[int], KopfRunner], kube_client: KubeClient, sites: Resource,
                                    namespace: str) -> None:
    step(1)
    kube_client.create(sites, site("blog", namespace, "<h1>blog</h1>"))
    page = eventually(lambda: kube_client.get(CONFIGMAPS, "blog-page", namespace=namespace), what="the page")
    assert page["data"] == {"index.html": "<h1>blog</h1>"}
    assert page["metadata"]["ownerReferences"][0]["name"] == "blog"
    eventually(lambda: status(kube_client, sites, "blog", namespace).get("create_site") == {"configmap": "blog-page"},
               what="the handler's result in status")


def test_step2_the_page_follows_the_spec_and_a_scale_down_is_retried(
        step: Callable[[int], KopfRunner], kube_client: KubeClient, sites: Resource, namespace: str) -> None:
    runner = step(2)
    kube_client.create(sites, site("shop", namespace, "v1", replicas=3))
    eventually(lambda: status(kube_client, sites, "shop", namespace).get("phase") == "Serving", what="Serving")
    kube_client.patch(sites, "shop", {"spec": {"page": "v2"}}, namespace=namespace)
    eventually(lambda: kube_client.get(CONFIGMAPS, "shop-page", namespace=namespace)["data"]["index.html"] == "v2",
               what="the page to follow the spec")
    eventually(lambda: status(kube_client, sites, "shop", namespace).get("revisions") == 1, what="one revision")
    kube_client.patch(sites, "shop", {"spec": {"replicas": 1}}, namespace=namespace)
    eventually(lambda: runner.handlers(f"{namespace}/shop").count("scaled/spec.replicas") == 2,
               what="the scale-down handled after its retry")
    assert "scaled/spec.replicas" in runner.handlers(f"{namespace}/shop", "retrying")


def test_step3_a_deleted_site_leaves_the_directory(step: Callable[[int], KopfRunner], kube_client: KubeClient,
                                                   sites: Resource, namespace: str) -> None:
    step(3)
    kube_client.create(sites, site("docs", namespace, "docs"))
    # The handler creates the directory empty, then adds the entry: the check may see it in between.
    eventually(lambda: kube_client.get(CONFIGMAPS, "site-directory", namespace=namespace).get("data")
               == {"docs": "docs-page"}, what="the Site in the directory")
    assert kube_client.get(sites, "docs", namespace=namespace)["metadata"]["finalizers"] == ["opframe.dev/finalizer"]
    kube_client.delete(sites, "docs", namespace=namespace)
    eventually(lambda: kube_client.get(CONFIGMAPS, "site-directory", namespace=namespace).get("data") in (None, {}),
               what="the Site out of the directory")
    eventually(lambda: _gone(kube_client, sites, "docs", namespace), what="the Site deleted (finalizer released)")


def test_step4_a_timer_and_a_daemon_keep_the_status_fresh(step: Callable[[int], KopfRunner], kube_client: KubeClient,
                                                          sites: Resource, namespace: str) -> None:
    step(4)
    kube_client.create(sites, site("wiki", namespace, "12345"))
    eventually(lambda: status(kube_client, sites, "wiki", namespace).get("pageBytes") == 5, what="the timer's check")
    first = eventually(lambda: status(kube_client, sites, "wiki", namespace).get("heartbeat"), what="a heartbeat")
    eventually(lambda: status(kube_client, sites, "wiki", namespace).get("heartbeat") != first,
               what="a later heartbeat", timeout=15)
    kube_client.delete(sites, "wiki", namespace=namespace)
    eventually(lambda: _gone(kube_client, sites, "wiki", namespace), what="the Site deleted, its daemon stopped")


def _gone(client: KubeClient, resource: Resource, name: str, namespace: str) -> bool:
    try:
        client.get(resource, name, namespace=namespace)
    except errors.NotFound:
        return True
    return False
