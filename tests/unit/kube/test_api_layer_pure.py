"""The API layer's pure parts: typed errors, retry decisions, paths. No sockets."""

from __future__ import annotations

import orjson
import pytest
import tenacity

from opframe.kube import Resource, errors
from opframe.kube.client import RETRY_AFTER_CAP, RequestNotSentError, _retryable, _wait_for_retry


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


def test_resource_paths() -> None:
    pods = Resource("", "v1", "pods", "Pod")
    assert pods.path() == "/api/v1/pods"
    assert pods.path(namespace="ns", name="p", subresource="status") == "/api/v1/namespaces/ns/pods/p/status"
    sites = Resource("example.com", "v1", "websites", "Website")
    assert sites.path(namespace="a b") == "/apis/example.com/v1/namespaces/a%20b/websites"
    assert sites.qualified_name == "websites.example.com" and sites.api_version == "example.com/v1"
    nodes = Resource("", "v1", "nodes", namespaced=False)
    assert nodes.path(namespace="ignored", name="n1") == "/api/v1/nodes/n1"
    with pytest.raises(ValueError, match="needs an object name"):
        pods.path(subresource="status")
