"""How a failed handler is retried: TemporaryError, PermanentError, and the backoff policy.

A retry is never a sleep: the runtime persists when the handler may run again and
re-queues the object's key with that delay, so workers keep serving other objects.

* ``TemporaryError(message, delay=)``: retried after ``delay`` seconds (default 60,
  as in kopf; ``delay=None`` means at once, as in kopf), counted against ``retries=``;
* ``PermanentError``: recorded as a failure, never retried;
* any other exception: as the handler's ``errors=`` says (kopf's ErrorsMode): TEMPORARY
  (the default) retries it with the handler's ``backoff=``, else the operator's
  ``default_backoff`` (kopf's ``settings.execution.default_backoff``), else exponential with
  jitter from 1 s up to 5 min (``ExponentialJitter``, a tenacity wait strategy) where kopf
  waits a fixed 60 s; PERMANENT fails at once; IGNORED counts it as a success with no result;
* ``retries=N`` gives up after N attempts, ``timeout=S`` once S seconds since the first
  attempt have passed or would pass before the next one (kopf's look-ahead); giving up is
  a permanent failure, named as kopf names it (HandlerRetriesError, HandlerTimeoutError).
"""

from __future__ import annotations

import dataclasses
import enum
import random
from typing import Any

import tenacity

from opframe.kube.backoff import ExponentialJitter

#: kopf's default delay for TemporaryError.
DEFAULT_TEMPORARY_DELAY = 60.0
#: Exponential backoff for unexpected errors: a transient failure is retried within a
#: second, a persistent one settles at one try per 5 minutes.
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 300.0


class HandlerError(Exception):
    pass


class TemporaryError(HandlerError):
    """Retry this handler after ``delay`` seconds."""

    def __init__(self, message: str = "", delay: float | None = DEFAULT_TEMPORARY_DELAY) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(HandlerError):
    """Do not retry this handler: record the failure and move on."""


class ChildrenPending(TemporaryError):
    """Raised by ``execute()`` when some sub-handlers it ran are not finished: the parent comes back."""

    def __init__(self, message: str = "sub-handlers are not finished yet") -> None:
        super().__init__(message, delay=None)


class HandlerTimeoutError(PermanentError):
    """The handler's ``timeout=`` ran out (the failure recorded for it)."""


class HandlerRetriesError(PermanentError):
    """The handler's ``retries=`` ran out (the failure recorded for it)."""


class ErrorsMode(enum.Enum):
    """How a handler's arbitrary exceptions (neither Temporary nor PermanentError) count (kopf's names)."""

    IGNORED = enum.auto()
    TEMPORARY = enum.auto()
    PERMANENT = enum.auto()


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float
    reason: str
    #: the error counts as a success with no result (ErrorsMode.IGNORED).
    ignored: bool = False


class _Attempt:
    """The minimum of tenacity's RetryCallState that wait strategies read."""

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


def backoff_delay(backoff: Any, retries_so_far: int, rng: random.Random | None = None) -> float:
    """Delay before attempt ``retries_so_far + 1``.

    ``backoff`` is None (the default policy), a number of seconds (fixed), or any
    tenacity wait strategy.
    """
    if isinstance(backoff, int | float):
        return float(backoff)
    strategy: tenacity.wait.wait_base = backoff if backoff is not None else ExponentialJitter(
        DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, rng=rng)
    return float(strategy(_Attempt(max(1, retries_so_far))))  # type: ignore[arg-type]


def decide(error: BaseException, *, retries_so_far: int, started: float, now: float,
           max_retries: int | None, timeout: float | None, backoff: Any,
           errors: ErrorsMode | None = None, default_backoff: float | None = None) -> RetryDecision:
    """Whether a handler that raised ``error`` runs again, and after how long.

    ``retries_so_far`` counts the failed attempts including this one. ``errors`` is the
    handler's ErrorsMode (None: TEMPORARY); ``default_backoff`` the operator's fixed delay
    for handlers without ``backoff=`` (None: exponential with jitter).
    """
    if isinstance(error, PermanentError):
        return RetryDecision(False, 0.0, f"permanent error: {error}")
    if not isinstance(error, TemporaryError):
        if errors is ErrorsMode.IGNORED:
            return RetryDecision(False, 0.0, f"ignored {type(error).__name__}: {error}", ignored=True)
        if errors is ErrorsMode.PERMANENT:
            return RetryDecision(False, 0.0, f"permanent error (errors=PERMANENT): {type(error).__name__}: {error}")
    if max_retries is not None and retries_so_far >= max_retries:
        return RetryDecision(False, 0.0, f"HandlerRetriesError: gave up after {retries_so_far} attempts: {error}")
    if isinstance(error, TemporaryError):
        delay, reason = max(0.0, error.delay or 0.0), f"temporary error: {error}"
    else:
        delay = backoff_delay(backoff if backoff is not None else default_backoff, retries_so_far)
        reason = f"{type(error).__name__}: {error}"
    if timeout is not None and now - started + delay >= timeout:
        return RetryDecision(False, 0.0, f"HandlerTimeoutError: gave up after {now - started:.0f} s "
                                         f"(timeout {timeout} s): {error}")
    return RetryDecision(True, delay, reason)
