"""The decorators operator authors use: ``@on.create(...)``, ``@on.update(...)`` and the rest.

Names, arguments and handler keyword arguments follow kopf, so that a kopf operator
ports by changing its import. A resource is named as the API layer resolves it:
plural, singular, kind, short name, ``plural.group``, or ``(group, version, plural)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opframe.handlers.filters import UNSET
from opframe.handlers.registry import Kind, Registry, default_registry, make

F = TypeVar("F", bound=Callable[..., Any])


def _register(kind: Kind, resource: tuple[str, ...], registry: Registry | None, **options: Any) -> Callable[[F], F]:
    if kind not in (Kind.STARTUP, Kind.CLEANUP, Kind.PROBE) and not resource:
        raise TypeError(f"on.{kind.value}() needs a resource, e.g. on.{kind.value}('websites.example.com')")

    def decorator(fn: F) -> F:
        (registry if registry is not None else default_registry).add(make(kind, fn, resource, **options))
        return fn

    return decorator


def _common(id: str | None, labels: Mapping[str, Any] | None, annotations: Mapping[str, Any] | None,
            when: Callable[..., bool] | None, field: Any, value: Any, param: Any) -> dict[str, Any]:
    return {"id": id, "labels": labels, "annotations": annotations, "when": when, "field": field,
            "value": value, "param": param}


def create(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           field: Any = None, value: Any = UNSET, retries: int | None = None, timeout: float | None = None,
           backoff: Any = None, param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run when an object is first seen without a diff-base (created, or created while we were away)."""
    return _register(Kind.CREATE, resource, registry, retries=retries, timeout=timeout, backoff=backoff,
                     **_common(id, labels, annotations, when, field, value, param))


def update(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           field: Any = None, value: Any = UNSET, old: Any = UNSET, new: Any = UNSET,
           retries: int | None = None, timeout: float | None = None, backoff: Any = None, param: Any = None,
           registry: Registry | None = None) -> Callable[[F], F]:
    """Run when the object's essence changed since it was last handled (with old, new, diff)."""
    return _register(Kind.UPDATE, resource, registry, retries=retries, timeout=timeout, backoff=backoff,
                     old=old, new=new, **_common(id, labels, annotations, when, field, value, param))


def delete(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           optional: bool = False, retries: int | None = None, timeout: float | None = None,
           backoff: Any = None, param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run when the object is being deleted. Unless ``optional``, a finalizer holds the object
    until the handler succeeded."""
    return _register(Kind.DELETE, resource, registry, optional=optional, retries=retries, timeout=timeout,
                     backoff=backoff, **_common(id, labels, annotations, when, None, UNSET, param))


def resume(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           retries: int | None = None, timeout: float | None = None, backoff: Any = None, param: Any = None,
           registry: Registry | None = None) -> Callable[[F], F]:
    """Run for objects that exist, unchanged, when the operator starts."""
    return _register(Kind.RESUME, resource, registry, retries=retries, timeout=timeout, backoff=backoff,
                     **_common(id, labels, annotations, when, None, UNSET, param))


def field(*resource: str, field: Any, id: str | None = None, labels: Mapping[str, Any] | None = None,
          annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
          value: Any = UNSET, old: Any = UNSET, new: Any = UNSET, retries: int | None = None,
          timeout: float | None = None, backoff: Any = None, param: Any = None,
          registry: Registry | None = None) -> Callable[[F], F]:
    """Run when one field changes (on creation too); old, new and diff are the field's own."""
    return _register(Kind.FIELD, resource, registry, retries=retries, timeout=timeout, backoff=backoff,
                     old=old, new=new, **_common(id, labels, annotations, when, field, value, param))


def event(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
          annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
          param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run for every watch event (ADDED, MODIFIED, DELETED); never retried, errors are logged."""
    return _register(Kind.EVENT, resource, registry, **_common(id, labels, annotations, when, None, UNSET, param))


def startup(*, id: str | None = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run once when the operator starts, before any watch."""
    return _register(Kind.STARTUP, (), registry, id=id)


def cleanup(*, id: str | None = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run once when the operator stops, after the workers finished."""
    return _register(Kind.CLEANUP, (), registry, id=id)


def probe(*, id: str | None = None, registry: Registry | None = None) -> Callable[[F], F]:
    """A health probe whose result is reported by the health endpoint."""
    return _register(Kind.PROBE, (), registry, id=id)


def timer(*resource: str, interval: float, initial_delay: float = 0.0, idle: float | None = None,
          id: str | None = None, labels: Mapping[str, Any] | None = None,
          annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
          optional: bool = False, param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run every ``interval`` seconds per object, after ``initial_delay``; with ``idle``, only once
    the object has not changed for that long. Scheduled through the delaying queue."""
    if interval <= 0:
        raise ValueError("a timer's interval must be > 0")
    return _register(Kind.TIMER, resource, registry, interval=interval, initial_delay=initial_delay, idle=idle,
                     optional=optional, **_common(id, labels, annotations, when, None, UNSET, param))


def daemon(*resource: str, initial_delay: float = 0.0, cancellation_timeout: float | None = None,
           id: str | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           optional: bool = False, param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Run a long-lived function per object; ``stopped`` turns true on deletion, when the
    object stops matching the filters, and at shutdown."""
    return _register(Kind.DAEMON, resource, registry, initial_delay=initial_delay,
                     cancellation_timeout=cancellation_timeout, optional=optional,
                     **_common(id, labels, annotations, when, None, UNSET, param))


def index(*resource: str, id: str | None = None, labels: Mapping[str, Any] | None = None,
          annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
          param: Any = None, registry: Registry | None = None) -> Callable[[F], F]:
    """Declare an index over the kind's cache, passed to handlers as a keyword argument named by its id."""
    return _register(Kind.INDEX, resource, registry, **_common(id, labels, annotations, when, None, UNSET, param))
