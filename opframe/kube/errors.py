"""Typed API errors that carry the server's Status.

Every non-2xx answer of the API server becomes one ``ApiError`` subclass chosen by
HTTP code (and, for 410 and 504, by the Status reason), carrying the Status message,
reason, details and, where given, the server's Retry-After. Failures that never got an
HTTP answer are ``TransportError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson


class KubeError(Exception):
    """Base of every error the API layer raises."""


class TransportError(KubeError):
    """No HTTP answer: connection refused or reset, TLS failure, timeout."""


class WatchStalledError(TransportError):
    """A watch stream delivered nothing, not even a bookmark, for its inactivity timeout."""


class ApiError(KubeError):
    status: ClassVar[int] = 0

    def __init__(self, code: int, message: str, *, reason: str = "", details: dict[str, Any] | None = None,
                 retry_after: float | None = None, method: str = "", path: str = "") -> None:
        self.code = code
        self.message = message
        self.reason = reason
        self.details = details or {}
        self.retry_after = retry_after
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        super().__init__(f"{where}{code} {reason or 'Error'}: {message}")


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    """410: the resourceVersion asked for is older than the server keeps (Expired or Gone)."""

    status = 410


class Invalid(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429


class ServerError(ApiError):
    """5xx: the server failed; idempotent calls are retried."""

    status = 500


class ServerTimeout(ServerError):
    status = 504


_BY_CODE: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, Gone, Invalid,
                TooManyRequests, ServerTimeout)
}


def error_class(code: int, reason: str = "") -> type[ApiError]:
    if reason in ("Expired", "Gone"):
        return Gone
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code >= 500:
        return ServerError
    return ApiError


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def from_status(status: dict[str, Any], *, fallback_code: int = 0, method: str = "", path: str = "",
                retry_after: float | None = None) -> ApiError:
    """The error for a Status object (from a response body or a watch ERROR event)."""
    code = int(status.get("code") or fallback_code or 500)
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or reason or "no message")
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    if retry_after is None and details is not None:
        seconds = details.get("retryAfterSeconds")
        retry_after = float(seconds) if isinstance(seconds, int | float) else None
    cls = error_class(code, reason)
    return cls(code, message, reason=reason, details=details, retry_after=retry_after,
               method=method, path=path)


def from_response(code: int, body: bytes, *, method: str, path: str,
                  retry_after_header: str | None = None) -> ApiError:
    """The error for a non-2xx HTTP answer; a body that is not a Status is quoted."""
    status: dict[str, Any]
    try:
        parsed = orjson.loads(body) if body else {}
        status = parsed if isinstance(parsed, dict) else {}
    except orjson.JSONDecodeError:
        status = {}
    if not status.get("message"):
        text = body.decode(errors="replace").strip()[:500]
        status = {**status, "message": text or f"HTTP {code}"}
    return from_status(status, fallback_code=code, method=method, path=path,
                       retry_after=parse_retry_after(retry_after_header))
