"""kopf compatibility: handler ids of callables.

Mirrors kopf 1.45.2's ``tests/registries/test_id_detection.py`` (rewritten, not copied), run against
``opframe.handlers.handler`` (``handler_id``, ``callable_id``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from opframe.handlers.handler import callable_id, handler_id
from opframe.handlers.registry import Registry, get_default_registry, set_default_registry


@pytest.fixture(autouse=True)
def registry() -> Iterator[Registry]:
    """A fresh default registry per test, as kopf's tests have (decorators without registry= use it)."""
    previous = get_default_registry()
    fresh = Registry()
    set_default_registry(fresh)
    yield fresh
    set_default_registry(previous)


# -- ids of callables (kopf: test_id_detection.py) -----------------------------------------------------

def some_fn() -> None:
    """Module-level, so that its qualified name is just its name."""


def test_the_id_of_a_function_is_its_name() -> None:
    assert callable_id(some_fn) == "some_fn"


def test_the_id_of_a_partial_is_its_function_s() -> None:
    assert callable_id(functools.partial(some_fn)) == "some_fn"


def test_the_id_of_a_partial_of_a_partial_is_the_innermost_function_s() -> None:
    assert callable_id(functools.partial(functools.partial(some_fn))) == "some_fn"


def test_the_id_of_a_wrapper_is_the_wrapped_function_s() -> None:
    @functools.wraps(some_fn)
    def wrapper() -> None:
        pass

    assert callable_id(wrapper) == "some_fn"


def test_the_id_of_a_wrapper_of_a_wrapper_is_the_innermost_function_s() -> None:
    @functools.wraps(some_fn)
    def inner() -> None:
        pass

    @functools.wraps(inner)
    def outer() -> None:
        pass

    assert callable_id(outer) == "some_fn"


def test_the_id_of_a_lambda_names_its_file_and_line() -> None:
    anonymous = lambda: None  # noqa: E731  (the case under test)
    assert callable_id(anonymous) == f"lambda:{__file__}:{anonymous.__code__.co_firstlineno}"


def test_a_handler_id_is_the_callable_id_with_the_field_as_suffix() -> None:
    assert handler_id(some_fn, ("spec", "field")) == "some_fn/spec.field"
    assert handler_id(functools.partial(some_fn), ("spec",)) == "some_fn/spec"


def test_an_explicit_handler_id_keeps_the_field_suffix() -> None:
    assert handler_id(some_fn, ("spec", "field"), "explicit") == "explicit/spec.field"
    assert handler_id(some_fn, (), "explicit") == "explicit"
