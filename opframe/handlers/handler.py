"""What a handler is: its kind, its function, its resource, filters and options (kopf's handler fields).

A ``Handler`` is a frozen record made by the decorators (registry.make) and read by the
runtime. Invariant: its id is stable across restarts (``handler_id``), because progress
records on objects are keyed by it.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

from opframe.handlers.filters import UNSET, MetaFilter


class Kind(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESUME = "resume"
    FIELD = "field"
    EVENT = "event"
    TIMER = "timer"
    DAEMON = "daemon"
    INDEX = "index"
    STARTUP = "startup"
    CLEANUP = "cleanup"
    PROBE = "probe"
    LOGIN = "login"
    VALIDATE = "validate"
    MUTATE = "mutate"


#: Handler kinds that run through the work queue and persist progress on the object.
CHANGE_KINDS = frozenset({Kind.CREATE, Kind.UPDATE, Kind.DELETE, Kind.RESUME, Kind.FIELD})
#: Operator-level handlers, not tied to a resource (kopf's "activities").
ACTIVITY_KINDS = frozenset({Kind.STARTUP, Kind.CLEANUP, Kind.PROBE, Kind.LOGIN})
#: Admission webhook handlers: served by the operator's webhook server (runtime/admission).
ADMISSION_KINDS = frozenset({Kind.VALIDATE, Kind.MUTATE})
#: The operations an admission webhook can be registered for (admissionregistration.k8s.io/v1).
WEBHOOK_OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
#: The keys of a ``cel=`` rule given as a mapping (a ValidatingAdmissionPolicy's validation).
CEL_RULE_KEYS = frozenset({"expression", "message", "messageExpression", "reason"})
#: The reasons a ValidatingAdmissionPolicy's validation may give (its HTTP code follows).
CEL_REASONS = frozenset({"Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"})


@dataclasses.dataclass(frozen=True)
class Webhook:
    """An admission handler's options: kopf's, and beyond kopf those of its webhook's configuration.

    Invariants (checked by ``checked()`` at decoration): ``operations`` is None (all) or a non-empty
    subset of WEBHOOK_OPERATIONS; ``timeout`` is 1-30 s (the API server's bounds);
    ``reinvocation_policy`` is for mutating webhooks only; ``cel`` (on.validate only) holds non-empty
    expressions, and ``message`` comes only with it.
    """

    #: The operations the API server sends (None: all). In-process, only a mutator's DELETE rule reads it.
    operations: frozenset[str] | None = None
    #: None: the main resource only; "status", "scale"...: that subresource; "*": any, the main one too.
    subresource: str | None = None
    #: Kept in the managed configuration when the operator exits.
    persistent: bool = False
    #: ``sideEffects: NoneOnDryRun`` instead of ``None``.
    side_effects: bool = False
    #: ``failurePolicy: Ignore``: the API server admits when the webhook cannot be called.
    ignore_failures: bool = False
    #: Beyond kopf: the configuration's ``timeoutSeconds`` (None: the API server's default, 10 s).
    timeout: int | None = None
    namespace_selector: Mapping[str, Any] | None = None
    #: CEL ``matchConditions`` ({name, expression} each): requests they reject never reach the operator.
    match_conditions: tuple[Mapping[str, str], ...] = ()
    reinvocation_policy: str | None = None
    match_policy: str | None = None
    #: on.validate only: CEL rules (a string, or a mapping with ``expression`` and optionally ``message``,
    #: ``messageExpression``, ``reason``) that make the handler a ValidatingAdmissionPolicy the API server
    #: enforces itself (runtime/admission/policies.py); the handler is then not served as a webhook.
    cel: tuple[str | Mapping[str, str], ...] = ()
    #: The message of the ``cel`` rules given as plain strings.
    message: str | None = None

    @property
    def is_policy(self) -> bool:
        """Enforced by the API server as a ValidatingAdmissionPolicy: no webhook, no call to the handler."""
        return bool(self.cel)

    def checked(self, kind: Kind) -> Webhook:
        if self.operations is not None:
            unknown = sorted(self.operations - WEBHOOK_OPERATIONS)
            if not self.operations or unknown:
                raise ValueError(f"operations={sorted(self.operations)!r}: give one or more of "
                                 f"{sorted(WEBHOOK_OPERATIONS)} (or none, for all)")
        if self.timeout is not None and not 1 <= self.timeout <= 30:
            raise ValueError(f"timeout={self.timeout}: the API server allows 1 to 30 seconds for a webhook")
        if self.reinvocation_policy is not None:
            if kind is not Kind.MUTATE:
                raise ValueError("reinvocation_policy= is for on.mutate handlers only")
            if self.reinvocation_policy not in ("Never", "IfNeeded"):
                raise ValueError(f"reinvocation_policy={self.reinvocation_policy!r}: use 'Never' or 'IfNeeded'")
        if self.match_policy not in (None, "Exact", "Equivalent"):
            raise ValueError(f"match_policy={self.match_policy!r}: use 'Exact' or 'Equivalent'")
        if self.cel:
            self._check_cel(kind)
        elif self.message is not None:
            raise ValueError("message= is the message of cel= rules; give cel= too (a webhook handler's "
                             "message is the AdmissionError it raises)")
        return self

    def _check_cel(self, kind: Kind) -> None:
        if kind is not Kind.VALIDATE:
            raise ValueError("cel= is for on.validate handlers only")
        for rule in self.cel:
            if isinstance(rule, str):
                if not rule.strip():
                    raise ValueError("cel=: an expression is an empty string")
                continue
            if not isinstance(rule, Mapping):
                raise ValueError(f"cel=: {rule!r} is neither an expression (a string) nor a mapping with "
                                 f"'expression' (and {', '.join(sorted(CEL_RULE_KEYS - {'expression'}))})")
            unknown = sorted(set(rule) - CEL_RULE_KEYS)
            if unknown:
                raise ValueError(f"cel=: a rule has {unknown}; its keys are {sorted(CEL_RULE_KEYS)}")
            if any(not isinstance(value, str) for value in rule.values()):
                raise ValueError(f"cel=: every value of a rule is a string: {dict(rule)!r}")
            if not str(rule.get("expression") or "").strip():
                raise ValueError(f"cel=: a rule has no expression: {dict(rule)!r}")
            if "reason" in rule and rule["reason"] not in CEL_REASONS:
                raise ValueError(f"cel=: reason={rule['reason']!r}: use one of {sorted(CEL_REASONS)}")
        if self.message is not None and (not self.message.strip() or "\n" in self.message):
            raise ValueError("message= is one line of text (the API server refuses an empty one or a line break)")
        if self.message is not None and not any(isinstance(rule, str) for rule in self.cel):
            raise ValueError("message= is the message of the cel= rules given as strings; every rule here is a "
                             "mapping: give each its 'message'")
        for option, value in (("timeout", self.timeout), ("side_effects", self.side_effects or None)):
            if value is not None:
                raise ValueError(f"{option}= has no meaning with cel=: the API server enforces the rules "
                                 "itself, no webhook is called")


@dataclasses.dataclass(frozen=True)
class Handler:
    id: str
    fn: Callable[..., Any]
    kind: Kind
    resource: tuple[str, ...] = ()
    labels: MetaFilter | None = None
    annotations: MetaFilter | None = None
    when: Callable[..., bool] | None = None
    field: tuple[str, ...] = ()
    value: Any = UNSET
    old: Any = UNSET
    new: Any = UNSET
    retries: int | None = None
    timeout: float | None = None
    backoff: Any = None
    #: kopf's ErrorsMode for exceptions that are neither Temporary nor PermanentError (None: the kind's default).
    errors: Any = None
    param: Any = None
    optional: bool = False
    #: resume handlers only: also for objects already being deleted (kopf's ``deleted=``).
    deleted: bool = False
    interval: float | None = None
    #: seconds, or kopf's callable of the handler's kwargs returning seconds.
    initial_delay: float | Callable[..., float] | None = None
    idle: float | None = None
    sharp: bool = False
    cancellation_backoff: float | None = None
    cancellation_timeout: float | None = None
    cancellation_polling: float | None = None
    #: ``requires_finalizer=`` (kopf's handler field): True/False overrides the kind's rule.
    finalizer_required: bool | None = None
    #: on.validate/on.mutate only: the webhook's options.
    webhook: Webhook | None = None

    def delay(self, kwargs: Mapping[str, Any]) -> float:
        """The initial delay in seconds: a number, or kopf's callable of the handler's kwargs."""
        if callable(self.initial_delay):
            return float(self.initial_delay(**kwargs))
        return float(self.initial_delay or 0.0)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @property
    def requires_finalizer(self) -> bool:
        """A non-optional delete handler, a timer or a daemon keeps the object until it is done;
        ``requires_finalizer=`` on the decorator says so explicitly for any resource handler."""
        if self.finalizer_required is not None:
            return self.finalizer_required
        if self.kind is Kind.DELETE:
            return not self.optional
        return self.kind in (Kind.TIMER, Kind.DAEMON) and not self.optional


def handler_id(fn: Callable[..., Any], field: tuple[str, ...] = (), explicit: str | None = None) -> str:
    """kopf's rule: the explicit id or the callable's id, plus ``/<field>`` for a field (also after
    an explicit id). Ids are persisted in progress annotations, so they must stay stable."""
    base = explicit if explicit else callable_id(fn)
    return f"{base}/{'.'.join(field)}" if field else base


def callable_id(fn: Callable[..., Any]) -> str:
    """A stable id of a callable, as kopf makes it: partials and @functools.wraps wrappers are
    unwrapped, a lambda is ``lambda:<file>:<line>``, a function or method its ``__qualname__``;
    beyond kopf, any other callable object its repr (kopf refuses those)."""
    if isinstance(fn, functools.partial):
        return callable_id(fn.func)
    if hasattr(fn, "__wrapped__"):
        return callable_id(fn.__wrapped__)
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        return f"lambda:{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"
    if isinstance(fn, types.FunctionType | types.MethodType):
        return str(getattr(fn, "__qualname__", None) or fn.__name__)
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))
