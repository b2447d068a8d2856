"""Typed API errors (opframe.kube.errors): status codes, bodies, Retry-After. No sockets."""

from __future__ import annotations

import orjson
import pytest

from opframe.kube import errors


@pytest.mark.parametrize(("code", "reason", "expected"), [
    (400, "BadRequest", errors.BadRequest), (401, "Unauthorized", errors.Unauthorized),
    (403, "Forbidden", errors.Forbidden), (404, "NotFound", errors.NotFound),
    (409, "AlreadyExists", errors.Conflict), (409, "Conflict", errors.Conflict),
    (410, "Gone", errors.Gone), (500, "Expired", errors.Gone), (422, "Invalid", errors.Invalid),
    (429, "TooManyRequests", errors.TooManyRequests), (500, "InternalError", errors.ServerError),
    (503, "ServiceUnavailable", errors.ServerError), (504, "Timeout", errors.ServerTimeout),
    (418, "", errors.ApiError),
])
def test_status_codes_map_to_typed_errors(code: int, reason: str, expected: type[errors.ApiError]) -> None:
    body = orjson.dumps({"kind": "Status", "code": code, "reason": reason, "message": "the message"})
    error = errors.from_response(code, body, method="GET", path="/api/v1/pods")
    assert type(error) is expected
    assert error.message == "the message" and error.code == code
    assert str(error) == f"GET /api/v1/pods: {code} {reason or 'Error'}: the message"


def test_a_body_that_is_not_a_status_is_quoted() -> None:
    error = errors.from_response(502, b"<html>bad gateway</html>", method="GET", path="/x")
    assert isinstance(error, errors.ServerError) and error.message == "<html>bad gateway</html>"


def test_retry_after_comes_from_the_header_or_the_status_details() -> None:
    header = errors.from_response(429, b"{}", method="GET", path="/x", retry_after_header="7")
    assert header.retry_after == 7.0
    details = errors.from_status({"code": 429, "reason": "TooManyRequests",
                                  "details": {"retryAfterSeconds": 3}})
    assert details.retry_after == 3.0
