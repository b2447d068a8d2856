"""The Website operator's end-to-end scenario, shared by `make demo` and the example's test.

Each step acts on the cluster and then waits until the operator's work is visible on
the API server; a step that does not complete in time raises ScenarioError.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from opframe import testing
from opframe.kube import KubeClient, Resource, errors
from opframe.testing import eventually

HERE = Path(__file__).resolve().parent
WEBSITES = Resource("example.com", "v1", "websites", "Website", subresources=("status",))
CHILDREN = (Resource("", "v1", "configmaps", "ConfigMap"), Resource("apps", "v1", "deployments", "Deployment"),
            Resource("", "v1", "services", "Service"))
#: Generous: a shared 2-core machine can be slow, and nothing here should take a second.
STEP_TIMEOUT = 30.0


class ScenarioError(AssertionError):
    pass


def wait_until(what: str, check: Callable[[], Any], timeout: float = STEP_TIMEOUT) -> Any:
    return eventually(check, what=what, timeout=timeout, error=ScenarioError)


def install_crd(client: KubeClient) -> None:
    testing.install_crd(client, yaml.safe_load((HERE / "crd.yaml").read_text()), timeout=STEP_TIMEOUT)


def run(client: KubeClient, namespace: str, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Create, update and delete a Website; return what was observed."""
    observed: dict[str, Any] = {}
    started = time.monotonic()
    client.create(WEBSITES, {"apiVersion": "example.com/v1", "kind": "Website",
                             "metadata": {"name": "hello", "namespace": namespace},
                             "spec": {"domain": "hello.example.com", "replicas": 2}})
    say("created Website hello (domain hello.example.com, 2 replicas)")
    for child in CHILDREN:
        body = wait_until(f"{child.kind} hello-site", lambda c=child: client.get(c, "hello-site", namespace=namespace))
        owner = body["metadata"]["ownerReferences"][0]
        if (owner["kind"], owner["name"]) != ("Website", "hello"):
            raise ScenarioError(f"{child.kind} hello-site is not owned by Website hello: {owner}")
        say(f"  operator created {child.kind} hello-site (owned by Website hello)")
    status = wait_until("status.phase Ready", lambda: (client.get(WEBSITES, "hello", namespace=namespace)
                                                      .get("status") or {}).get("phase") == "Ready" and
                        client.get(WEBSITES, "hello", namespace=namespace)["status"])
    observed["created_in"] = time.monotonic() - started
    observed["status_after_create"] = status
    say(f"  status: phase={status['phase']} url={status['url']} (handled in {observed['created_in']:.2f} s)")

    started = time.monotonic()
    client.patch(WEBSITES, "hello", {"spec": {"replicas": 3, "content": "<h1>Updated</h1>"}}, namespace=namespace)
    say("updated Website hello: replicas 3, new content")
    wait_until("the Deployment to have 3 replicas", lambda: client.get(
        CHILDREN[1], "hello-site", namespace=namespace)["spec"]["replicas"] == 3)
    wait_until("the ConfigMap to carry the new content", lambda: client.get(
        CHILDREN[0], "hello-site", namespace=namespace)["data"]["index.html"] == "<h1>Updated</h1>")
    status = wait_until("status.observedChanges", lambda: (client.get(WEBSITES, "hello", namespace=namespace)
                                                          .get("status") or {}).get("observedChanges"))
    observed["updated_in"] = time.monotonic() - started
    observed["observed_changes"] = status
    say(f"  operator scaled the Deployment to 3 and rewrote the ConfigMap; status.observedChanges={status}")

    started = time.monotonic()
    client.delete(WEBSITES, "hello", namespace=namespace)
    say("deleted Website hello")
    for child in CHILDREN:
        wait_until(f"{child.kind} hello-site to be deleted",
                   lambda c=child: _absent(client, c, "hello-site", namespace))
    wait_until("Website hello to be gone (finalizer removed)",
               lambda: _absent(client, WEBSITES, "hello", namespace))
    observed["deleted_in"] = time.monotonic() - started
    say(f"  operator deleted the children and released the finalizer ({observed['deleted_in']:.2f} s)")
    return observed


def _absent(client: KubeClient, resource: Resource, name: str, namespace: str) -> bool:
    try:
        client.get(resource, name, namespace=namespace)
    except errors.NotFound:
        return True
    return False


PODS = Resource("", "v1", "pods", "Pod")


def run_with_pods(client: KubeClient, namespace: str, say: Callable[[str], None] = print) -> dict[str, Any]:
    """On a cluster with a node: the Website's pods really run, and its status follows their readiness."""
    observed: dict[str, Any] = {}
    started = time.monotonic()
    client.create(WEBSITES, {"apiVersion": "example.com/v1", "kind": "Website",
                             "metadata": {"name": "live", "namespace": namespace},
                             "spec": {"domain": "live.example.com", "replicas": 2, "content": "<h1>live</h1>"}})
    say("created Website live (2 replicas)")

    def status() -> dict[str, Any]:
        return client.get(WEBSITES, "live", namespace=namespace).get("status") or {}

    wait_until("status.available with 2/2 ready", lambda: status().get("readyReplicas") == "2/2"
               and status().get("available") is True, timeout=90)
    observed["available_in"] = time.monotonic() - started
    pods = [p for p in client.list(PODS, namespace=namespace).items
            if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") == "live"]
    observed["pods"] = sorted((p["metadata"]["name"], p["status"].get("phase"), p["status"].get("podIP"))
                              for p in pods)
    say(f"  {len(pods)} pods Running and Ready (their readinessProbe fetched the page) after "
        f"{observed['available_in']:.1f} s: status.readyReplicas={status()['readyReplicas']}")
    client.patch(WEBSITES, "live", {"spec": {"replicas": 3}}, namespace=namespace)
    wait_until("3/3 ready after scaling", lambda: status().get("readyReplicas") == "3/3", timeout=90)
    say("  scaled to 3: status.readyReplicas=3/3")
    client.delete(WEBSITES, "live", namespace=namespace)
    wait_until("the Website and its pods gone", lambda: _absent(client, WEBSITES, "live", namespace) and not [
        p for p in client.list(PODS, namespace=namespace).items
        if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") == "live"], timeout=90)
    say("  deleted: the Deployment and its pods are gone")
    return observed
