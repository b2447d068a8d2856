"""The local control plane is a real kube-apiserver backed by a real etcd.

Each test drives a behaviour that only the real server has: CRD serving, paged
lists, watch streams with bookmarks, 410 Gone after compaction, RBAC.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from opframe.testing import KUBERNETES_VERSION, ControlPlane
from opframe.testing.controlplane import WATCH_CACHE_COMPACTION_POLL

pytestmark = pytest.mark.e2e

GROUP = "e2e.opframe.dev"
PLURAL = "widgets"
VERSION = "v1"


def _widget_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget", "shortNames": ["wdg"]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }},
            }],
        },
    }


def _wait_established(api: client.ApiextensionsV1Api, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = api.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in (crd.status.conditions or [])}
        if conditions.get("Established") == "True":
            return
        time.sleep(0.1)
    raise AssertionError(f"CRD {name} was not established within {timeout} s")


@pytest.fixture(scope="module")
def widget_crd(kube_api_client: Any) -> Iterator[str]:
    api = client.ApiextensionsV1Api(kube_api_client)
    name = f"{PLURAL}.{GROUP}"
    try:
        api.create_custom_resource_definition(_widget_crd())
    except ApiException as exc:
        if exc.status != 409:
            raise
    _wait_established(api, name)
    yield name


def _widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_version_reports_the_pinned_release(kube_api_client: Any) -> None:
    info = client.VersionApi(kube_api_client).get_code()
    assert info.git_version == KUBERNETES_VERSION
    assert (info.major, info.minor) == ("1", KUBERNETES_VERSION.split(".")[1])


def test_admin_get_reads_the_servers_own_metrics_and_counts_requests(control_plane: ControlPlane,
                                                                      kube_api_client: Any) -> None:
    def namespace_gets() -> float:
        status, body = control_plane.admin_get("/metrics")
        assert status == 200
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                   if line.startswith("apiserver_request_total{") and 'resource="namespaces"' in line
                   and 'verb="GET"' in line)

    before = namespace_gets()
    for _ in range(3):
        client.CoreV1Api(kube_api_client).read_namespace("default")
    assert namespace_gets() - before == 3
    assert control_plane.admin_get("/no-such-path")[0] == 404


def test_custom_resources_are_created_and_read_back(kube_api_client: Any, widget_crd: str,
                                                    namespace: str) -> None:
    api = client.CustomObjectsApi(kube_api_client)
    created = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL,
                                                  _widget("w1", size=3))
    fetched = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1")
    assert fetched["spec"] == {"size": 3}
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]


def test_list_pages_with_limit_and_continue(kube_api_client: Any, widget_crd: str, namespace: str) -> None:
    api = client.CustomObjectsApi(kube_api_client)
    names = {f"page-{i:02d}" for i in range(7)}
    for name in names:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget(name))
    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, limit=3,
                                                 _continue=token)
        pages += 1
        seen.extend(item["metadata"]["name"] for item in page["items"])
        token = page["metadata"].get("continue")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == len(names) - len(seen)
    assert pages == 3
    assert sorted(seen) == sorted(names)


def test_watch_from_a_resource_version_sees_every_event_type(kube_api_client: Any, widget_crd: str,
                                                             namespace: str) -> None:
    api = client.CustomObjectsApi(kube_api_client)
    start_rv = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["metadata"][
        "resourceVersion"]
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("watched", n=1))
    api.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "watched", {"spec": {"n": 2}})
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "watched")
    # The watch cache sends a watcher a bookmark 2 s before its deadline, carrying the
    # newest resourceVersion it has dispatched. A change elsewhere in the same resource
    # while the watch is open moves that forward without sending this watch an event.
    elsewhere = f"elsewhere-{uuid.uuid4().hex[:8]}"
    change_elsewhere = threading.Timer(1.0, api.create_namespaced_custom_object,
                                       (GROUP, VERSION, "default", PLURAL, _widget(elsewhere)))
    events: list[tuple[str, dict[str, Any]]] = []
    change_elsewhere.start()
    try:
        for event in watch.Watch().stream(
            api.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
            resource_version=start_rv, allow_watch_bookmarks=True, timeout_seconds=6,
        ):
            events.append((event["type"], event["raw_object"]))
    finally:
        change_elsewhere.join()
        api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, elsewhere)
    types = [kind for kind, _ in events]
    assert types[:3] == ["ADDED", "MODIFIED", "DELETED"]
    assert "BOOKMARK" in types[3:]
    modified = events[1][1]
    assert modified["spec"] == {"n": 2}
    bookmark = next(obj for kind, obj in events if kind == "BOOKMARK")
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(events[2][1]["metadata"]["resourceVersion"])


def test_compacted_resource_version_gets_410_gone(control_plane: ControlPlane, kube_api_client: Any,
                                                   namespace: str) -> None:
    core = client.CoreV1Api(kube_api_client)
    old = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="old"), data={"v": "0"}))
    old_rv = old.metadata.resource_version
    for i in range(1, 4):
        core.patch_namespaced_config_map("old", namespace, {"data": {"v": str(i)}})
    compacted = control_plane.compact_etcd()
    assert compacted > int(old_rv)
    # The watch cache learns of the compaction within its poll period; until then it
    # may still serve the old revision from memory.
    deadline = time.monotonic() + WATCH_CACHE_COMPACTION_POLL + 30
    while True:
        try:
            core.list_namespaced_config_map(namespace, resource_version=old_rv,
                                            resource_version_match="Exact")
        except ApiException as gone:
            assert gone.status == 410, gone
            assert "too old" in gone.body or "compacted" in gone.body
            break
        assert time.monotonic() < deadline, "the exact list at a compacted revision never got 410"
        time.sleep(0.5)
    # A watch is served from the watch cache's window of recent events, which etcd's
    # compaction does not shorten; a restarted kube-apiserver starts a new window at
    # the current revision, so a watch from the compacted revision is refused.
    control_plane.stop_apiserver()
    control_plane.start_apiserver()
    stream = watch.Watch().stream(core.list_namespaced_config_map, namespace,
                                  resource_version=old_rv, timeout_seconds=5)
    with pytest.raises(ApiException) as expired:
        next(stream)
    assert expired.value.status == 410
    assert "too old resource version" in str(expired.value.reason)


def test_service_account_without_permissions_is_forbidden(control_plane: ControlPlane,
                                                          kube_api_client: Any, namespace: str) -> None:
    core = client.CoreV1Api(kube_api_client)
    sa_name = f"nobody-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name=sa_name)))
    token = core.create_namespaced_service_account_token(
        sa_name, namespace, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token

    configuration = client.Configuration()
    configuration.host = control_plane.server
    configuration.ssl_ca_cert = str(control_plane.pki.serving_ca)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(configuration) as as_sa:
        whoami = client.AuthenticationV1Api(as_sa).create_self_subject_review(
            client.V1SelfSubjectReview())
        assert whoami.status.user_info.username == f"system:serviceaccount:{namespace}:{sa_name}"
        with pytest.raises(ApiException) as forbidden:
            client.CoreV1Api(as_sa).list_namespaced_config_map(namespace)
    assert forbidden.value.status == 403
    assert f"system:serviceaccount:{namespace}:{sa_name}" in forbidden.value.body
