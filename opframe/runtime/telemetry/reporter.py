"""Reporter: what users see of handler outcomes — the journal, the log lines, the Events.

One place says how an outcome is reported, for change handlers, sub-handlers, on.event
handlers and timers alike. The log lines keep kopf's wording (its users' tests look for
them: "Handler 'x' succeeded.", "Handler 'x' failed temporarily: ...", "Handler 'x' failed with an
exception and will try again in 60 seconds: ...", "Timer 'x' succeeded.").
Invariant: a failure is journalled, logged and (as a Warning Event) posted exactly once per
attempt; a success posts a Normal Event only with ``success_events``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from opframe.handlers.causes import Reason
from opframe.handlers.outcomes import Failure
from opframe.handlers.retries import traceback_of
from opframe.runtime.telemetry import journal
from opframe.runtime.telemetry.events import EventRecorder
from opframe.runtime.telemetry.logs import object_logger

#: kopf's names of causes in its log lines ("Creation is in progress: ...").
TITLES = {Reason.CREATE: "Creation", Reason.UPDATE: "Updating", Reason.DELETE: "Deletion",
          Reason.RESUME: "Resuming"}


@dataclasses.dataclass
class Reporter:
    """Reports one kind's handler outcomes (``name``: the kind's qualified name, as journalled)."""

    name: str
    events: EventRecorder
    success_events: bool = False

    def cause(self, key: str, body: Mapping[str, Any], reason: Reason, kinds: Mapping[str, str],
              failures: Sequence[Failure], succeeded: Sequence[str], finished: bool) -> None:
        """The outcomes of one reconcile's change handlers (``kinds``: handler id -> its kind)."""
        log = object_logger(key)
        ignored = {failure.handler_id: failure.reason for failure in failures if failure.ignored}
        for failure in failures:
            # kopf's logger.exception: an arbitrary exception's traceback, once per attempt
            log.error("Handler '%s' %s", failure.handler_id, failure.told, exc_info=failure.error)
            self.events.post(body, type_="Warning", reason="HandlerFailed",
                             message=f"{failure.handler_id}: {failure.reason}")
            if not failure.ignored:  # an ignored error counts as a success (journalled below)
                journal.record(key, self.name, failure.handler_id, kinds.get(failure.handler_id, ""),
                               "retrying" if failure.retry_in is not None else "failed", failure.reason)
        if finished and kinds:
            log.info("%s is processed: %d succeeded; %d failed.", TITLES.get(reason, "Handling"),
                     len(succeeded), len([f for f in failures if f.retry_in is None and not f.ignored]))
        for handler_id in succeeded:
            journal.record(key, self.name, handler_id, kinds.get(handler_id, ""), "succeeded",
                           ignored.get(handler_id, ""))
            if handler_id not in ignored:
                log.info("Handler '%s' succeeded.", handler_id)
            if self.success_events:
                self.events.post(body, type_="Normal", reason="HandlerSucceeded",
                                 message=f"{handler_id} succeeded for {reason.value}")

    def event_handler(self, key: str, handler_id: str, error: BaseException | None) -> None:
        """An on.event handler's call (never retried: kopf's rule)."""
        if error is not None:  # kopf's words: an on.event handler's errors are ignored
            object_logger(key).error("Handler '%s' failed with an exception and will ignore it: %s", handler_id,
                                     str(error) or repr(error), exc_info=traceback_of(error))
        else:
            object_logger(key).info("Handler '%s' succeeded.", handler_id)
        journal.record(key, self.name, handler_id, "event", "failed" if error is not None else "succeeded",
                       repr(error) if error is not None else "")

    def timer(self, key: str, body: Mapping[str, Any], handler_id: str, error: BaseException | None, *,
              retry_in: float | None = None, ignored: bool = False, told: str = "") -> None:
        """A timer's run: succeeded, failed and retried after ``retry_in``, or failed for good (logged in
        kopf's words, ``told``: RetryDecision.told)."""
        journal.record(key, self.name, handler_id, "timer", "failed" if error is not None else "succeeded",
                       str(error) if error is not None else "")
        log = object_logger(key)
        if error is None:
            log.info("Timer '%s' succeeded.", handler_id)
            return
        log.error("Timer '%s' %s", handler_id, told, exc_info=traceback_of(error))
        if not ignored and retry_in is None:
            self.events.post(body, type_="Warning", reason="TimerFailed", message=f"{handler_id}: {error}")
