"""kopf compatibility: sub-handler ids.

Mirrors kopf 1.45.2's ``tests/registries/test_subhandlers_ids.py`` (rewritten, not copied), run against
``opframe.handlers.subhandlers``.

Left out, as opframe behaves differently (see the report of this port): sub-handler ids
without the ``/field`` suffix.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import opframe
from opframe.handlers import subhandlers
from opframe.handlers.registry import Registry, get_default_registry, set_default_registry


@pytest.fixture(autouse=True)
def registry() -> Iterator[Registry]:
    """A fresh default registry per test, as kopf's tests have (decorators without registry= use it)."""
    previous = get_default_registry()
    fresh = Registry()
    set_default_registry(fresh)
    yield fresh
    set_default_registry(previous)


# -- sub-handlers ------------------------------------------------------------------------------------

def declaring(parent_id: str, body: Callable[[], Any]) -> subhandlers.Subhandlers:
    """Run ``body`` as if inside the parent handler ``parent_id``; what it declared."""
    declared = subhandlers.Subhandlers(parent_id)

    def inside() -> None:
        subhandlers.current.set(declared)
        body()

    contextvars.copy_context().run(inside)
    return declared


# -- sub-handler ids (kopf: test_subhandlers_ids.py) -------------------------------------------------

def child_fn(**_: Any) -> None:
    """Module-level, so that its qualified name is just its name."""


def test_a_subhandler_id_is_prefixed_with_its_parent_id() -> None:
    declared = declaring("parent_fn", lambda: opframe.subhandler()(child_fn))
    [child] = declared.declared
    assert child.fn is child_fn
    assert declared.full_id(child) == "parent_fn/child_fn"


def test_an_explicit_subhandler_id_is_prefixed_with_its_parent_id() -> None:
    declared = declaring("parent_fn", lambda: opframe.register(child_fn, id="task-1"))
    [child] = declared.declared
    assert declared.full_id(child) == "parent_fn/task-1"
