"""`opframe migrate-storage` on the real API server and etcd: after a CRD's storage version changed,
every object is stored in the new version (read back from etcd itself) and status.storedVersions
names it alone; a second run has nothing to do."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import pytest
from click.testing import CliRunner

from opframe import cli
from opframe.kube import KubeClient, Resource
from opframe.kube.migration import CRDS
from opframe.testing import ControlPlane, eventually

pytestmark = pytest.mark.e2e

NAME = "migrations.opframe.test"
SCHEMA = {"openAPIV3Schema": {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}


def crd(storage: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": NAME},
            "spec": {"group": "opframe.test", "scope": "Namespaced",
                     "names": {"plural": "migrations", "singular": "migration", "kind": "Migration"},
                     "versions": [{"name": version, "served": True, "storage": version == storage, "schema": SCHEMA}
                                  for version in ("v1", "v2")]}}


def stored_api_version(plane: ControlPlane, namespace: str, name: str) -> str:
    """The apiVersion of the object as etcd holds it (custom resources are stored as JSON)."""
    key = base64.b64encode(f"/registry/opframe.test/migrations/{namespace}/{name}".encode()).decode()
    request = urllib.request.Request(f"{plane.etcd_url}/v3/kv/range", data=json.dumps({"key": key}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        (kv,) = json.loads(response.read())["kvs"]
    return str(json.loads(base64.b64decode(kv["value"]))["apiVersion"])


def test_objects_are_rewritten_in_the_new_storage_version_and_stored_versions_narrowed(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str) -> None:
    kube_client.create(CRDS, crd(storage="v1"))
    v1 = Resource("opframe.test", "v1", "migrations", "Migration")
    names = [f"m{i}" for i in range(3)]
    for name in names:
        eventually(lambda name=name: kube_client.create(v1, {  # type: ignore[misc]
            "apiVersion": "opframe.test/v1", "kind": "Migration", "metadata": {"name": name},
            "spec": {"size": 1}}, namespace=namespace), what="the CRD served", timeout=30)
    stored = kube_client.get(CRDS, NAME)
    stored["spec"] = crd(storage="v2")["spec"]
    kube_client.replace(CRDS, NAME, stored)
    eventually(lambda: kube_client.get(CRDS, NAME)["status"]["storedVersions"] == ["v1", "v2"],
               what="v2 the storage version", timeout=30)
    assert {stored_api_version(control_plane, namespace, name) for name in names} == {"opframe.test/v1"}

    result = CliRunner().invoke(cli.main, ["migrate-storage", NAME, "--kubeconfig", str(control_plane.kubeconfig)])
    assert result.exit_code == 0, result.output
    assert "3 objects rewritten in v2" in result.output and "-> ['v2']" in result.output
    assert {stored_api_version(control_plane, namespace, name) for name in names} == {"opframe.test/v2"}
    assert kube_client.get(CRDS, NAME)["status"]["storedVersions"] == ["v2"]
    assert [kube_client.get(v1, name, namespace=namespace)["spec"] for name in names] == [{"size": 1}] * 3

    again = CliRunner().invoke(cli.main, ["migrate-storage", NAME, "--kubeconfig", str(control_plane.kubeconfig)])
    assert again.exit_code == 0 and "nothing to do" in again.output
    missing = CliRunner().invoke(cli.main, ["migrate-storage", "nothing.opframe.test", "--kubeconfig",
                                            str(control_plane.kubeconfig)])
    assert missing.exit_code == 1 and "no CustomResourceDefinition 'nothing.opframe.test'" in missing.output
    kube_client.delete(CRDS, NAME)
