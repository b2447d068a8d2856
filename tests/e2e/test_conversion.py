"""A resource declared as models in two versions (a hub and a spoke: examples/operators/sites), its CRD
generated, and the operator serving the CRD's conversion webhook to the real API server: create through
v1, read through v2 and back without loss, LIST through the version not stored, the handlers get the
version they registered for, and a conversion that fails is answered as a failure naming the object."""

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

#: The example operator: Site in v1 (a spoke) and v2 (the hub, stored).
OPERATOR_FILE = Path(__file__).resolve().parents[2] / "examples" / "operators" / "sites" / "operator.py"
OPERATOR = OPERATOR_FILE.read_text()
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
V1 = Resource("sites.opframe.dev", "v1", "sites", "Site")
V2 = Resource("sites.opframe.dev", "v2", "sites", "Site")


def site(version: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": f"sites.opframe.dev/{version}", "kind": "Site",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def test_the_operator_converts_between_versions_for_the_api_server(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, tmp_path: Path) -> None:
    source = tmp_path / "sites.py"
    source.write_text(OPERATOR)
    spec = importlib.util.spec_from_file_location("conversion_sites", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conversion_sites"] = module
    from opframe.handlers.registry import Registry, get_default_registry, set_default_registry

    default = get_default_registry()  # its handlers must not join the process's default registry
    set_default_registry(Registry())
    try:
        spec.loader.exec_module(module)
    finally:
        set_default_registry(default)
    (crd,) = definitions([module.SiteV2, module.SiteV1])
    kube_client.create(CRDS, crd)
    process = OperatorProcess([source], kubeconfig=control_plane.kubeconfig, args=["-n", namespace, "--standalone"],
                              env={"OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1", "OPFRAME_WEBHOOK_HOST": "127.0.0.1"})
    try:
        process.start().wait_started()
        eventually(lambda: (kube_client.get(CRDS, crd["metadata"]["name"])["spec"]["conversion"] or {}).get(
            "strategy") == "Webhook", what="the CRD converting through the operator", timeout=30)
        original = site("v1", "shop", {"host": "shop.example", "replicas": 3}, {"sites.opframe.dev/tls": "true"})

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
        assert as_v2["apiVersion"] == "sites.opframe.dev/v2"
        assert as_v2["spec"] == {"domain": "shop.example", "replicas": 3, "tls": True}
        as_v1 = kube_client.get(V1, "shop", namespace=namespace)
        assert as_v1["spec"] == original["spec"]  # v1 -> v2 (stored) -> v1, nothing lost
        assert as_v1["metadata"]["annotations"]["sites.opframe.dev/tls"] == "true"
        # a round trip the other way: written through v2, read through v1 and v2 again
        kube_client.create(V2, site("v2", "blog", {"domain": "blog.example", "replicas": 2, "tls": False}),
                           namespace=namespace)
        assert kube_client.get(V1, "blog", namespace=namespace)["spec"] == {"host": "blog.example", "replicas": 2}
        assert kube_client.get(V2, "blog", namespace=namespace)["spec"] == {
            "domain": "blog.example", "replicas": 2, "tls": False}
        listed = kube_client.list(V1, namespace=namespace).items  # LIST through the version not stored
        assert sorted((item["apiVersion"], item["spec"]["host"]) for item in listed) == [
            ("sites.opframe.dev/v1", "blog.example"), ("sites.opframe.dev/v1", "shop.example")]
        # the handler registered for v1 got v1 objects (the API server converted them for its watch)
        eventually(lambda: len([i for i in kube_client.list(V2, namespace=namespace).items
                                if (i.get("status") or {}).get("seenAs") == "sites.opframe.dev/v1"]) == 2,
                   what="both handled as v1", timeout=30)
        # a conversion that raises: the API server refuses, naming the object and the reason
        with pytest.raises(errors.ApiError, match="this host cannot be converted"):
            kube_client.create(V1, site("v1", "boom", {"host": "explode.example"}), namespace=namespace)
        assert kube_client.get(V1, "shop", namespace=namespace)["spec"]["host"] == "shop.example"  # serving on
    finally:
        process.stop()
        kube_client.delete(CRDS, crd["metadata"]["name"])
