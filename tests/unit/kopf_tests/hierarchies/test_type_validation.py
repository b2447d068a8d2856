"""kopf compatibility: objects the hierarchy helpers do not support.

Mirrors kopf 1.45.2's ``tests/hierarchies/test_type_validation.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from opframe.kopf.hierarchies import (
    adjust_namespace,
    adopt,
    append_owner_reference,
    harmonize_naming,
    label,
    remove_owner_reference,
)
from opframe.objects.bodies import Body

from .children import FakePykube, owner

# -- type validation -----------------------------------------------------------------------------

UNSUPPORTED_OBJECT: Any = object()


UNSUPPORTED = [
    pytest.param(object(), id="object"),
    pytest.param("a-string", id="str"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param(types.MappingProxyType({}), id="read-only-mapping"),
    pytest.param(FakePykube("not-a-dict"), id="pykube-without-dict"),  # type: ignore[arg-type]
]


WITH_AN_OBJECT: dict[str, Callable[[Any], None]] = {
    "append_owner_reference": lambda objs: append_owner_reference(objs, Body({})),
    "remove_owner_reference": lambda objs: remove_owner_reference(objs, Body({})),
    "harmonize_naming": lambda objs: harmonize_naming(objs, "x"),
    "adjust_namespace": lambda objs: adjust_namespace(objs, "x"),
    "label": lambda objs: label(objs, {}),
    "adopt": lambda objs: adopt(objs, owner()),
}


@pytest.mark.parametrize("obj", UNSUPPORTED)
@pytest.mark.parametrize("call", list(WITH_AN_OBJECT.values()), ids=list(WITH_AN_OBJECT))
def test_unsupported_objects_are_rejected(call: Callable[[Any], None], obj: Any) -> None:
    with pytest.raises(TypeError, match=r"K8s object class is not supported: <class '"):
        call(obj)


def test_objects_before_an_unsupported_one_are_already_changed() -> None:
    first: dict[str, Any] = {}
    with pytest.raises(TypeError):
        label([first, UNSUPPORTED_OBJECT], {"a": "b"})
    assert first == {"metadata": {"labels": {"a": "b"}}}


def test_none_and_empty_iterables_are_nothing_to_do() -> None:
    nothing: Any = None
    label([nothing, [], ()], {"a": "b"})
    adopt(nothing, owner())


def test_opframe_bodies_work_as_children_and_owners() -> None:
    child = Body({"kind": "ConfigMap", "metadata": {}})
    adopt(child, owner=owner())
    assert child.meta.namespace == "parent-ns" and child.meta.labels == {"team": "blue", "tier": "db"}


def test_the_module_does_not_import_the_client_libraries() -> None:
    code = "import sys, opframe.kopf.hierarchies; print(sorted({'kubernetes', 'pykube'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
