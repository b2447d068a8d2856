"""What calling a handler produced: its result, its error, or (for a parent) its sub-handlers' outcomes.

Plain records, made by the runtime where user code ran (runtime/execution) and read by the
planner's ``conclude()`` (pure), which turns them into progress, retries and results.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opframe.handlers.handler import Handler


@dataclasses.dataclass(frozen=True)
class Succeeded:
    result: Any = None


@dataclasses.dataclass(frozen=True)
class Raised:
    error: BaseException


@dataclasses.dataclass(frozen=True)
class WithChildren:
    """A parent handler's call that declared sub-handlers: its own result or error, every
    sub-handler it declared (full ids), and the outcomes of those that ran now."""

    result: Any
    error: BaseException | None
    declared: tuple[Handler, ...]
    ran: tuple[tuple[str, Succeeded | Raised], ...]


@dataclasses.dataclass(frozen=True)
class Pending:
    """A parent whose sub-handlers are not all finished: it comes back after ``delay`` seconds."""

    delay: float


Outcome = Succeeded | Raised | WithChildren


@dataclasses.dataclass(frozen=True)
class Failure:
    handler_id: str
    reason: str
    retry_in: float | None  # None: failed for good
    #: kopf's words for it, after "Handler 'x' " (RetryDecision.told).
    told: str = ""
    #: The exception whose traceback is logged with it (retries.traceback_of), if any.
    error: BaseException | None = None
    #: ErrorsMode.IGNORED: logged as a failure, counted as a success (kopf's rule).
    ignored: bool = False
