"""kopf compatibility: the object reference of an Event.

Mirrors the ``build_object_reference()`` facts used in kopf 1.45.2's
``tests/k8s/test_events.py`` (rewritten, not copied), run against ``opframe.kopf.hierarchies``.
"""

from __future__ import annotations

from opframe.kopf.hierarchies import build_object_reference

from ..hierarchies.children import owner


def test_object_reference_for_a_namespaced_object() -> None:
    assert build_object_reference(owner()) == {
        "apiVersion": "example.com/v1", "kind": "Parent", "name": "parent", "uid": "uid-parent",
        "namespace": "parent-ns",
    }


def test_object_reference_leaves_out_empty_fields() -> None:
    cluster_scoped = {"kind": "Node", "apiVersion": "", "metadata": {"name": "n1", "namespace": None}}
    assert build_object_reference(cluster_scoped) == {"kind": "Node", "name": "n1"}
    assert build_object_reference({}) == {}
