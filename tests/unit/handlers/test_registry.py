"""The handler registry (opframe.handlers.registry): make(), duplicates, lookups."""

from __future__ import annotations

import pytest

from opframe.handlers.filters import PRESENT
from opframe.handlers.handler import Kind
from opframe.handlers.registry import DuplicateHandlerError, Registry, make

RESOURCE = ("websites.example.com",)


def reconcile(**_: object) -> None:
    pass


def other(**_: object) -> None:
    pass


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
