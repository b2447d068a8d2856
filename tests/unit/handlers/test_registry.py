"""The handler registry: handler ids, duplicates, finalizer needs, lookups."""

from __future__ import annotations

import pytest

from opframe.handlers.filters import PRESENT
from opframe.handlers.handler import CHANGE_KINDS, Handler, Kind, handler_id
from opframe.handlers.registry import DuplicateHandlerError, Registry, make

RESOURCE = ("websites.example.com",)


def reconcile(**_: object) -> None:
    pass


def other(**_: object) -> None:
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


# -- duplicates ----------------------------------------------------------------------------------


def test_two_functions_with_one_id_resource_and_kind_are_an_error() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    with pytest.raises(DuplicateHandlerError, match="'reconcile' is declared twice"):
        registry.add(make(Kind.CREATE, other, RESOURCE, id="reconcile"))


def test_the_same_function_declared_again_is_kept_once_as_kopf_does() -> None:
    """A module executed twice (imported by a test, then loaded by the CLI) declares it again."""
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    namespace: dict[str, object] = {}
    exec(compile("\n" * (reconcile.__code__.co_firstlineno - 1) + "def reconcile(**_): pass",
                 reconcile.__code__.co_filename, "exec"), namespace)
    registry.add(make(Kind.CREATE, namespace["reconcile"], RESOURCE))  # type: ignore[arg-type]
    assert len(registry) == 1


def test_duplicate_error_is_a_value_error() -> None:
    assert issubclass(DuplicateHandlerError, ValueError)


def test_duplicate_is_not_added() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    with pytest.raises(DuplicateHandlerError):
        registry.add(make(Kind.CREATE, other, RESOURCE, id="reconcile"))
    assert len(registry) == 1


def test_explicit_id_resolves_a_duplicate() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    registry.add(make(Kind.CREATE, reconcile, RESOURCE, id="reconcile-again"))
    assert [h.id for h in registry.handlers()] == ["reconcile", "reconcile-again"]


def test_same_id_for_another_kind_is_allowed() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    registry.add(make(Kind.UPDATE, reconcile, RESOURCE))
    assert len(registry) == 2


def test_same_id_for_another_resource_is_allowed() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    registry.add(make(Kind.CREATE, reconcile, ("configmaps",)))
    assert len(registry) == 2


def test_same_function_on_two_fields_gets_two_ids() -> None:
    registry = Registry()
    registry.add(make(Kind.FIELD, reconcile, RESOURCE, field="spec.a"))
    registry.add(make(Kind.FIELD, reconcile, RESOURCE, field="spec.b"))
    assert [h.id for h in registry.handlers()] == ["reconcile/spec.a", "reconcile/spec.b"]


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


# -- lookups and the handler record ------------------------------------------------------------


def test_handlers_filters_by_kind() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    registry.add(make(Kind.UPDATE, reconcile, RESOURCE))
    registry.add(make(Kind.DELETE, other, RESOURCE))
    assert [(h.id, h.kind) for h in registry.handlers(Kind.UPDATE, Kind.DELETE)] == [
        ("reconcile", Kind.UPDATE), ("other", Kind.DELETE)]


def test_handlers_without_kinds_lists_all_in_declaration_order() -> None:
    registry = Registry()
    registry.add(make(Kind.UPDATE, other, RESOURCE))
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    assert [h.id for h in registry.handlers()] == ["other", "reconcile"]


def test_resources_in_declaration_order_without_repeats_or_empties() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, ("b",)))
    registry.add(make(Kind.STARTUP, reconcile, ()))
    registry.add(make(Kind.CREATE, reconcile, ("a",)))
    registry.add(make(Kind.UPDATE, reconcile, ("b",)))
    assert registry.resources() == [("b",), ("a",)]


def test_clear_empties_the_registry() -> None:
    registry = Registry()
    registry.add(make(Kind.CREATE, reconcile, RESOURCE))
    registry.clear()
    assert len(registry) == 0
    assert registry.handlers() == []


def test_make_copies_labels_and_annotations() -> None:
    labels = {"app": "web"}
    handler = make(Kind.CREATE, reconcile, RESOURCE, labels=labels, annotations={"a": PRESENT})
    labels["app"] = "changed"
    assert handler.labels == {"app": "web"}
    assert handler.annotations == {"a": PRESENT}


@pytest.mark.parametrize("empty", [None, {}], ids=["none", "empty-dict"])
def test_make_turns_no_or_empty_label_filter_into_none(empty: dict[str, str] | None) -> None:
    assert make(Kind.CREATE, reconcile, RESOURCE, labels=empty).labels is None


def test_make_passes_options_through() -> None:
    handler = make(Kind.UPDATE, reconcile, RESOURCE, retries=3, timeout=10.0, param="p")
    assert (handler.retries, handler.timeout, handler.param) == (3, 10.0, "p")


@pytest.mark.parametrize(("fn", "expected"), [(reconcile, False), (async_handler, True)], ids=["sync", "async"])
def test_is_async(fn: object, expected: bool) -> None:
    assert make(Kind.CREATE, fn, RESOURCE).is_async is expected  # type: ignore[arg-type]


def test_change_kinds_are_the_persisted_ones() -> None:
    assert {Kind.CREATE, Kind.UPDATE, Kind.DELETE, Kind.RESUME, Kind.FIELD} == CHANGE_KINDS
