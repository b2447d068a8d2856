"""A resource declared as models in two versions (a hub and a spoke), its CRD generated, and the
operator serving the CRD's conversion webhook to the real API server: create through v1, read
through v2 and back without loss, LIST through the version not stored, the handlers get the version
they registered for, and a conversion that fails is answered as a failure naming the object."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.models.crds import definitions
from opframe.testing import ControlPlane, eventually
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

OPERATOR = '''
from pydantic import BaseModel, Field
import opframe
from opframe import on

TLS = "conv.opframe.test/tls"


class SpecV2(BaseModel):
    domain: str
    replicas: int = 1
    tls: bool = False


class SpecV1(BaseModel):
    host: str
    replicas: int = 1


class Status(BaseModel):
    seen_as: str | None = Field(None, alias="seenAs")


class SiteV2(opframe.CustomResource, group="conv.opframe.test", version="v2", kind="Site", hub=True):
    spec: SpecV2
    status: Status = Field(default_factory=Status)


class SiteV1(opframe.CustomResource, group="conv.opframe.test", version="v1", kind="Site", storage=False):
    spec: SpecV1
    status: Status = Field(default_factory=Status)

    def to_hub(self) -> SiteV2:
        if self.spec.host == "explode.example":
            raise ValueError("this host cannot be converted")
        annotations = self.metadata.get("annotations") or {}
        return SiteV2(metadata=self.metadata, status=self.status, spec=SpecV2(
            domain=self.spec.host, replicas=self.spec.replicas, tls=annotations.get(TLS) == "true"))

    @classmethod
    def from_hub(cls, hub: SiteV2) -> "SiteV1":
        annotations = {**(hub.metadata.get("annotations") or {}), TLS: str(hub.spec.tls).lower()}
        return cls(metadata={**hub.metadata, "annotations": annotations}, status=hub.status,
                   spec=SpecV1(host=hub.spec.domain, replicas=hub.spec.replicas))


@on.create(SiteV1)
def seen(body, patch, **_):
    patch.status["seenAs"] = body["apiVersion"]
'''
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
V1 = Resource("conv.opframe.test", "v1", "sites", "Site")
V2 = Resource("conv.opframe.test", "v2", "sites", "Site")


def site(version: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": f"conv.opframe.test/{version}", "kind": "Site",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def test_the_operator_converts_between_versions_for_the_api_server(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, tmp_path: Path) -> None:
    source = tmp_path / "sites.py"
    source.write_text(OPERATOR)
    spec = importlib.util.spec_from_file_location("conversion_sites", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conversion_sites"] = module
    spec.loader.exec_module(module)
    (crd,) = definitions([module.SiteV2, module.SiteV1])
    kube_client.create(CRDS, crd)
    process = OperatorProcess([source], kubeconfig=control_plane.kubeconfig, args=["-n", namespace, "--standalone"],
                              env={"OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1", "OPFRAME_WEBHOOK_HOST": "127.0.0.1"})
    try:
        process.start().wait_started()
        eventually(lambda: (kube_client.get(CRDS, crd["metadata"]["name"])["spec"]["conversion"] or {}).get(
            "strategy") == "Webhook", what="the CRD converting through the operator", timeout=30)
        original = site("v1", "shop", {"host": "shop.example", "replicas": 3}, {"conv.opframe.test/tls": "true"})

        def create() -> bool:
            try:
                kube_client.create(V1, original, namespace=namespace)
            except errors.ApiError as exc:  # the API server takes up the new conversion within moments
                if "conversion webhook" not in str(exc):
                    raise
                return False
            return True

        eventually(create, what="a create through v1", timeout=30)
        as_v2 = kube_client.get(V2, "shop", namespace=namespace)
        assert as_v2["apiVersion"] == "conv.opframe.test/v2"
        assert as_v2["spec"] == {"domain": "shop.example", "replicas": 3, "tls": True}
        as_v1 = kube_client.get(V1, "shop", namespace=namespace)
        assert as_v1["spec"] == original["spec"]  # v1 -> v2 (stored) -> v1, nothing lost
        assert as_v1["metadata"]["annotations"]["conv.opframe.test/tls"] == "true"
        # a round trip the other way: written through v2, read through v1 and v2 again
        kube_client.create(V2, site("v2", "blog", {"domain": "blog.example", "replicas": 2, "tls": False}),
                           namespace=namespace)
        assert kube_client.get(V1, "blog", namespace=namespace)["spec"] == {"host": "blog.example", "replicas": 2}
        assert kube_client.get(V2, "blog", namespace=namespace)["spec"] == {
            "domain": "blog.example", "replicas": 2, "tls": False}
        listed = kube_client.list(V1, namespace=namespace).items  # LIST through the version not stored
        assert sorted((item["apiVersion"], item["spec"]["host"]) for item in listed) == [
            ("conv.opframe.test/v1", "blog.example"), ("conv.opframe.test/v1", "shop.example")]
        # the handler registered for v1 got v1 objects (the API server converted them for its watch)
        eventually(lambda: len([i for i in kube_client.list(V2, namespace=namespace).items
                                if (i.get("status") or {}).get("seenAs") == "conv.opframe.test/v1"]) == 2,
                   what="both handled as v1", timeout=30)
        # a conversion that raises: the API server refuses, naming the object and the reason
        with pytest.raises(errors.ApiError, match="this host cannot be converted"):
            kube_client.create(V1, site("v1", "boom", {"host": "explode.example"}), namespace=namespace)
        assert kube_client.get(V1, "shop", namespace=namespace)["spec"]["host"] == "shop.example"  # serving on
    finally:
        process.stop()
        kube_client.delete(CRDS, crd["metadata"]["name"])
