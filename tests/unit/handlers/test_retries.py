"""Retry decisions: PermanentError, TemporaryError, retries=, timeout= and the backoff policies."""

from __future__ import annotations

import itertools
import random
import warnings
from typing import Any

import pytest
import tenacity

from opframe.handlers.retries import (
    DEFAULT_BACKOFF_MAX,
    DEFAULT_TEMPORARY_DELAY,
    ErrorsMode,
    PermanentError,
    RetryDecision,
    RetryPolicy,
    TemporaryError,
    backoff_delay,
    decide,
)


def run(error: BaseException, *, retries_so_far: int = 1, started: float = 1000.0, now: float = 1000.0,
        max_retries: int | None = None, timeout: float | None = None, backoff: Any = 5.0):  # type: ignore[no-untyped-def]
    return decided(error, retries_so_far=retries_so_far, started=started, now=now, max_retries=max_retries,
                   timeout=timeout, backoff=backoff)


def decided(error: BaseException, *, retries_so_far: int, started: float, now: float, max_retries: int | None,
            timeout: float | None, backoff: Any, errors: ErrorsMode | None = None,
            default_backoff: float | None = None) -> RetryDecision:
    """The decision for a handler with these options, its backoff computed as the runtime computes it."""
    policy = RetryPolicy(max_retries=max_retries, timeout=timeout, backoff=backoff, errors=errors,
                         default_backoff=default_backoff)
    return decide(error, policy=policy, failures=retries_so_far, started=started, now=now,
                  backoff_delay=policy.backoff_delay(retries_so_far))


# -- PermanentError ------------------------------------------------------------------------------


@pytest.mark.parametrize("retries_so_far", [1, 100], ids=["first-attempt", "many-attempts"])
def test_permanent_error_is_never_retried(retries_so_far: int) -> None:
    decision = run(PermanentError("bad spec"), retries_so_far=retries_so_far, max_retries=None, timeout=None)
    assert (decision.retry, decision.delay) == (False, 0.0)


def test_permanent_error_reason_names_it() -> None:
    assert run(PermanentError("bad spec")).reason == "permanent error: bad spec"


# -- TemporaryError ------------------------------------------------------------------------------


def test_temporary_error_is_retried_after_its_delay() -> None:
    decision = run(TemporaryError("not yet", delay=7.5))
    assert (decision.retry, decision.delay) == (True, 7.5)


def test_temporary_error_default_delay_is_kopfs_60_s() -> None:
    assert run(TemporaryError("not yet")).delay == DEFAULT_TEMPORARY_DELAY == 60.0


def test_temporary_error_without_delay_uses_the_default() -> None:
    assert run(TemporaryError("not yet", delay=None)).delay == 0.0  # kopf: None means "retry at once"


def test_temporary_error_negative_delay_is_zero() -> None:
    assert run(TemporaryError("now", delay=-3)).delay == 0.0


def test_temporary_error_ignores_the_handler_backoff() -> None:
    assert run(TemporaryError("x", delay=2), backoff=100.0).delay == 2


def test_temporary_error_reason_names_it() -> None:
    assert run(TemporaryError("not yet", delay=1)).reason == "temporary error: not yet"


# -- retries= and timeout= -------------------------------------------------------------------------


@pytest.mark.parametrize("error", [TemporaryError("t", delay=1), RuntimeError("r")], ids=["temporary", "other"])
def test_gives_up_after_max_retries(error: Exception) -> None:
    decision = run(error, retries_so_far=3, max_retries=3)
    assert (decision.retry, decision.delay) == (False, 0.0)
    assert decision.reason.startswith("HandlerRetriesError: gave up after 3 attempts")


def test_retries_below_max_retries() -> None:
    assert run(RuntimeError("r"), retries_so_far=2, max_retries=3).retry


def test_zero_max_retries_never_retries() -> None:
    assert not run(RuntimeError("r"), retries_so_far=1, max_retries=0).retry


@pytest.mark.parametrize("error", [TemporaryError("t", delay=1), RuntimeError("r")], ids=["temporary", "other"])
def test_gives_up_after_timeout(error: Exception) -> None:
    decision = run(error, started=1000.0, now=1010.0, timeout=10.0)
    assert not decision.retry
    assert "timeout 10.0 s" in decision.reason


def test_retries_before_timeout() -> None:
    assert run(TemporaryError("r", delay=1), started=1000.0, now=1008.9, timeout=10.0).retry


def test_gives_up_when_the_next_attempt_would_come_after_the_timeout() -> None:
    """kopf's look-ahead: 9 s spent, a 2 s delay would end past the 10 s timeout."""
    decision = run(TemporaryError("r", delay=2), started=1000.0, now=1009.0, timeout=10.0)
    assert not decision.retry
    assert decision.reason.startswith("HandlerTimeoutError")


@pytest.mark.parametrize(("mode", "retry", "ignored"), [
    (ErrorsMode.TEMPORARY, True, False), (ErrorsMode.PERMANENT, False, False), (ErrorsMode.IGNORED, False, True),
    (None, True, False)], ids=["temporary", "permanent", "ignored", "default"])
def test_errors_mode_decides_for_arbitrary_exceptions(mode: ErrorsMode | None, retry: bool, ignored: bool) -> None:
    decision = decided(RuntimeError("x"), retries_so_far=1, started=0.0, now=1.0, max_retries=None, timeout=None,
                      backoff=1.0, errors=mode)
    assert (decision.retry, decision.ignored) == (retry, ignored)


@pytest.mark.parametrize("mode", [ErrorsMode.PERMANENT, ErrorsMode.IGNORED])
def test_errors_mode_does_not_change_temporary_or_permanent_errors(mode: ErrorsMode) -> None:
    kwargs: dict[str, Any] = dict(retries_so_far=1, started=0.0, now=1.0, max_retries=None, timeout=None,
                                  backoff=None, errors=mode)
    assert decided(TemporaryError("t", delay=3), **kwargs).delay == 3
    assert not decided(PermanentError("p"), **kwargs).ignored


def test_default_backoff_is_the_fixed_delay_without_backoff() -> None:
    decision = decided(RuntimeError("x"), retries_so_far=5, started=0.0, now=1.0, max_retries=None, timeout=None,
                      backoff=None, default_backoff=7.0)
    assert decision.delay == 7.0


def test_no_limits_retries_forever() -> None:
    assert run(RuntimeError("r"), retries_so_far=10_000, started=0.0, now=1e9).retry


# -- backoff for other errors ----------------------------------------------------------------------


def test_other_error_reason_names_the_exception_type() -> None:
    assert run(ValueError("oops")).reason == "ValueError: oops"


@pytest.mark.parametrize("backoff", [5, 5.0], ids=["int", "float"])
def test_fixed_number_backoff(backoff: float) -> None:
    assert [run(RuntimeError("r"), retries_so_far=n, backoff=backoff).delay for n in (1, 2, 10)] == [5.0] * 3


def test_tenacity_wait_strategy_backoff() -> None:
    strategy = tenacity.wait_exponential(multiplier=2, max=100)
    assert [backoff_delay(strategy, n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 100]


def test_tenacity_wait_strategy_is_used_by_decide() -> None:
    assert run(RuntimeError("r"), retries_so_far=3, backoff=tenacity.wait_fixed(12)).delay == 12.0


def test_combined_tenacity_strategies() -> None:
    assert backoff_delay(tenacity.wait_fixed(1) + tenacity.wait_fixed(2), 1) == 3.0


def test_backoff_before_any_failure_counts_as_the_first_attempt() -> None:
    strategy = tenacity.wait_exponential(multiplier=2)
    assert backoff_delay(strategy, 0) == backoff_delay(strategy, 1) == 2


@pytest.mark.parametrize("retries_so_far", [1, 2, 3, 5, 8, 9, 10, 20, 100, 10_000],
                         ids=lambda n: f"attempt-{n}")
def test_default_backoff_stays_within_bounds(retries_so_far: int) -> None:
    for _ in range(20):
        assert 0.0 <= backoff_delay(None, retries_so_far) <= DEFAULT_BACKOFF_MAX == 300.0


@pytest.mark.parametrize("jitter", ["none", "full"])
def test_default_backoff_grows_then_settles_at_the_maximum(jitter: str) -> None:
    class PinnedRandom(random.Random):
        def random(self) -> float:
            return 0.0 if jitter == "none" else 0.999999

    delays = [backoff_delay(None, n, PinnedRandom()) for n in range(1, 15)]
    below_cap = [d for d in delays if d < DEFAULT_BACKOFF_MAX]
    assert len(below_cap) >= 8
    assert all(a < b for a, b in itertools.pairwise(below_cap))
    assert delays[len(below_cap):] == [DEFAULT_BACKOFF_MAX] * (len(delays) - len(below_cap))


def test_default_backoff_starts_around_a_second() -> None:
    for _ in range(20):
        assert 1.0 <= backoff_delay(None, 1) <= 2.0


def test_default_backoff_is_used_by_decide() -> None:
    assert 1.0 <= run(RuntimeError("r"), retries_so_far=1, backoff=None).delay <= 2.0


def test_default_backoff_is_jittered() -> None:
    assert len({backoff_delay(None, 4) for _ in range(20)}) > 1


# -- the exceptions --------------------------------------------------------------------------------


def test_temporary_error_keeps_message_and_delay() -> None:
    error = TemporaryError("wait", delay=3)
    assert (str(error), error.delay) == ("wait", 3)


def test_handler_errors_share_a_base() -> None:
    from opframe.handlers.retries import HandlerError

    assert issubclass(TemporaryError, HandlerError)
    assert issubclass(PermanentError, HandlerError)


def test_default_backoff_doubles_from_one_second_with_jitter_up_to_five_minutes() -> None:
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0)):
        delays = [backoff_delay(None, attempt) for _ in range(50)]
        assert all(base <= d < min(2 * base, DEFAULT_BACKOFF_MAX) or d == DEFAULT_BACKOFF_MAX for d in delays)
    assert backoff_delay(None, 20) == DEFAULT_BACKOFF_MAX


def test_default_backoff_raises_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backoff_delay(None, 1)


# -- kopf's words for each decision (kopf/_core/actions/execution.py, 1.45.2) ----------------------

TOLD = [
    (PermanentError("bad"), {}, "failed permanently: bad"),
    (TemporaryError("later", delay=3), {}, "failed temporarily: later"),
    (RuntimeError("boom"), {}, "failed with an exception and will try again in 5 seconds: boom"),
    (RuntimeError("boom"), {"errors": ErrorsMode.PERMANENT}, "failed with an exception and will stop now: boom"),
    (RuntimeError("boom"), {"errors": ErrorsMode.IGNORED}, "failed with an exception and will ignore it: boom"),
    (TemporaryError("later"), {"max_retries": 1}, "failed temporarily but will exceed 1 retries: later"),
    (RuntimeError("boom"), {"max_retries": 1},
     "failed with an exception and will stop now (it would exceed 1 retries on the next attempt): boom"),
    (TemporaryError("later", delay=30), {"timeout": 10.0},
     "failed temporarily but will time out after 10.0 seconds: later"),
    (RuntimeError("boom"), {"timeout": 2.0},
     "failed with an exception and will stop now (it would time out in 2.0 seconds on the next attempt): boom"),
    (RuntimeError(), {}, "failed with an exception and will try again in 5 seconds: RuntimeError()"),
]


@pytest.mark.parametrize(("error", "options", "told"), TOLD, ids=[t for _, _, t in TOLD])
def test_each_decision_is_told_in_kopfs_words(error: BaseException, options: dict[str, Any], told: str) -> None:
    decision = decided(error, retries_so_far=1, started=1000.0, now=1000.0, backoff=5.0,
                       **{"max_retries": None, "timeout": None, **options})
    assert decision.told == told
