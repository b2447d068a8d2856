"""kopf compatibility: adjust_namespace().

Mirrors kopf 1.45.2's ``tests/hierarchies/test_namespace_adjusting.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes.client as k8s
import pytest

from opframe.kopf.hierarchies import adjust_namespace

from .children import ANY_FORCED, make, meta_of

# -- adjust_namespace ----------------------------------------------------------------------------


@pytest.mark.parametrize(("forcedness", "expected"), [
    pytest.param({"forced": True}, "given", id="forced"),
    pytest.param({"forced": False}, "own", id="not-forced"),
    pytest.param({}, "own", id="forced-default"),
])
def test_existing_namespaces_are_overwritten_only_when_forced(
    flavour: str, forcedness: dict[str, Any], expected: str,
) -> None:
    child = make(flavour, {"namespace": "own"})
    adjust_namespace(child, namespace="given", **forcedness)
    assert meta_of(child)["namespace"] == expected


@pytest.mark.parametrize("forcedness", ANY_FORCED)
@pytest.mark.parametrize("meta", [pytest.param(None, id="no-metadata"), pytest.param({}, id="empty-metadata"),
                                  pytest.param({"namespace": None}, id="none-namespace")])
def test_objects_without_a_namespace_get_one_in_any_forced_mode(
    flavour: str, meta: dict[str, Any] | None, forcedness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    adjust_namespace(child, namespace="given", **forcedness)
    assert meta_of(child)["namespace"] == "given"


def test_namespacing_many_objects(container: Callable[[list[Any]], Any]) -> None:
    children: list[dict[str, Any]] = [{}, {"metadata": {"namespace": "own"}}]
    adjust_namespace(container(children), namespace="given")
    assert [child["metadata"]["namespace"] for child in children] == ["given", "own"]


def test_an_explicit_none_namespace_is_written_as_such() -> None:
    child: dict[str, Any] = {}
    adjust_namespace(child, namespace=None)
    assert child == {"metadata": {"namespace": None}}
    pod: Any = k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="own"))
    adjust_namespace(pod, namespace=None, forced=True)
    assert pod.metadata.namespace is None
