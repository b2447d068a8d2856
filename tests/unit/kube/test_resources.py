"""Resource (opframe.kube.resources): API paths and names."""

from __future__ import annotations

import pytest

from opframe.kube import Resource


def test_resource_paths() -> None:
    pods = Resource("", "v1", "pods", "Pod")
    assert pods.path() == "/api/v1/pods"
    assert pods.path(namespace="ns", name="p", subresource="status") == "/api/v1/namespaces/ns/pods/p/status"
    sites = Resource("example.com", "v1", "websites", "Website")
    assert sites.path(namespace="a b") == "/apis/example.com/v1/namespaces/a%20b/websites"
    assert sites.qualified_name == "websites.example.com" and sites.api_version == "example.com/v1"
    nodes = Resource("", "v1", "nodes", namespaced=False)
    assert nodes.path(namespace="ignored", name="n1") == "/api/v1/nodes/n1"
    with pytest.raises(ValueError, match="needs an object name"):
        pods.path(subresource="status")
