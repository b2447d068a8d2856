"""Progress persisted on the object, so that a restarted operator resumes where it was.

The ``<prefix>/progress`` annotation (bookkeeping.py) holds the cause being handled and,
per handler, a record.

A handler's record is a small state machine::

    (none) --attempt ok--> SUCCEEDED
       |  --attempt raised, retry allowed--> DELAYED(until) --due--> attempt again
       +  --attempt raised, no retry--------> FAILED

SUCCEEDED and FAILED are final for the cause: a succeeded handler never runs again
for that cause, also after a restart. ``retries`` counts failed attempts and
``started`` is the first attempt's time, both surviving restarts. A cause is about
one state of the object (its essence's ``digest``): if the object changes while
handlers are still pending, the cause starts over against the new state, so every
handler sees the state that becomes the diff-base.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson


class HandlerState(enum.Enum):
    PENDING = "pending"
    DELAYED = "delayed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _format(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment is not None else None


def parse_time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    # A timestamp without an offset (hand-written, or older kopf's) is UTC; a naive one would not compare with
    # now_utc().
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


@dataclasses.dataclass
class HandlerRecord:
    state: HandlerState = HandlerState.PENDING
    started: datetime.datetime | None = None
    retries: int = 0
    delayed_until: datetime.datetime | None = None
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in (HandlerState.SUCCEEDED, HandlerState.FAILED)

    def due(self, now: datetime.datetime) -> bool:
        return not self.finished and (self.delayed_until is None or self.delayed_until <= now)

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"state": self.state.value, "retries": self.retries}
        if self.started is not None:
            record["started"] = _format(self.started)
        if self.delayed_until is not None:
            record["delayed"] = _format(self.delayed_until)
        if self.message:
            record["message"] = self.message[:500]
        return record

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HandlerRecord:
        try:
            state = HandlerState(data.get("state", "pending"))
        except ValueError:
            state = HandlerState.PENDING
        retries = data.get("retries", 0)
        return cls(state=state, started=parse_time(data.get("started")),
                   retries=retries if isinstance(retries, int) else 0,
                   delayed_until=parse_time(data.get("delayed")), message=str(data.get("message", "")))


@dataclasses.dataclass
class Progress:
    """What is being handled on one object, and how far each handler got."""

    cause: str
    digest: str = ""
    handlers: dict[str, HandlerRecord] = dataclasses.field(default_factory=dict)

    def record(self, handler_id: str) -> HandlerRecord:
        return self.handlers.setdefault(handler_id, HandlerRecord())

    def to_annotation(self) -> str:
        return orjson.dumps({"cause": self.cause, "digest": self.digest,
                             "handlers": {k: v.to_json() for k, v in sorted(self.handlers.items())}}).decode()

    @classmethod
    def from_annotation(cls, text: str | None) -> Progress | None:
        data = json_object(text)
        if data is None or not isinstance(data.get("cause"), str):
            return None
        raw = data.get("handlers")
        handlers: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return cls(cause=data["cause"], digest=str(data.get("digest", "")), handlers={
            str(k): HandlerRecord.from_json(v) for k, v in handlers.items() if isinstance(v, dict)})


def json_object(text: str | None) -> dict[str, Any] | None:
    """An annotation's JSON object; None when absent, not JSON or not an object (hand-edited)."""
    if not text:
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def digest(essence: Mapping[str, Any]) -> str:
    """A short fingerprint of an essence: which state a cause in progress is about."""
    return hashlib.sha256(orjson.dumps(essence, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
