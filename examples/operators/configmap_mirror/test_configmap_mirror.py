"""The ConfigMap mirror, end to end on the real control plane."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import ControlPlane, eventually
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)


def _namespace(client: KubeClient, name: str) -> None:
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _absent(client: KubeClient, name: str, namespace: str) -> bool:
    try:
        client.get(CONFIGMAPS, name, namespace=namespace)
    except errors.NotFound:
        return True
    return False


def test_mirror_copies_syncs_follows_new_namespaces_and_cleans_up(control_plane: ControlPlane,
                                                                  kube_client: KubeClient) -> None:
    tag = uuid.uuid4().hex[:6]
    source_ns, team_a, team_b, other = f"src-{tag}", f"team-a-{tag}", f"team-b-{tag}", f"other-{tag}"
    for name in (source_ns, team_a, other):
        _namespace(kube_client, name)
    with OperatorProcess([HERE / "operator.py"], kubeconfig=control_plane.kubeconfig, args=["-A"]) as operator:
        operator.wait_started()
        kube_client.create(CONFIGMAPS, {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": source_ns,
                         "labels": {"mirror.opframe.dev/enabled": "true"},
                         "annotations": {"mirror.opframe.dev/namespaces": f"team-*-{tag}"}},
            "data": {"greeting": "hello"}})
        copy = eventually(lambda: kube_client.get(CONFIGMAPS, "shared", namespace=team_a), what="the copy in team-a")
        assert copy["data"] == {"greeting": "hello"}
        assert copy["metadata"]["labels"]["mirror.opframe.dev/source"] == f"{source_ns}.shared"
        assert _absent(kube_client, "shared", other)

        kube_client.patch(CONFIGMAPS, "shared", {"data": {"greeting": "hi"}}, namespace=source_ns)
        eventually(lambda: kube_client.get(CONFIGMAPS, "shared", namespace=team_a)["data"] == {"greeting": "hi"},
                   what="the copy to follow the source")

        _namespace(kube_client, team_b)
        late = eventually(lambda: kube_client.get(CONFIGMAPS, "shared", namespace=team_b),
                          what="a copy in the namespace created later")
        assert late["data"] == {"greeting": "hi"}

        kube_client.delete(CONFIGMAPS, "shared", namespace=source_ns)
        for namespace in (team_a, team_b):
            eventually(lambda ns=namespace: _absent(kube_client, "shared", ns), what=f"the copy in {namespace} to go")
        eventually(lambda: _absent(kube_client, "shared", source_ns), what="the source to go")
        assert operator.stop() == 0
        assert "Traceback" not in operator.output()
