"""Activities: the operator's own handlers (startup, cleanup, login, probe), run with kopf's retries.

An activity is retried in the process until it succeeds, as kopf does: a TemporaryError
after its delay, any other error as its ``errors=`` says (default TEMPORARY) after its
``backoff=``, the operator's default backoff, or exponential jitter; ``retries=`` and
``timeout=`` end the attempts. A PermanentError (or giving up) is an ``ActivityError``:
for startup and login the operator does not start.

Each attempt gets kopf's kwargs for activities: ``activity``, ``logger``
(``opframe.activities.<activity>``), ``memo`` (the operator's), ``settings`` (kopf's
OperatorSettings), ``param``, ``retry`` (attempts before this one), ``started`` (aware
UTC time of the first attempt), ``runtime`` (a timedelta since then), the index kwargs,
and opframe's ``api``. A stop flag, when set, ends the waiting between attempts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from opframe.handlers import retries
from opframe.handlers.handler import Handler
from opframe.handlers.progress import now_utc
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.kwargs import attempt_kwargs
from opframe.runtime.execution.loops import LoopPool


class ActivityError(Exception):
    """An activity failed for good; the message names the handler and why."""


def run_activity(handler: Handler, base: Mapping[str, Any], loops: LoopPool | None, *,
                 default_backoff: float | None = None, stop: threading.Event | None = None,
                 extra: Callable[[], Mapping[str, Any]] | None = None) -> Any:
    """Run one activity handler until it succeeds; its result, or ActivityError."""
    logger = logging.getLogger(f"opframe.activities.{handler.kind.value}")
    started = now_utc()
    first = time.monotonic()
    retry = 0
    policy = retries.RetryPolicy.of(handler, default_backoff)
    while True:
        kwargs = {**base, **(extra() if extra is not None else {}), "activity": handler.kind.value,
                  "logger": logger, "param": handler.param, **attempt_kwargs(retry, started)}
        try:
            return call(handler, kwargs, loops)
        except Exception as error:
            retry += 1
            verdict = policy.decide(error, failures=retry, started=first, now=time.monotonic())
            if verdict.ignored:
                return None
            if not verdict.retry:
                raise ActivityError(f"{handler.kind.value} handler {handler.id} failed: {verdict.reason}") from error
            logger.warning("%s handler %s failed (%s); retrying in %.1f s", handler.kind.value, handler.id,
                           verdict.reason, verdict.delay)
            if stop is not None:
                if stop.wait(verdict.delay):
                    raise ActivityError(f"{handler.kind.value} handler {handler.id} did not succeed before the "
                                        "operator stopped") from error
            else:
                time.sleep(verdict.delay)
