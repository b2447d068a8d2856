"""The decorators in opframe.on: what they register, and what they reject."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.filters import ABSENT, PRESENT, UNSET
from opframe.handlers.handler import Kind
from opframe.handlers.registry import DuplicateHandlerError, Registry
from opframe.on import selector

RESOURCE = "websites.example.com"


def fn(**_: Any) -> None:
    pass


def only(registry: Registry):  # type: ignore[no-untyped-def]
    [handler] = registry.handlers()
    return handler


@pytest.mark.parametrize(("decorator", "kind"), [
    (lambda r: on.create(RESOURCE, registry=r), Kind.CREATE),
    (lambda r: on.update(RESOURCE, registry=r), Kind.UPDATE),
    (lambda r: on.delete(RESOURCE, registry=r), Kind.DELETE),
    (lambda r: on.resume(RESOURCE, registry=r), Kind.RESUME),
    (lambda r: on.field(RESOURCE, field="spec.a", registry=r), Kind.FIELD),
    (lambda r: on.event(RESOURCE, registry=r), Kind.EVENT),
    (lambda r: on.timer(RESOURCE, interval=5, registry=r), Kind.TIMER),
    (lambda r: on.daemon(RESOURCE, registry=r), Kind.DAEMON),
    (lambda r: on.index(RESOURCE, registry=r), Kind.INDEX),
    (lambda r: on.startup(registry=r), Kind.STARTUP),
    (lambda r: on.cleanup(registry=r), Kind.CLEANUP),
    (lambda r: on.probe(registry=r), Kind.PROBE),
], ids=["create", "update", "delete", "resume", "field", "event", "timer", "daemon", "index", "startup", "cleanup",
        "probe"])
def test_decorator_registers_its_kind(decorator: Callable[[Registry], Callable[[Any], Any]], kind: Kind) -> None:
    registry = Registry()
    decorator(registry)(fn)
    assert only(registry).kind is kind


def test_decorator_returns_the_function_unchanged() -> None:
    assert on.create(RESOURCE, registry=Registry())(fn) is fn


def test_decorator_keeps_the_resource_names_as_written() -> None:
    registry = Registry()
    on.create("example.com", "v1", "websites", registry=registry)(fn)
    assert only(registry).resource == ("example.com", "v1", "websites")


def test_lifecycle_handlers_have_no_resource() -> None:
    registry = Registry()
    on.startup(registry=registry)(fn)
    assert only(registry).resource == ()


@pytest.mark.parametrize(("decorator", "options"), [
    (on.create, {}), (on.update, {}), (on.delete, {}), (on.resume, {}), (on.field, {"field": "spec"}),
    (on.event, {}), (on.timer, {"interval": 1}), (on.daemon, {}), (on.index, {}),
], ids=["create", "update", "delete", "resume", "field", "event", "timer", "daemon", "index"])
def test_decorator_without_a_resource_is_rejected(decorator: Callable[..., Any], options: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="needs a resource"):
        decorator(registry=Registry(), **options)


@pytest.mark.parametrize("interval", [0, 0.0, -1], ids=["zero", "zero-float", "negative"])
def test_timer_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        on.timer(RESOURCE, interval=interval, registry=Registry())


def test_rejected_decorator_registers_nothing() -> None:
    registry = Registry()
    with pytest.raises(ValueError):
        on.timer(RESOURCE, interval=0, registry=registry)
    assert len(registry) == 0


def test_timer_options_are_kept() -> None:
    registry = Registry()
    on.timer(RESOURCE, interval=10, initial_delay=2, idle=30, registry=registry)(fn)
    handler = only(registry)
    assert (handler.interval, handler.initial_delay, handler.idle) == (10, 2, 30)


def test_daemon_options_are_kept() -> None:
    registry = Registry()
    on.daemon(RESOURCE, initial_delay=1, cancellation_timeout=5, registry=registry)(fn)
    handler = only(registry)
    assert (handler.initial_delay, handler.cancellation_timeout) == (1, 5)


# -- ids -------------------------------------------------------------------------------------------


def test_decorated_handler_id_is_the_function_name() -> None:
    registry = Registry()
    on.create(RESOURCE, registry=registry)(fn)
    assert only(registry).id == "fn"


def test_field_handler_id_has_the_field_suffix() -> None:
    registry = Registry()
    on.field(RESOURCE, field="spec.replicas", registry=registry)(fn)
    assert (only(registry).id, only(registry).field) == ("fn/spec.replicas", ("spec", "replicas"))


def test_update_with_field_has_the_field_suffix() -> None:
    registry = Registry()
    on.update(RESOURCE, field=["spec", "replicas"], registry=registry)(fn)
    assert only(registry).id == "fn/spec.replicas"


def test_explicit_id() -> None:
    registry = Registry()
    on.field(RESOURCE, field="spec.replicas", id="scale", registry=registry)(fn)
    assert only(registry).id == "scale/spec.replicas"  # kopf keeps the field suffix after an explicit id


def test_decorating_two_functions_with_the_same_id_is_an_error() -> None:
    registry = Registry()
    on.create(RESOURCE, registry=registry)(fn)
    with pytest.raises(DuplicateHandlerError):
        on.create(RESOURCE, id="fn", registry=registry)(lambda **_: None)


def test_decorating_the_same_function_twice_keeps_it_once() -> None:
    registry = Registry()
    on.create(RESOURCE, registry=registry)(fn)
    on.create(RESOURCE, registry=registry)(fn)
    assert len(registry) == 1


def test_one_function_for_create_and_update() -> None:
    registry = Registry()
    on.update(RESOURCE, registry=registry)(on.create(RESOURCE, registry=registry)(fn))
    assert [h.kind for h in registry.handlers()] == [Kind.CREATE, Kind.UPDATE]


# -- filters and options ---------------------------------------------------------------------------


def test_filters_are_kept() -> None:
    registry = Registry()

    def when(**_: Any) -> bool:
        return True

    on.update(RESOURCE, labels={"app": "web", "x": ABSENT}, annotations={"a": PRESENT}, when=when,
              field="spec.a", old=1, new=2, registry=registry)(fn)
    handler = only(registry)
    assert (handler.labels, handler.annotations, handler.when) == ({"app": "web", "x": ABSENT}, {"a": PRESENT}, when)
    assert (handler.value, handler.old, handler.new) == (UNSET, 1, 2)
    on.create(RESOURCE, field="spec.a", value=PRESENT, registry=registry)(fn)
    assert registry.handlers()[-1].value is PRESENT


@pytest.mark.parametrize(("options", "error"), [
    ({"value": 1}, "need field="), ({"field": "spec.a", "value": 1, "old": 2}, "both value= and old="),
    ({"labels": {"a": None}}, "use opframe.ABSENT"),
], ids=["value-without-field", "value-and-old", "none-label"])
def test_kopfs_decoration_checks(options: dict[str, Any], error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        on.update(RESOURCE, registry=Registry(), **options)(fn)


def test_no_value_filters_are_unset() -> None:
    registry = Registry()
    on.field(RESOURCE, field="spec.a", registry=registry)(fn)
    handler = only(registry)
    assert handler.value is UNSET and handler.old is UNSET and handler.new is UNSET


def test_none_means_no_value_filter_as_in_kopf() -> None:
    registry = Registry()
    on.field(RESOURCE, field="spec.a", new=None, registry=registry)(fn)
    assert only(registry).new is UNSET


def test_retry_options_are_kept() -> None:
    registry = Registry()
    on.create(RESOURCE, retries=3, timeout=60, backoff=5, param={"p": 1}, registry=registry)(fn)
    handler = only(registry)
    assert (handler.retries, handler.timeout, handler.backoff, handler.param) == (3, 60, 5, {"p": 1})


@pytest.mark.parametrize(("decorator", "requires"), [
    (lambda r: on.delete(RESOURCE, registry=r), True),
    (lambda r: on.delete(RESOURCE, optional=True, registry=r), False),
    (lambda r: on.timer(RESOURCE, interval=1, registry=r), True),
    (lambda r: on.timer(RESOURCE, interval=1, optional=True, registry=r), False),
    (lambda r: on.daemon(RESOURCE, registry=r), True),
    (lambda r: on.daemon(RESOURCE, optional=True, registry=r), False),
    (lambda r: on.create(RESOURCE, registry=r), False),
], ids=["delete", "optional-delete", "timer", "optional-timer", "daemon", "optional-daemon", "create"])
def test_decorated_handler_requires_finalizer(decorator: Callable[[Registry], Callable[[Any], Any]],
                                              requires: bool) -> None:
    registry = Registry()
    decorator(registry)(fn)
    assert only(registry).requires_finalizer is requires


def test_public_api_exports_the_decorators() -> None:
    import opframe

    assert (opframe.timer, opframe.daemon, opframe.index) == (on.timer, on.daemon, on.index)


def test_an_empty_registry_given_is_used_not_the_default() -> None:
    from opframe.handlers import registry as registries

    registry = Registry()
    before = len(registries.get_default_registry())
    on.create(RESOURCE, registry=registry)(fn)
    assert (len(registry), len(registries.get_default_registry())) == (1, before)


@pytest.mark.parametrize(("decorator", "options", "default"), [
    (on.create, {}, False), (on.delete, {}, True), (on.delete, {"optional": True}, False),
    (on.timer, {"interval": 1}, True), (on.daemon, {}, True)], ids=["create", "delete", "optional-delete",
                                                                    "timer", "daemon"])
def test_requires_finalizer_overrides_the_kinds_rule(decorator: Callable[..., Any], options: dict[str, Any],
                                                    default: bool) -> None:
    registry = Registry()
    decorator(RESOURCE, registry=registry, **options)(fn)
    decorator(RESOURCE, id="forced", requires_finalizer=not default, registry=registry, **options)(fn)
    assert [h.requires_finalizer for h in registry.handlers()] == [default, not default]


# -- kopf's resource selectors ----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "kwargs", "names"), [
    (("pods",), {}, ("pods",)),
    (("websites.example.com",), {}, ("websites.example.com",)),
    (("v1", "pods"), {}, ("", "v1", "pods")),
    (("pods.v1",), {}, ("", "v1", "pods")),
    (("deployments.v1.apps",), {}, ("apps", "v1", "deployments")),
    (("apps/v1", "deployments"), {}, ("apps/v1", "deployments")),
    (("example.com", "websites"), {}, ("example.com", "websites")),
    (("example.com", "v1", "websites"), {}, ("example.com", "v1", "websites")),
    ((), {"plural": "pods"}, ("pods",)),
    ((), {"kind": "Pod", "group": ""}, ("", "v1", "Pod")),
    ((), {"group": "kopf.dev", "version": "v1", "plural": "kopfexamples"}, ("kopf.dev", "v1", "kopfexamples")),
    ((), {"shortcut": "kex", "group": "kopf.dev"}, ("kopf.dev", "kex")),
    (("kopfexamples",), {"group": "kopf.dev", "version": "v1"}, ("kopf.dev", "v1", "kopfexamples")),
])
def test_kopfs_resource_selectors(args: tuple[str, ...], kwargs: dict[str, Any], names: tuple[str, ...]) -> None:
    assert selector(args, **kwargs) == names


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((opframe.EVERYTHING,), {}, "EVERYTHING"),
    ((lambda resource: True,), {}, "callable resource selector"),
    ((), {"category": "all"}, "category="),
    (("pods",), {"kind": "Pod"}, "ambiguous"),
    ((), {"kind": "Pod", "plural": "pods"}, "ambiguous"),
    ((), {}, "needs a resource"),
    (("a", "b", "c", "d"), {}, "at most 3"),
])
def test_selectors_opframe_cannot_serve_are_refused_with_what_to_write(
        args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        selector(args, **kwargs)
