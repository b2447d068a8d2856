"""Lifecycles: which of a cause's due handlers run in one reconcile, and in what order (kopf's).

A lifecycle gets the due handlers in registration order (finished ones left out) and
``state`` (handler id -> its progress record, with ``retries``), and returns the handlers
to run now; the rest come back in the next reconcile, which follows at once.

opframe's default is ``all_at_once``: every due handler in one reconcile, so a cause
costs one write. kopf's default is ``asap`` (one handler per reconcile, fewest retries
first); the outcome is the same, the number of writes is not. ``set_default_lifecycle()``
or ``kopf.operator(lifecycle=...)`` chooses another.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

logger = logging.getLogger("opframe.lifecycles")

LifeCycleFn = Callable[..., Sequence[Any]]


def all_at_once(handlers: Sequence[Any], **_: Any) -> Sequence[Any]:
    """Every due handler now, in registration order."""
    return handlers


def one_by_one(handlers: Sequence[Any], **_: Any) -> Sequence[Any]:
    """The first due handler only."""
    return handlers[:1]


def randomized(handlers: Sequence[Any], **_: Any) -> Sequence[Any]:
    """One due handler, chosen at random."""
    return [random.choice(handlers)] if handlers else []


def shuffled(handlers: Sequence[Any], **_: Any) -> Sequence[Any]:
    """Every due handler now, in random order."""
    return random.sample(list(handlers), k=len(handlers)) if handlers else []


def asap(handlers: Sequence[Any], *, state: Mapping[str, Any], **_: Any) -> Sequence[Any]:
    """One handler: the one retried least so far (kopf's default)."""
    return sorted(handlers, key=lambda h: getattr(state.get(h.id), "retries", 0) or 0)[:1]


_default: LifeCycleFn = all_at_once


def get_default_lifecycle() -> LifeCycleFn:
    return _default


def set_default_lifecycle(lifecycle: LifeCycleFn | None) -> None:
    """Choose the lifecycle of every operator started later (None: opframe's all_at_once)."""
    global _default  # noqa: PLW0603 - kopf's API: a process-wide default set by a call
    _default = lifecycle if lifecycle is not None else all_at_once
