"""Admission webhooks' types, with kopf's names (``Headers``, ``SSLPeer``, ``UserInfo``, ...), for
handlers' annotations and custom servers; ``AdmissionError`` is the core's (handlers.retries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, Protocol, TypedDict

from opframe.handlers.retries import AdmissionError

Headers = dict[str, str]
SSLPeer = dict[str, Any]
Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]


class UserInfo(TypedDict):
    username: str
    uid: str
    groups: list[str]


class WebhookClientConfigService(TypedDict, total=False):
    namespace: str | None
    name: str | None
    path: str | None
    port: int | None


class WebhookClientConfig(TypedDict, total=False):
    """How API servers reach a webhook server (put into webhook configurations as is)."""

    caBundle: str | None
    url: str | None
    service: WebhookClientConfigService | None


class WebhookFn(Protocol):
    """The framework's function a webhook server calls per admission request."""

    def __call__(self, request: dict[str, Any], *, webhook: str | None = None, headers: Headers | None = None,
                 sslpeer: SSLPeer | None = None) -> Awaitable[dict[str, Any]]: ...


WebhookServerProtocol = Callable[[WebhookFn], AsyncIterator[WebhookClientConfig]]


__all__ = ["AdmissionError", "Headers", "Operation", "SSLPeer", "UserInfo", "WebhookClientConfig",
           "WebhookClientConfigService", "WebhookFn", "WebhookServerProtocol"]
