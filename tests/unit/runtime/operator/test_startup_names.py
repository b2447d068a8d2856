"""Which resource names the start-up line explains (a kind, a singular, a short name). No sockets."""

from __future__ import annotations

import pytest

from opframe.kube.resources import Resource
from opframe.runtime.operator.startup import named_plainly

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
PODS = Resource("", "v1", "pods", "Pod")


@pytest.mark.parametrize(("name", "resource", "plain"), [
    ("deployments", DEPLOYMENTS, True),
    ("deployments.apps", DEPLOYMENTS, True),
    ("deployments.v1.apps", DEPLOYMENTS, True),
    ("deploy", DEPLOYMENTS, False),  # a short name: said what it is
    ("deployment", DEPLOYMENTS, False),  # the singular
    ("Deployment", DEPLOYMENTS, False),  # the kind
    ("pods", PODS, True),
    ("po", PODS, False),
])
def test_named_plainly(name: str, resource: Resource, plain: bool) -> None:
    assert named_plainly(name, resource) is plain
