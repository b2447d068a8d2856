"""Handlers (opframe.handlers.handler): handler ids, finalizer needs, kinds."""

from __future__ import annotations

import pytest

from opframe.handlers.handler import CHANGE_KINDS, Handler, Kind, handler_id
from opframe.handlers.registry import make

RESOURCE = ("websites.example.com",)


def reconcile(**_: object) -> None:
    pass


async def async_handler(**_: object) -> None:
    pass


# -- handler ids -------------------------------------------------------------------------------


def test_handler_id_is_the_function_name() -> None:
    assert handler_id(reconcile) == "reconcile"


@pytest.mark.parametrize("field", ["spec.replicas", ("spec", "replicas"), ["spec", "replicas"]],
                         ids=["dotted", "tuple", "list"])
def test_handler_id_of_a_field_handler_has_the_field_suffix(field: object) -> None:
    assert make(Kind.FIELD, reconcile, RESOURCE, field=field).id == "reconcile/spec.replicas"  # type: ignore[arg-type]


def test_handler_id_suffix_uses_the_parsed_path() -> None:
    assert handler_id(reconcile, ("spec", "template", "image")) == "reconcile/spec.template.image"


def test_explicit_id_overrides_the_function_name() -> None:
    assert handler_id(reconcile, explicit="mine") == "mine"


def test_explicit_id_keeps_the_field_suffix_as_in_kopf() -> None:
    assert make(Kind.FIELD, reconcile, RESOURCE, field="spec.replicas", id="mine").id == "mine/spec.replicas"


def test_ids_of_partials_wrappers_methods_and_lambdas_follow_kopf() -> None:
    import functools

    class Owner:
        def method(self) -> None:
            pass

    @functools.wraps(reconcile)
    def wrapper(**kwargs: object) -> None:
        pass

    def nested() -> None:
        pass

    assert handler_id(functools.partial(reconcile, x=1)) == "reconcile"
    assert handler_id(wrapper) == "reconcile"
    assert handler_id(Owner().method).endswith("Owner.method")
    assert handler_id(nested).endswith("<locals>.nested")  # kopf's __qualname__
    anonymous = lambda **_: None  # noqa: E731 - the case under test
    assert handler_id(anonymous) == f"lambda:{__file__}:{anonymous.__code__.co_firstlineno}"


def test_handler_id_of_a_nameless_callable_falls_back_to_its_repr() -> None:
    class Callable:
        def __call__(self) -> None:
            pass

        def __repr__(self) -> str:
            return "callable-object"

    assert handler_id(Callable()) == "callable-object"


# -- requires_finalizer --------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "optional", "expected"), [
    (Kind.DELETE, False, True),
    (Kind.DELETE, True, False),
    (Kind.TIMER, False, True),
    (Kind.TIMER, True, False),
    (Kind.DAEMON, False, True),
    (Kind.DAEMON, True, False),
    (Kind.CREATE, False, False),
    (Kind.UPDATE, False, False),
    (Kind.RESUME, False, False),
    (Kind.FIELD, False, False),
    (Kind.EVENT, False, False),
    (Kind.INDEX, False, False),
], ids=["delete", "optional-delete", "timer", "optional-timer", "daemon", "optional-daemon", "create", "update",
        "resume", "field", "event", "index"])
def test_requires_finalizer(kind: Kind, optional: bool, expected: bool) -> None:
    assert Handler(id="h", fn=reconcile, kind=kind, resource=RESOURCE, optional=optional).requires_finalizer is expected


# -- the handler record ------------------------------------------------------------------------


@pytest.mark.parametrize(("fn", "expected"), [(reconcile, False), (async_handler, True)], ids=["sync", "async"])
def test_is_async(fn: object, expected: bool) -> None:
    assert make(Kind.CREATE, fn, RESOURCE).is_async is expected  # type: ignore[arg-type]


def test_change_kinds_are_the_persisted_ones() -> None:
    assert {Kind.CREATE, Kind.UPDATE, Kind.DELETE, Kind.RESUME, Kind.FIELD} == CHANGE_KINDS
