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


class AdmissionError(PermanentError):
    """An admission handler's verdict that the request is bad: the API server refuses it with ``message``
    and ``code`` (kopf's: 500 when none, or 0, is given)."""

    def __init__(self, message: str | None = "", code: int | None = 500) -> None:
        super().__init__(message)
        self.code = code


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
    #: What happened, in kopf's words, after "Handler 'x' " in the log ("failed temporarily: ...",
    #: "failed with an exception and will try again in 60 seconds: ..."), as kopf 1.45.2 logs it.
    told: str = ""


def traceback_of(error: BaseException) -> BaseException | None:
    """The error whose traceback goes into the log line of a failed attempt (``exc_info=``): any
    exception a handler raised, but not TemporaryError or PermanentError, which say what went
    wrong themselves (kopf logs the first with ``logger.exception`` and the others without)."""
    return None if isinstance(error, (TemporaryError, PermanentError)) else error


class _Attempt:
    """The minimum of tenacity's RetryCallState that wait strategies read."""

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How one handler is retried: its ``retries=``, ``timeout=``, ``backoff=`` and ``errors=``
    (kopf's), with the operator's ``default_backoff`` for handlers without ``backoff=``."""

    max_retries: int | None = None
    timeout: float | None = None
    backoff: Any = None
    errors: ErrorsMode | None = None
    default_backoff: float | None = None

    @classmethod
    def of(cls, handler: Any, default_backoff: float | None = None) -> RetryPolicy:
        """The policy of a handler (anything with kopf's ``retries``/``timeout``/``backoff``/``errors``)."""
        return cls(max_retries=handler.retries, timeout=handler.timeout, backoff=handler.backoff,
                   errors=handler.errors, default_backoff=default_backoff)

    def backoff_delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds before the attempt after ``failures`` failed ones: ``backoff=`` (a number, or a
        tenacity wait strategy: user code, so the planner never calls this; its callers pass the
        result in), else ``default_backoff``, else exponential with jitter drawn from ``rng``."""
        return backoff_delay(self.backoff if self.backoff is not None else self.default_backoff, failures, rng)

    def decide(self, error: BaseException, *, failures: int, started: float, now: float,
               rng: random.Random | None = None) -> RetryDecision:
        """``decide()`` with this policy's backoff computed here (for callers outside the planner)."""
        return decide(error, policy=self, failures=failures, started=started, now=now,
                      backoff_delay=self.backoff_delay(failures, rng))


def backoff_delay(backoff: Any, failures: int, rng: random.Random | None = None) -> float:
    """Delay before the attempt after ``failures`` failed ones. ``backoff`` is None (the default
    policy: exponential with jitter from ``rng``), a number of seconds (fixed), or any tenacity
    wait strategy."""
    if isinstance(backoff, int | float):
        return float(backoff)
    strategy: tenacity.wait.wait_base = backoff if backoff is not None else ExponentialJitter(
        DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, rng=rng)
    return float(strategy(_Attempt(max(1, failures))))  # type: ignore[arg-type]


def decide(error: BaseException, *, policy: RetryPolicy, failures: int, started: float, now: float,
           backoff_delay: float) -> RetryDecision:
    """Whether a handler that raised ``error`` runs again, and after how long: the one retry decision of
    handlers, sub-handlers, timers, daemons and activities. Pure.

    ``failures`` counts the failed attempts including this one; ``started`` and ``now`` are seconds
    on one clock (the first attempt's and this one's); ``backoff_delay`` is what
    ``policy.backoff_delay(failures)`` gave (used for errors other than Temporary/PermanentError).
    """
    said = str(error) or repr(error)  # kopf's rendering of the error in its log lines
    if isinstance(error, PermanentError):
        return RetryDecision(False, 0.0, f"permanent error: {error}", told=f"failed permanently: {said}")
    temporary = isinstance(error, TemporaryError)
    if not temporary:
        if policy.errors is ErrorsMode.IGNORED:
            return RetryDecision(False, 0.0, f"ignored {type(error).__name__}: {error}", ignored=True,
                                 told=f"failed with an exception and will ignore it: {said}")
        if policy.errors is ErrorsMode.PERMANENT:
            return RetryDecision(False, 0.0, f"permanent error (errors=PERMANENT): {type(error).__name__}: {error}",
                                 told=f"failed with an exception and will stop now: {said}")
    if policy.max_retries is not None and failures >= policy.max_retries:
        told = (f"failed temporarily but will exceed {policy.max_retries} retries: {said}" if temporary else
                f"failed with an exception and will stop now (it would exceed {policy.max_retries} retries on "
                f"the next attempt): {said}")
        return RetryDecision(False, 0.0, f"HandlerRetriesError: gave up after {failures} attempts: {error}",
                             told=told)
    if isinstance(error, TemporaryError):
        delay, reason = max(0.0, error.delay or 0.0), f"temporary error: {error}"
    else:
        delay, reason = backoff_delay, f"{type(error).__name__}: {error}"
    if policy.timeout is not None and now - started + delay >= policy.timeout:
        told = (f"failed temporarily but will time out after {policy.timeout} seconds: {said}" if temporary else
                f"failed with an exception and will stop now (it would time out in {policy.timeout} seconds on "
                f"the next attempt): {said}")
        return RetryDecision(False, 0.0, f"HandlerTimeoutError: gave up after {now - started:.0f} s "
                                         f"(timeout {policy.timeout} s): {error}", told=told)
    told = (f"failed temporarily: {said}" if temporary else
            f"failed with an exception and will try again in {delay:.3g} seconds: {said}")
    return RetryDecision(True, delay, reason, told=told)
