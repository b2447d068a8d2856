"""How a failed handler is retried: TemporaryError, PermanentError, and the backoff policy.

A retry is never a sleep: the runtime persists when the handler may run again and
re-queues the object's key with that delay, so workers keep serving other objects.

* ``TemporaryError(message, delay=)``: retried after ``delay`` seconds (default 60,
  as in kopf), counted against ``retries=``;
* ``PermanentError``: recorded as a failure, never retried;
* any other exception: retried with the handler's backoff; by default exponential
  with jitter from 1 s up to 5 min (``ExponentialJitter``, a tenacity wait strategy), instead
  of kopf's fixed 60 s;
* ``retries=N`` gives up after N attempts, ``timeout=S`` after S seconds since the
  first attempt; giving up is a permanent failure.
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float
    reason: str


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
           max_retries: int | None, timeout: float | None, backoff: Any) -> RetryDecision:
    """Whether a handler that raised ``error`` runs again, and after how long.

    ``retries_so_far`` counts the failed attempts including this one.
    """
    if isinstance(error, PermanentError):
        return RetryDecision(False, 0.0, f"permanent error: {error}")
    if max_retries is not None and retries_so_far >= max_retries:
        return RetryDecision(False, 0.0, f"gave up after {retries_so_far} attempts: {error}")
    if timeout is not None and now - started >= timeout:
        return RetryDecision(False, 0.0, f"gave up after {now - started:.0f} s (timeout {timeout} s): {error}")
    if isinstance(error, TemporaryError):
        delay = error.delay if error.delay is not None else DEFAULT_TEMPORARY_DELAY
        return RetryDecision(True, max(0.0, delay), f"temporary error: {error}")
    return RetryDecision(True, backoff_delay(backoff, retries_so_far), f"{type(error).__name__}: {error}")
