"""Invoker: calls one kind's handlers on the calling thread (a worker or a finisher).

Each call gets the kwargs its caller built (its own copy of the object); its duration and
outcome go to the metrics. Change handlers are called with their due sub-handlers
(parents.py); ``on.event`` handlers are filtered (filtering.py), called once and reported
(never retried: kopf's rule). The Invoker holds no per-key state.
"""

from __future__ import annotations

import time
from typing import Any

from opframe.handlers.handler import Handler, Kind
from opframe.handlers.outcomes import Outcome, Raised, Succeeded
from opframe.handlers.progress import now_utc
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.filtering import FilterEvaluator
from opframe.runtime.execution.kwargs import KwargsBuilder, fresh_body
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.execution.parents import Records, run_parent
from opframe.runtime.telemetry.metrics import OperatorMetrics
from opframe.runtime.telemetry.reporter import Reporter


class Invoker:
    def __init__(self, name: str, handlers: list[Handler], *, kwargs: KwargsBuilder, filters: FilterEvaluator,
                 loops: LoopPool, reporter: Reporter, metrics: OperatorMetrics | None) -> None:
        self.name = name
        self.kwargs = kwargs
        self.filters = filters
        self.loops = loops
        self.reporter = reporter
        self.metrics = metrics
        self.event_handlers = [h for h in handlers if h.kind is Kind.EVENT]

    def run_event_handlers(self, key: str, event_type: str | None, raw: bytes) -> None:
        for handler in self.event_handlers:
            body = fresh_body(raw)
            if not self.filters.passes(handler, key, body, raw):
                continue
            kwargs = self.kwargs.build(handler, body, key, reason=None, event={"type": event_type, "object": body},
                                       type_=event_type)
            outcome = self.invoke(handler, kwargs)
            self.reporter.event_handler(key, handler.id, outcome.error if isinstance(outcome, Raised) else None)

    def invoke(self, handler: Handler, kwargs: dict[str, Any]) -> Succeeded | Raised:
        """Call a handler on this thread, recording its duration and outcome in the metrics."""
        started = time.monotonic()
        outcome: Succeeded | Raised
        try:
            outcome = Succeeded(call(handler, kwargs, self.loops))
        except Exception as error:
            outcome = Raised(error)
        self.observe(handler, time.monotonic() - started, isinstance(outcome, Raised))
        return outcome

    def invoke_change(self, handler: Handler, kwargs: dict[str, Any], records: Records) -> Outcome:
        """Call a change handler on this thread, then its due sub-handlers (parents.py)."""
        started = time.monotonic()
        outcome = run_parent(handler, kwargs, self.loops, records, now_utc())
        self.observe(handler, time.monotonic() - started, isinstance(outcome, Raised))
        return outcome

    def observe(self, handler: Handler, seconds: float, failed: bool) -> None:
        if self.metrics is not None:
            self.metrics.observe_handler(self.name, handler.id, seconds, failed)
