"""Progress persisted in annotations (opframe.handlers.progress): round trips, the handler record's states,
malformed input.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import pytest

from opframe.handlers.progress import HandlerRecord, HandlerState, Progress, digest

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)


LATER = T0 + datetime.timedelta(seconds=30)


# -- round trips ---------------------------------------------------------------------------------


def test_progress_round_trips_through_its_annotation() -> None:
    progress = Progress(cause="update", digest="abc", handlers={
        "a": HandlerRecord(state=HandlerState.SUCCEEDED, started=T0, retries=0),
        "b": HandlerRecord(state=HandlerState.DELAYED, started=T0, retries=2, delayed_until=LATER, message="boom"),
        "c": HandlerRecord(state=HandlerState.FAILED, started=T0, retries=5, message="gave up"),
        "d": HandlerRecord(),
    })
    assert Progress.from_annotation(progress.to_annotation()) == progress


def test_annotation_is_deterministic_json_with_sorted_handlers() -> None:
    progress = Progress(cause="update", digest="x", handlers={"b": HandlerRecord(), "a": HandlerRecord()})
    assert list(orjson.loads(progress.to_annotation())["handlers"]) == ["a", "b"]


def test_record_json_leaves_out_unset_fields() -> None:
    assert HandlerRecord().to_json() == {"state": "pending", "retries": 0}


def test_record_json_truncates_long_messages() -> None:
    assert len(HandlerRecord(message="x" * 2000).to_json()["message"]) == 500


def test_timestamps_keep_microseconds_and_timezone() -> None:
    record = HandlerRecord.from_json(HandlerRecord(started=T0, delayed_until=LATER).to_json())
    assert (record.started, record.delayed_until) == (T0, LATER)


def test_record_creates_a_pending_record_once() -> None:
    progress = Progress(cause="update")
    first = progress.record("h")
    first.retries = 3
    assert progress.record("h") is first
    assert first.state is HandlerState.PENDING


# -- HandlerRecord.finished and due ---------------------------------------------------------------


@pytest.mark.parametrize(("state", "finished"), [
    (HandlerState.PENDING, False), (HandlerState.DELAYED, False),
    (HandlerState.SUCCEEDED, True), (HandlerState.FAILED, True),
], ids=["pending", "delayed", "succeeded", "failed"])
def test_finished(state: HandlerState, finished: bool) -> None:
    assert HandlerRecord(state=state).finished is finished


@pytest.mark.parametrize(("record", "due"), [
    (HandlerRecord(), True),
    (HandlerRecord(state=HandlerState.DELAYED, delayed_until=T0 - datetime.timedelta(seconds=1)), True),
    (HandlerRecord(state=HandlerState.DELAYED, delayed_until=T0), True),
    (HandlerRecord(state=HandlerState.DELAYED, delayed_until=LATER), False),
    (HandlerRecord(state=HandlerState.SUCCEEDED), False),
    (HandlerRecord(state=HandlerState.FAILED), False),
], ids=["pending", "delay-passed", "delay-ends-now", "delay-ahead", "succeeded", "failed"])
def test_due(record: HandlerRecord, due: bool) -> None:
    assert record.due(T0) is due


# -- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    None, "", "{not json", "[]", '"text"', "{}", '{"cause": 1}', '{"cause": null}',
], ids=["none", "empty", "not-json", "list", "string", "no-cause", "cause-not-a-string", "cause-null"])
def test_malformed_progress_annotation_is_none(text: str | None) -> None:
    assert Progress.from_annotation(text) is None


def test_progress_with_malformed_handlers_keeps_the_cause() -> None:
    progress = Progress.from_annotation('{"cause": "update", "handlers": ["a"]}')
    assert progress == Progress(cause="update", digest="", handlers={})


def test_progress_skips_records_that_are_not_objects() -> None:
    progress = Progress.from_annotation('{"cause": "update", "handlers": {"a": 1, "b": {"state": "failed"}}}')
    assert progress is not None
    assert progress.handlers == {"b": HandlerRecord(state=HandlerState.FAILED)}


@pytest.mark.parametrize(("data", "expected"), [
    ({"state": "weird"}, HandlerRecord()),
    ({"state": ["unhashable"]}, HandlerRecord()),
    ({"retries": "3"}, HandlerRecord()),
    ({"started": "yesterday", "delayed": 12}, HandlerRecord()),
    ({}, HandlerRecord()),
], ids=["unknown-state", "unhashable-state", "retries-not-int", "bad-timestamps", "empty"])
def test_malformed_record_fields_fall_back_to_defaults(data: dict[str, Any], expected: HandlerRecord) -> None:
    assert HandlerRecord.from_json(data) == expected


def test_timestamp_without_timezone_is_read_as_utc() -> None:
    record = HandlerRecord.from_json({"state": "delayed", "delayed": "2024-05-01T12:00:30"})
    assert record.delayed_until == LATER.replace(microsecond=0)


def test_record_with_a_timestamp_without_timezone_can_be_asked_whether_due() -> None:
    record = HandlerRecord.from_json({"state": "delayed", "delayed": "2024-05-01T12:00:30"})
    assert not record.due(T0)


# -- digest --------------------------------------------------------------------------------------


def test_digest_ignores_key_order() -> None:
    assert digest({"a": 1, "b": {"c": 2, "d": 3}}) == digest({"b": {"d": 3, "c": 2}, "a": 1})


def test_digest_differs_for_different_states() -> None:
    assert digest({"spec": {"a": 1}}) != digest({"spec": {"a": 2}})


def test_digest_is_short_hex() -> None:
    value = digest({"spec": {}})
    assert len(value) == 16
    int(value, 16)
