"""Sub-handlers (kopf's ``@kopf.subhandler``, ``kopf.register()``, ``kopf.execute()``).

Inside a change handler, sub-handlers are declared per call: each is a handler of its
own with the id ``<parent id>/<sub id>``, its own progress record, retries and errors
mode. The parent counts as finished only when all of its sub-handlers did; until then it
is called again at its next attempt, re-declares them, and only the unfinished ones run.

Invariant: a sub-handler is declared only while its parent runs (a context variable
holds the parent's ``Subhandlers``); declaring one elsewhere is a clear error.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from opframe.handlers.filters import UNSET

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class Declared:
    """One sub-handler as declared: its own id (without the parent's) and options."""

    id: str
    fn: Callable[..., Any]
    options: dict[str, Any]


@dataclasses.dataclass
class Subhandlers:
    """The sub-handlers declared during one call of a parent handler."""

    parent_id: str
    declared: list[Declared] = dataclasses.field(default_factory=list)
    #: Outcomes of sub-handlers already run during this call (by ``execute()``), by full id.
    ran: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Runs declared sub-handlers now (set by the runtime inside async parents; for ``execute()``).
    runner: Callable[[list[Declared]], Any] | None = None
    #: Whether a sub-handler (by full id) is finished or succeeded now (set by the runtime).
    done: Callable[[str], bool] | None = None

    def full_id(self, declared: Declared) -> str:
        return f"{self.parent_id}/{declared.id}"

    def add(self, fn: Callable[..., Any], id: str | None, options: dict[str, Any]) -> None:
        from opframe.handlers.handler import callable_id

        sub_id = id if id is not None else callable_id(fn)  # kopf adds no field suffix to sub-handler ids
        if any(d.id == sub_id for d in self.declared):
            raise ValueError(f"sub-handler id {sub_id!r} is declared twice in {self.parent_id}; give id=")
        self.declared.append(Declared(sub_id, fn, options))


current: contextvars.ContextVar[Subhandlers | None] = contextvars.ContextVar("opframe_subhandlers", default=None)


def _declaring() -> Subhandlers:
    found = current.get()
    if found is None:
        raise LookupError("sub-handlers are declared inside a change handler (on.create/update/delete/resume/field); "
                          "there is no such handler running here")
    return found


def subhandler(*, id: str | None = None, param: Any = None, errors: Any = None, timeout: float | None = None,
               retries: int | None = None, backoff: Any = None, labels: Any = None, annotations: Any = None,
               when: Callable[..., bool] | None = None, field: Any = None, value: Any = UNSET, old: Any = UNSET,
               new: Any = UNSET) -> Callable[[F], F]:
    """Declare a sub-handler of the running handler (kopf's ``@kopf.subhandler``)."""
    def decorator(fn: F) -> F:
        _declaring().add(fn, id, dict(param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                                      labels=labels, annotations=annotations, when=when, field=field, value=value,
                                      old=old, new=new))
        return fn
    return decorator


def register(fn: Callable[..., Any], *, id: str | None = None, param: Any = None, errors: Any = None,
             timeout: float | None = None, retries: int | None = None, backoff: Any = None, labels: Any = None,
             annotations: Any = None, when: Callable[..., bool] | None = None) -> Callable[..., Any]:
    """Declare ``fn`` as a sub-handler of the running handler (kopf's ``kopf.register()``)."""
    _declaring().add(fn, id, dict(param=param, errors=errors, timeout=timeout, retries=retries, backoff=backoff,
                                  labels=labels, annotations=annotations, when=when))
    return fn
