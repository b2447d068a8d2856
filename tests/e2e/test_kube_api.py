"""The API layer against the real API server: discovery, verbs, paging, watch, errors, retries."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kubernetes import client as k8s

from opframe.kube import (
    AmbiguousResourceError,
    ClientSettings,
    Discovery,
    KubeClient,
    Resource,
    ResourceNotFoundError,
    errors,
    load_configuration,
)
from opframe.testing import ControlPlane, install_crd

pytestmark = pytest.mark.e2e

GROUP = "api.opframe.dev"
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


@pytest.fixture(scope="module")
def gadgets(kube_client: KubeClient) -> Resource:
    return install_crd(kube_client, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                           "shortNames": ["gdg"]},
                 "versions": [
                     {"name": "v1", "served": True, "storage": True,
                      "subresources": {"status": {}},
                      "schema": {"openAPIV3Schema": {"type": "object",
                                                     "x-kubernetes-preserve-unknown-fields": True}}},
                     {"name": "v1beta1", "served": True, "storage": False,
                      "schema": {"openAPIV3Schema": {"type": "object",
                                                     "x-kubernetes-preserve-unknown-fields": True}}},
                 ]},
    })


@pytest.mark.parametrize("spec", [
    ("gadgets",), ("gadget",), ("Gadget",), ("gdg",), (f"gadgets.{GROUP}",), (f"gadgets.v1.{GROUP}",),
    (GROUP, "gadgets"), (f"{GROUP}/v1", "gadgets"), (GROUP, "v1", "gadgets"),
], ids="/".join)
def test_discovery_resolves_every_way_of_naming_a_resource(kube_client: KubeClient, gadgets: Resource,
                                                            spec: tuple[str, ...]) -> None:
    resolved = Discovery(kube_client).resolve(*spec)
    assert (resolved.group, resolved.version, resolved.plural) == (GROUP, "v1", "gadgets")
    assert resolved.kind == "Gadget" and resolved.namespaced and "status" in resolved.subresources


def test_discovery_uses_a_named_version_and_knows_builtin_kinds(kube_client: KubeClient,
                                                                gadgets: Resource) -> None:
    discovery = Discovery(kube_client)
    assert discovery.resolve(GROUP, "v1beta1", "gadgets").version == "v1beta1"
    pods = discovery.resolve("po")
    assert (pods.group, pods.version, pods.plural, pods.kind) == ("", "v1", "pods", "Pod")
    assert discovery.resolve("deployments").group == "apps"
    assert not discovery.resolve("namespaces").namespaced
    # "events" is served by core/v1 and events.k8s.io: core wins, as in kubectl.
    assert discovery.resolve("events").group == ""
    assert discovery.resolve("events.events.k8s.io").group == "events.k8s.io"


def test_unknown_resource_suggests_the_nearest_names(kube_client: KubeClient, gadgets: Resource) -> None:
    with pytest.raises(ResourceNotFoundError) as error:
        Discovery(kube_client).resolve("gadgts")
    assert str(error.value) == f"unknown resource 'gadgts'; did you mean gadgets.{GROUP}?"
    with pytest.raises(ResourceNotFoundError, match="CustomResourceDefinition installed"):
        Discovery(kube_client).resolve("zzzzzz.example.org")


def test_ambiguous_resource_lists_the_candidates(kube_client: KubeClient, gadgets: Resource) -> None:
    crds = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
    other = f"other{uuid.uuid4().hex[:6]}.dev"
    kube_client.create(crds, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{other}"},
        "spec": {"group": other, "scope": "Cluster",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]},
    })
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                Discovery(kube_client).resolve(f"gadgets.{other}")
                break
            except ResourceNotFoundError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with pytest.raises(AmbiguousResourceError) as error:
            Discovery(kube_client).resolve("gadget")
        assert {c.group for c in error.value.candidates} == {GROUP, other}
        assert f"gadgets.{GROUP}" in str(error.value) and f"gadgets.{other}" in str(error.value)
        assert "name it as plural.group" in str(error.value)
    finally:
        kube_client.delete(crds, f"gadgets.{other}")


def test_create_get_patch_three_ways_status_and_delete(kube_client: KubeClient, gadgets: Resource,
                                                       namespace: str) -> None:
    body = {"apiVersion": f"{GROUP}/v1", "kind": "Gadget", "metadata": {"name": "g1", "namespace": namespace},
            "spec": {"size": 1, "tags": ["a"]}}
    created = kube_client.create(gadgets, body)
    assert created["metadata"]["uid"]
    merged = kube_client.patch(gadgets, "g1", {"spec": {"size": 2}}, namespace=namespace)
    assert merged["spec"] == {"size": 2, "tags": ["a"]}
    jsoned = kube_client.patch(gadgets, "g1", [{"op": "add", "path": "/spec/tags/-", "value": "b"}],
                               namespace=namespace, patch_type="json")
    assert jsoned["spec"]["tags"] == ["a", "b"]
    status = kube_client.patch(gadgets, "g1", {"status": {"phase": "Ready"}}, namespace=namespace,
                               subresource="status")
    assert status["status"] == {"phase": "Ready"}
    # The main resource ignores status changes once a status subresource exists.
    ignored = kube_client.patch(gadgets, "g1", {"status": {"phase": "Nope"}}, namespace=namespace)
    assert ignored["status"] == {"phase": "Ready"}
    assert kube_client.get(gadgets, "g1", namespace=namespace)["spec"]["size"] == 2
    kube_client.delete(gadgets, "g1", namespace=namespace)
    with pytest.raises(errors.NotFound) as missing:
        kube_client.get(gadgets, "g1", namespace=namespace)
    assert missing.value.code == 404 and "not found" in missing.value.message


def test_strategic_merge_patch_on_a_builtin_kind(kube_client: KubeClient, namespace: str) -> None:
    deployments = Discovery(kube_client).resolve("deployments")
    kube_client.create(deployments, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis:7"}]},
        }},
    })
    patched = kube_client.patch(deployments, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "redis:8"}]}}}}, namespace=namespace, patch_type="strategic")
    images = {c["name"]: c["image"] for c in patched["spec"]["template"]["spec"]["containers"]}
    assert images == {"a": "nginx:1", "b": "redis:8"}  # merged by name, not replaced
    with pytest.raises(ValueError, match="strategic-merge patch is not supported"):
        kube_client.patch(Resource(GROUP, "v1", "gadgets"), "x", {}, namespace=namespace,
                          patch_type="strategic")


def test_typed_errors_carry_the_server_status(kube_client: KubeClient, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup", "namespace": namespace}}
    kube_client.create(CONFIGMAPS, body)
    with pytest.raises(errors.Conflict) as conflict:
        kube_client.create(CONFIGMAPS, body)
    assert conflict.value.reason == "AlreadyExists" and "already exists" in conflict.value.message
    with pytest.raises(errors.Invalid) as invalid:
        kube_client.create(CONFIGMAPS, {**body, "metadata": {"name": "Not_Valid", "namespace": namespace}})
    assert invalid.value.code == 422 and invalid.value.details["causes"]
    stale = kube_client.get(CONFIGMAPS, "dup", namespace=namespace)
    kube_client.patch(CONFIGMAPS, "dup", {"data": {"a": "1"}}, namespace=namespace)
    with pytest.raises(errors.Conflict) as optimistic:
        kube_client.replace(CONFIGMAPS, "dup", {**stale, "data": {"b": "2"}}, namespace=namespace)
    assert "the object has been modified" in optimistic.value.message


def test_forbidden_and_unauthorized_are_typed(control_plane: ControlPlane, kube_client: KubeClient,
                                              namespace: str) -> None:
    sa = Resource("", "v1", "serviceaccounts")
    kube_client.create(sa, {"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": "nobody", "namespace": namespace}})
    token = kube_client.create(sa, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                    "spec": {"expirationSeconds": 600}},
                               namespace=namespace, name="nobody", subresource="token")["status"]["token"]
    configuration = k8s.Configuration()
    configuration.host = control_plane.server
    configuration.ssl_ca_cert = str(control_plane.pki.serving_ca)
    configuration.api_key = {"BearerToken": token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    with KubeClient(configuration) as as_nobody, pytest.raises(errors.Forbidden) as forbidden:
        as_nobody.list(CONFIGMAPS, namespace=namespace)
    assert f"system:serviceaccount:{namespace}:nobody" in forbidden.value.message
    configuration.api_key = {"BearerToken": "not-a-token"}
    with KubeClient(configuration) as as_nobody, pytest.raises(errors.Unauthorized):
        as_nobody.list(CONFIGMAPS, namespace=namespace)


def test_list_pages_and_list_all(kube_client: KubeClient, namespace: str) -> None:
    for i in range(25):
        kube_client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": f"cm-{i:02d}", "namespace": namespace}})
    first = kube_client.list(CONFIGMAPS, namespace=namespace, limit=10)
    assert len(first.items) == 10 and first.continue_token and first.remaining_item_count == 15
    everything = kube_client.list_all(CONFIGMAPS, namespace=namespace, page_size=10)
    names = sorted(item["metadata"]["name"] for item in everything.items)
    assert [n for n in names if n.startswith("cm-")] == [f"cm-{i:02d}" for i in range(25)]
    assert int(everything.resource_version) >= int(first.resource_version)


def test_watch_streams_raw_events_and_bookmarks(kube_client: KubeClient, namespace: str) -> None:
    start = kube_client.list(CONFIGMAPS, namespace=namespace).resource_version
    kube_client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "w", "namespace": namespace}})
    kube_client.patch(CONFIGMAPS, "w", {"data": {"k": "v"}}, namespace=namespace)
    kube_client.delete(CONFIGMAPS, "w", namespace=namespace)
    stream = kube_client.watch(CONFIGMAPS, namespace=namespace, resource_version=start, timeout_seconds=5,
                               inactivity_timeout=30)
    changed_elsewhere = threading.Timer(1.0, kube_client.create, (CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"elsewhere-{uuid.uuid4().hex[:6]}", "namespace": "default"}}))
    changed_elsewhere.start()
    events = list(stream)
    changed_elsewhere.join()
    assert [e.type for e in events[:3]] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1].object["data"] == {"k": "v"}
    assert any(e.type == "BOOKMARK" for e in events[3:])


def test_watch_from_an_expired_version_fails_with_gone(control_plane: ControlPlane, kube_client: KubeClient,
                                                       namespace: str) -> None:
    old = kube_client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "old", "namespace": namespace}})
    kube_client.patch(CONFIGMAPS, "old", {"data": {"k": "v"}}, namespace=namespace)
    control_plane.compact_etcd()
    control_plane.stop_apiserver()
    control_plane.start_apiserver()
    events = list(kube_client.watch(CONFIGMAPS, namespace=namespace,
                                    resource_version=old["metadata"]["resourceVersion"],
                                    timeout_seconds=5, inactivity_timeout=30))
    assert events[0].type == "ERROR"
    gone = errors.from_status(events[0].object)
    assert isinstance(gone, errors.Gone) and "too old resource version" in gone.message


def test_idempotent_calls_retry_through_an_api_server_restart(control_plane: ControlPlane,
                                                              kube_client: KubeClient) -> None:
    control_plane.stop_apiserver()
    restarter = threading.Timer(1.0, control_plane.start_apiserver)
    restarter.start()
    try:
        started = time.monotonic()
        namespaces = kube_client.list(Resource("", "v1", "namespaces", namespaced=False))
        assert any(item["metadata"]["name"] == "default" for item in namespaces.items)
        assert time.monotonic() - started >= 1.0
    finally:
        restarter.join()


def test_retries_stop_after_the_budget(control_plane: ControlPlane) -> None:
    configuration = load_configuration(control_plane.kubeconfig)
    configuration.host = "https://127.0.0.1:1"  # nothing listens on port 1
    with KubeClient(configuration, ClientSettings(retry_budget=1.0)) as unreachable:
        started = time.monotonic()
        with pytest.raises(errors.TransportError, match="cannot connect"):
            unreachable.get(CONFIGMAPS, "x", namespace="default")
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 10.0
    assert unreachable.request_count >= 2


def test_client_side_throttle_paces_requests(control_plane: ControlPlane) -> None:
    configuration = load_configuration(control_plane.kubeconfig)
    with KubeClient(configuration, ClientSettings(qps=20, burst=1)) as throttled:
        started = time.monotonic()
        for _ in range(11):
            throttled.get(Resource("", "v1", "namespaces", namespaced=False), "default")
        elapsed = time.monotonic() - started
    # 1 token at once, then 10 more at 20 per second: at least 0.5 s.
    assert elapsed >= 0.45

