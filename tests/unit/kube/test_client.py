"""KubeClient's pure parts (opframe.kube.client): WatchStream parses a watch body line by line (bad lines are skipped,
never fatal), and the retry decisions. No sockets.
"""

from __future__ import annotations

import io
import logging

import pytest
import tenacity
import urllib3

from opframe.kube import errors
from opframe.kube.client import RETRY_AFTER_CAP, RequestNotSentError, WatchStream, _retryable, _wait_for_retry


def _stream(body: bytes) -> WatchStream:
    response = urllib3.HTTPResponse(body=io.BytesIO(body), preload_content=False, status=200)
    return WatchStream(response, path="/api/v1/configmaps", inactivity_timeout=5)


def test_events_are_parsed_in_order_and_blank_lines_ignored() -> None:
    body = (b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n\n'
            b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}}\n')
    events = list(_stream(body))
    assert [(e.type, e.object["metadata"]["resourceVersion"]) for e in events] == [("ADDED", "1"),
                                                                                  ("BOOKMARK", "2")]


@pytest.mark.parametrize("bad", [
    b"{not json", b'{"type":"ADDED"}', b'{"object":{}}', b'["a list"]', b'{"type":1,"object":{}}',
    b'{"type":"ADDED","object":"text"}',
], ids=["garbage", "no-object", "no-type", "list", "type-not-string", "object-not-dict"])
def test_a_malformed_line_is_logged_once_and_the_next_event_still_arrives(
        bad: bytes, caplog: pytest.LogCaptureFixture) -> None:
    body = bad + b'\n{"type":"MODIFIED","object":{"metadata":{"name":"b","resourceVersion":"9"}}}\n'
    with caplog.at_level(logging.WARNING, logger="opframe.kube"):
        events = list(_stream(body))
    assert [e.type for e in events] == ["MODIFIED"]
    warnings = [r for r in caplog.records if "malformed line" in r.getMessage()]
    assert len(warnings) == 1 and "/api/v1/configmaps" in warnings[0].getMessage()


def test_close_ends_iteration_and_can_be_repeated() -> None:
    stream = _stream(b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n')
    stream.close()
    stream.close()
    assert list(stream) == []


# -- retries ----------------------------------------------------------------------------------------


def _state(error: BaseException) -> tenacity.RetryCallState:
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.set_exception((type(error), error, None))
    return state


def test_retry_honours_retry_after_up_to_a_cap() -> None:
    wait = _wait_for_retry(tenacity.wait_fixed(0.25))
    assert wait(_state(errors.TooManyRequests(429, "slow down", retry_after=4))) == 4
    assert wait(_state(errors.TooManyRequests(429, "slow down", retry_after=3600))) == RETRY_AFTER_CAP
    assert wait(_state(errors.ServerError(500, "oops"))) == 0.25


@pytest.mark.parametrize(("method", "error", "retried"), [
    ("GET", errors.ServerError(500, "x"), True),
    ("GET", errors.TransportError("reset"), True),
    ("GET", errors.TooManyRequests(429, "x"), True),
    ("GET", errors.NotFound(404, "x"), False),
    ("PUT", errors.ServerError(503, "x"), True),
    ("POST", errors.ServerError(500, "x"), False),  # the server may have acted on it
    ("POST", errors.TransportError("reset mid-request"), False),
    ("POST", RequestNotSentError("refused"), True),  # it never left
    ("PATCH", errors.TooManyRequests(429, "x"), True),  # rejected before acting
    ("PATCH", errors.Conflict(409, "x"), False),
])
def test_only_safe_retries_are_made(method: str, error: BaseException, retried: bool) -> None:
    assert _retryable(method)(_state(error)) is retried


@pytest.mark.parametrize("read_size", [1, 7, 64, 2**16])
def test_lines_split_across_reads_are_joined_and_a_last_line_without_newline_counts(
        read_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import opframe.kube.client as client_module

    monkeypatch.setattr(client_module, "STREAM_READ_SIZE", read_size)
    lines = [b'{"type":"ADDED","object":{"metadata":{"name":"o%d","resourceVersion":"%d"}}}' % (i, i)
             for i in range(20)]
    body = b"\n".join(lines[:10]) + b"\n \n\r\n" + b"\n".join(lines[10:])  # blank lines; no newline at the end
    events = list(_stream(body))
    assert [e.object["metadata"]["name"] for e in events] == [f"o{i}" for i in range(20)]
