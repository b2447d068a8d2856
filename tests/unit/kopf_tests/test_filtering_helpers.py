"""kopf compatibility: the combinators of filter callbacks.

Mirrors kopf 1.45.2's ``tests/test_filtering_helpers.py`` (rewritten, not copied), run against
``opframe.not_``, ``all_``, ``any_`` and ``none_`` (the machinery of the registries'
matching tests is in registries/helpers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.filters import all_, any_, none_, not_

from .registries.declarations import _always, _never, declare, obj, passes

# -- combinators of callbacks (kopf: tests/test_filtering_helpers.py) ---------------------------------

def _never2(*_: Any, **__: Any) -> bool:
    return False


def _always2(*_: Any, **__: Any) -> bool:
    return True


def test_the_combinators_are_exported_as_in_kopf() -> None:
    assert (opframe.not_, opframe.all_, opframe.any_, opframe.none_) == (not_, all_, any_, none_)


@pytest.mark.parametrize(("fn", "expected"), [(_always, False), (_never, True)], ids=["when-true", "when-false"])
def test_not(fn: Callable[..., bool], expected: bool) -> None:
    assert not_(fn)() is expected


COMBINATIONS = pytest.mark.parametrize(("fns", "all_expected", "any_expected", "none_expected"), [
    ([_always, _always2], True, True, False),
    ([_always, _never], False, True, False),
    ([_never, _never2], False, False, True),
    ([], True, False, True),
], ids=["all-true", "one-false", "all-false", "no-functions"])


@COMBINATIONS
def test_all(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert all_(fns)() is all_expected


@COMBINATIONS
def test_any(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert any_(fns)() is any_expected


@COMBINATIONS
def test_none(fns: list[Callable[..., bool]], all_expected: bool, any_expected: bool, none_expected: bool) -> None:
    assert none_(fns)() is none_expected


def test_combinators_pass_the_arguments_through() -> None:
    def is_web(value: Any, **_: Any) -> bool:
        return bool(value == "web")

    def named(*, name: str, **_: Any) -> bool:
        return name == "name1"

    assert all_([is_web, not_(_never)])("web", name="x")
    assert not any_([is_web])("db")
    assert not_(named)(name="other")


def test_combinators_as_filters_of_a_handler() -> None:
    def is_known(value: Any, **_: Any) -> bool:
        return bool(value == "value")

    def in_ns(*, namespace: str, **_: Any) -> bool:
        return namespace == "ns"

    body = obj(labels={"known": "value"})
    assert passes(declare(on.event, labels={"known": all_([is_known, _always])}, when=any_([_never, in_ns])), body)
    assert not passes(declare(on.event, labels={"known": not_(is_known)}), body)
    assert not passes(declare(on.event, when=none_([in_ns])), body)
