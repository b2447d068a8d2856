"""Admission webhooks' types, with kopf's names (``Headers``, ``SSLPeer``, ``UserInfo``, ...).

opframe does not serve admission webhooks yet: ``on.validate``/``on.mutate`` handlers are
registered (so kopf code imports) and refused at start-up with the reason. These types
exist so that handlers' annotations and ``AdmissionError`` raised in shared code work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, Protocol, TypedDict

from opframe.handlers.retries import PermanentError

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


class AdmissionError(PermanentError):
    """An admission handler's verdict that the operation is bad: a message and an HTTP-like code."""

    def __init__(self, message: str | None = "", code: int | None = 500) -> None:
        super().__init__(message)
        self.code = code
