"""The decorators operator authors use: ``@on.create(...)``, ``@on.update(...)`` and the rest.

Names, options and handler keyword arguments are kopf's (1.45), so that a kopf operator
ports by changing its import; opframe's extras (``optional=`` on timers and daemons) clash
with nothing of kopf's. A resource is named as kopf names it:

* positionally: ``'pods'``, ``'websites.example.com'``, ``'pods.v1'``, ``('v1', 'pods')``,
  ``('apps/v1', 'deployments')``, ``('example.com', 'websites')``,
  ``('example.com', 'v1', 'websites')``;
* or by keywords: ``group=``, ``version=`` and one of ``kind=``, ``plural=``, ``singular=``,
  ``shortcut=``.

The result is the tuple of names the API layer's discovery resolves at start-up, so a
typo is a start-up error naming the close matches, not a silent no-op. ``EVERYTHING``,
callable selectors and ``category=`` (serving many kinds from one decorator) are refused
at decoration with the alternative named.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from opframe.handlers.filters import UNSET, Marker
from opframe.handlers.handler import Kind, Webhook
from opframe.handlers.registry import Registry, get_default_registry, make
from opframe.handlers.retries import ErrorsMode
from opframe.handlers.subhandlers import register, subhandler
from opframe.models.resource import CustomResource

__all__ = ["cleanup", "create", "daemon", "delete", "event", "field", "index", "login", "mutate", "probe",
           "register", "resume", "startup", "subhandler", "timer", "update", "validate"]

F = TypeVar("F", bound=Callable[..., Any])

#: kopf's test for a core API version given in place of a group: ``('v1', 'pods')``.
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d+)?")
#: kopf's ``name.version[.group]`` form, e.g. ``pods.v1`` or ``deployments.v1.apps``.
_NAME_VERSION_GROUP = re.compile(r"[^.]*\.v\d+(?:(?:alpha|beta)\d+)?(?:\..*)?")


def selector(resource: tuple[Any, ...], *, group: str | None = None, version: str | None = None,
             kind: str | None = None, plural: str | None = None, singular: str | None = None,
             shortcut: str | None = None, category: str | None = None) -> tuple[str, ...]:
    """The names of one resource as discovery resolves them, from kopf's ways of naming it.

    A CustomResource class names its own resource (``on.create(Website)``).

    Invariant: the result is 1 to 3 strings where only a group may be empty; anything
    that names several resources or none is a TypeError saying what to write instead.
    """
    if len(resource) > 3:
        raise TypeError(f"a resource is named by at most 3 positional names, got {resource!r}")
    if any(isinstance(part, Marker) for part in resource):
        raise TypeError("EVERYTHING (serving every resource) is not supported by opframe; name each resource in "
                        "its own decorator")
    if len(resource) == 1 and isinstance(resource[0], type) and issubclass(resource[0], CustomResource):
        declared = resource[0].declaration  # a resource declared as a model: its group, version, plural
        return (declared.group, declared.version, declared.plural)
    if resource and callable(resource[0]):
        raise TypeError("a callable resource selector is not supported by opframe; name the resource, e.g. "
                        "on.create('example.com', 'v1', 'websites')")
    if category is not None:
        raise TypeError(f"category={category!r} (serving every resource of a category) is not supported by "
                        "opframe; name each resource in its own decorator")
    names = [n for n in (kind, plural, singular, shortcut) if n is not None]
    if resource and names:
        raise TypeError(f"ambiguous resource: positional {resource!r} and {names!r}; give one of them")
    if len(names) > 1:
        raise TypeError(f"ambiguous resource: {names!r}; give one of kind=, plural=, singular=, shortcut=")
    if any(n == "" for n in (*names, *resource[-1:])):
        raise TypeError("resource names must not be empty strings")
    if names:
        return _qualified(group, version, names[0])
    if not resource:
        raise TypeError("a resource handler needs a resource, e.g. on.create('websites.example.com') or "
                        "on.create(plural='pods')")
    parts = tuple(str(p) for p in resource)
    if group is not None or version is not None:
        if len(parts) > 1:
            raise TypeError(f"ambiguous resource: positional {parts!r} with group=/version=")
        return _qualified(group, version, parts[0])
    if len(parts) == 1 and _NAME_VERSION_GROUP.fullmatch(parts[0]):
        name, found_version, *rest = parts[0].split(".", 2)
        return (rest[0] if rest else "", found_version, name)
    if len(parts) == 2 and _VERSION.fullmatch(parts[0]):
        return ("", parts[0], parts[1])
    return parts


def _qualified(group: str | None, version: str | None, name: str) -> tuple[str, ...]:
    if version is not None:
        return (group or "", version, name)
    if group:
        return (group, name)
    if group == "":
        return ("", "v1", name)
    return (name,)


def _register(kind: Kind, resource: tuple[str, ...], registry: Registry | None, **options: Any) -> Callable[[F], F]:
    def decorator(fn: F) -> F:
        (registry if registry is not None else get_default_registry()).add(make(kind, fn, resource, **options))
        return fn

    return decorator


def _resource(resource: tuple[Any, ...], names: dict[str, str | None]) -> tuple[str, ...]:
    return selector(resource, **names)


# -- activities ---------------------------------------------------------------------------------

def startup(*, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
            timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
            registry: Registry | None = None) -> Callable[[F], F]:
    """Run once when the operator starts, before any watch; retried until it succeeds (kopf's rule)."""
    return _register(Kind.STARTUP, (), registry, id=id, param=param, errors=errors, timeout=timeout,
                     retries=retries, backoff=backoff)


def cleanup(*, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
            timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
            registry: Registry | None = None) -> Callable[[F], F]:
    """Run once when the operator stops, after the workers finished."""
    return _register(Kind.CLEANUP, (), registry, id=id, param=param, errors=errors, timeout=timeout,
                     retries=retries, backoff=backoff)


def login(*, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
          timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
          registry: Registry | None = None) -> Callable[[F], F]:
    """Return a ConnectionInfo (or None) the operator connects with; without one, the kubeconfig is used."""
    return _register(Kind.LOGIN, (), registry, id=id, param=param, errors=errors, timeout=timeout,
                     retries=retries, backoff=backoff)


def probe(*, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
          timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
          registry: Registry | None = None) -> Callable[[F], F]:
    """A health probe whose result is reported by the health endpoints."""
    return _register(Kind.PROBE, (), registry, id=id, param=param, errors=errors, timeout=timeout,
                     retries=retries, backoff=backoff)


# -- changes of objects ---------------------------------------------------------------------------

def resume(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
           timeout: float | None = None, retries: int | None = None, backoff: Any = None,
           deleted: bool | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           field: Any = None, value: Any = UNSET, registry: Registry | None = None,
           requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run for objects that exist when the operator starts (not for objects being deleted unless ``deleted``)."""
    return _register(Kind.RESUME, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     deleted=bool(deleted), labels=labels, annotations=annotations, when=when, field=field,
                     value=value, requires_finalizer=requires_finalizer)


def create(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
           timeout: float | None = None, retries: int | None = None, backoff: Any = None,
           labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
           when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
           registry: Registry | None = None,
           requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run when an object is first seen without a diff-base (created, or created while we were away)."""
    return _register(Kind.CREATE, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     labels=labels, annotations=annotations, when=when, field=field, value=value,
                     requires_finalizer=requires_finalizer)


def update(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
           timeout: float | None = None, retries: int | None = None, backoff: Any = None,
           labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
           when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET, old: Any = UNSET,
           new: Any = UNSET, registry: Registry | None = None,
           requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run when the object's essence changed since it was last handled (with old, new, diff)."""
    return _register(Kind.UPDATE, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     labels=labels, annotations=annotations, when=when, field=field, value=value, old=old, new=new,
                     requires_finalizer=requires_finalizer)


def delete(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
           timeout: float | None = None, retries: int | None = None, backoff: Any = None,
           optional: bool | None = None, labels: Mapping[str, Any] | None = None,
           annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
           field: Any = None, value: Any = UNSET, registry: Registry | None = None,
           requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run when the object is being deleted. Unless ``optional``, a finalizer holds the object
    until the handler succeeded."""
    return _register(Kind.DELETE, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     optional=bool(optional), labels=labels, annotations=annotations, when=when, field=field,
                     value=value, requires_finalizer=requires_finalizer)


def field(*resource: str, field: Any, group: str | None = None, version: str | None = None, kind: str | None = None,
          plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
          category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
          timeout: float | None = None, retries: int | None = None, backoff: Any = None,
          labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
          when: Callable[..., bool] | None = None, value: Any = UNSET, old: Any = UNSET, new: Any = UNSET,
          registry: Registry | None = None,
          requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run when one field changes (on creation too); old, new and diff are the field's own."""
    return _register(Kind.FIELD, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                          singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     labels=labels, annotations=annotations, when=when, field=field, value=value, old=old, new=new,
                     requires_finalizer=requires_finalizer)


# -- watching, indexing, spawning -------------------------------------------------------------------

def event(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
          plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
          category: str | None = None, id: str | None = None, param: Any = None,
          labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
          when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
          registry: Registry | None = None,
          requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run for every watch event (type None for the initial listing, then ADDED, MODIFIED, DELETED);
    never retried, errors are logged (kopf's IGNORED)."""
    return _register(Kind.EVENT, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                          singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=ErrorsMode.IGNORED, labels=labels, annotations=annotations,
                     when=when, field=field, value=value, requires_finalizer=requires_finalizer)


def index(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
          plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
          category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
          timeout: float | None = None, retries: int | None = None, backoff: Any = None,
          labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
          when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
          registry: Registry | None = None,
          requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Declare an index over the kind's cache, passed to every handler as a keyword argument named by its id."""
    return _register(Kind.INDEX, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                          singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     labels=labels, annotations=annotations, when=when, field=field, value=value,
                     requires_finalizer=requires_finalizer)


def daemon(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
           timeout: float | None = None, retries: int | None = None, backoff: Any = None,
           initial_delay: float | Callable[..., float] | None = None, cancellation_backoff: float | None = None,
           cancellation_timeout: float | None = None, cancellation_polling: float | None = None,
           labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
           when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
           optional: bool = False, registry: Registry | None = None,
           requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run a long-lived function per object; ``stopped`` turns true on deletion, when the
    object stops matching the filters, and at shutdown. A daemon that returns is not started
    again for that object; one that raises is retried (kopf's rules)."""
    return _register(Kind.DAEMON, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     initial_delay=initial_delay, cancellation_backoff=cancellation_backoff,
                     cancellation_timeout=cancellation_timeout, cancellation_polling=cancellation_polling,
                     labels=labels, annotations=annotations, when=when, field=field, value=value, optional=optional,
                     requires_finalizer=requires_finalizer)


def timer(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
          plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
          category: str | None = None, id: str | None = None, param: Any = None, errors: ErrorsMode | None = None,
          timeout: float | None = None, retries: int | None = None, backoff: Any = None,
          interval: float | None = None, initial_delay: float | Callable[..., float] | None = None,
          sharp: bool | None = None, idle: float | None = None, labels: Mapping[str, Any] | None = None,
          annotations: Mapping[str, Any] | None = None, when: Callable[..., bool] | None = None,
          field: Any = None, value: Any = UNSET, optional: bool = False,
          registry: Registry | None = None,
          requires_finalizer: bool | None = None) -> Callable[[F], F]:
    """Run every ``interval`` seconds per object, after ``initial_delay``; with ``idle``, only once
    the object has not changed for that long; ``sharp`` keeps the runs on the interval's grid.
    Scheduled through the delaying queue."""
    if interval is None and idle is None:
        raise TypeError("a timer needs interval= (seconds between runs) or idle= (seconds without changes)")
    if interval is not None and interval <= 0:
        raise ValueError("a timer's interval must be > 0")
    return _register(Kind.TIMER, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                          singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                     interval=interval, initial_delay=initial_delay, sharp=bool(sharp), idle=idle, labels=labels,
                     annotations=annotations, when=when, field=field, value=value, optional=optional,
                     requires_finalizer=requires_finalizer)


# -- admission (served by the operator's webhook server: runtime/admission) --------------------------

def validate(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
             plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
             category: str | None = None, id: str | None = None, param: Any = None, operation: str | None = None,
             operations: Collection[str] | None = None, subresource: str | None = None,
             persistent: bool | None = None, side_effects: bool | None = None, ignore_failures: bool | None = None,
             labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
             when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
             timeout: int | None = None, namespace_selector: Mapping[str, Any] | None = None,
             match_conditions: Collection[Mapping[str, str]] = (), match_policy: str | None = None,
             cel: str | Mapping[str, str] | Sequence[str | Mapping[str, str]] | None = None,
             message: str | None = None,
             registry: Registry | None = None) -> Callable[[F], F]:
    """A validating admission webhook handler (kopf's): raise AdmissionError (or any error) to deny the
    request; ``warnings`` (a list) and ``patch`` are answered too. Beyond kopf: ``timeout`` (seconds, 1-30),
    ``namespace_selector``, ``match_conditions`` (CEL) and ``match_policy`` go into the managed configuration.

    With ``cel=`` (beyond kopf) the handler is no webhook: its rules become a ValidatingAdmissionPolicy and
    its binding, which the API server enforces itself, also while the operator is down; the decorated
    function is never called (its body can be ``...``; its docstring, if any, becomes the policy's
    ``kubernetes.io/description`` annotation). ``cel`` is an expression, or a sequence of expressions or of
    mappings ``{"expression": ..., "message"?, "messageExpression"?, "reason"?}``; each must be true for the
    request to be admitted. ``message`` is the message of the rules given as strings. The expressions use
    the ValidatingAdmissionPolicy variables: ``object``, ``oldObject`` (null on CREATE), ``request``,
    ``namespaceObject`` (and ``authorizer``). Operations default to CREATE and UPDATE (on
    DELETE ``object`` is null). Filters only the API server can apply are allowed: plain ``labels=``
    values, ``namespace_selector``, ``match_conditions``."""
    webhook = _webhook(Kind.VALIDATE, operation, operations, subresource=subresource, persistent=persistent,
                       side_effects=side_effects, ignore_failures=ignore_failures, timeout=timeout,
                       namespace_selector=namespace_selector, match_conditions=match_conditions,
                       match_policy=match_policy, cel=_cel(cel), message=message)
    if webhook.is_policy:
        _check_policy_filters(labels=labels, annotations=annotations, when=when, field=field, value=value)
    return _register(Kind.VALIDATE, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                             singular=singular, shortcut=shortcut,
                                                             category=category)),
                     registry, id=id, param=param, labels=labels, annotations=annotations, when=when, field=field,
                     value=value, webhook=webhook)


def _cel(cel: str | Mapping[str, str] | Sequence[str | Mapping[str, str]] | None,
         ) -> tuple[str | Mapping[str, str], ...]:
    """``cel=`` as a tuple of rules (each checked by Webhook.checked); an empty sequence is refused."""
    if cel is None:
        return ()
    if isinstance(cel, str):
        return (cel,)
    if isinstance(cel, Mapping):
        return (dict(cel),)
    rules = tuple(rule if isinstance(rule, str) else dict(rule) if isinstance(rule, Mapping) else rule
                  for rule in cel)
    if not rules:
        raise ValueError("cel=[] has no rule: give one or more expressions (or no cel=, for a webhook)")
    return rules


def _check_policy_filters(*, labels: Mapping[str, Any] | None, annotations: Mapping[str, Any] | None,
                          when: Callable[..., bool] | None, field: Any, value: Any) -> None:
    """A cel= handler is never called: a filter the API server cannot apply would be silently ignored."""
    ignored = [name for name, given in (("annotations=", bool(annotations)), ("when=", when is not None),
                                        ("field=", field is not None),
                                        ("value=", value is not UNSET and value is not None)) if given]
    ignored += [f"labels={{{key!r}: <callable>}}" for key, label in (labels or {}).items() if callable(label)]
    if ignored:
        raise ValueError(f"{', '.join(ignored)}: with cel= the API server enforces the rules and the operator never "
                         "sees the request, so these filters cannot apply; express them in the rules or in "
                         "match_conditions= (CEL)")


def mutate(*resource: str, group: str | None = None, version: str | None = None, kind: str | None = None,
           plural: str | None = None, singular: str | None = None, shortcut: str | None = None,
           category: str | None = None, id: str | None = None, param: Any = None, operation: str | None = None,
           operations: Collection[str] | None = None, subresource: str | None = None,
           persistent: bool | None = None, side_effects: bool | None = None, ignore_failures: bool | None = None,
           labels: Mapping[str, Any] | None = None, annotations: Mapping[str, Any] | None = None,
           when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET,
           timeout: int | None = None, namespace_selector: Mapping[str, Any] | None = None,
           match_conditions: Collection[Mapping[str, str]] = (), match_policy: str | None = None,
           reinvocation_policy: str | None = None, registry: Registry | None = None) -> Callable[[F], F]:
    """A mutating admission webhook handler (kopf's): what it puts into ``patch`` is answered as a JSON
    patch. Beyond kopf, as on.validate, plus ``reinvocation_policy`` ('Never' or 'IfNeeded')."""
    return _register(Kind.MUTATE, _resource(resource, dict(group=group, version=version, kind=kind, plural=plural,
                                                           singular=singular, shortcut=shortcut, category=category)),
                     registry, id=id, param=param, labels=labels, annotations=annotations, when=when, field=field,
                     value=value, webhook=_webhook(Kind.MUTATE, operation, operations, subresource=subresource,
                                                   persistent=persistent, side_effects=side_effects,
                                                   ignore_failures=ignore_failures, timeout=timeout,
                                                   namespace_selector=namespace_selector,
                                                   match_conditions=match_conditions, match_policy=match_policy,
                                                   reinvocation_policy=reinvocation_policy))


def _webhook(kind: Kind, operation: str | None, operations: Collection[str] | None, *,
             subresource: str | None, persistent: bool | None, side_effects: bool | None,
             ignore_failures: bool | None, match_conditions: Collection[Mapping[str, str]],
             **options: Any) -> Webhook:
    """The Webhook options of a decorator, checked; kopf's deprecated ``operation=`` joins ``operations=``."""
    if operation is not None:
        warnings.warn("operation= is deprecated; use operations=[...]", DeprecationWarning, stacklevel=3)
    chosen = None if operations is None and operation is None else (
        frozenset(operations or ()) | ({operation} if operation is not None else set()))
    return Webhook(operations=chosen, subresource=subresource, persistent=bool(persistent),
                   side_effects=bool(side_effects), ignore_failures=bool(ignore_failures),
                   match_conditions=tuple(dict(condition) for condition in match_conditions),
                   **options).checked(kind)
