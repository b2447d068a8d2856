"""KubeClient: the one door to the API server.

The official ``kubernetes`` package supplies configuration (kubeconfig, in-cluster
service account, exec plugins and token refresh) and TLS material; opframe talks to
the server through its own ``urllib3`` pool and reads raw JSON with ``orjson``,
never building generated models on the hot path.

Invariants:

* every request, watches included, first takes a token from the client-side
  throttle (a token bucket: ``qps`` per second, bursts of ``burst``);
* a request that failed without an answer, with 429, or with 5xx is retried with
  tenacity, for at most ``retry_budget`` seconds in all, honouring Retry-After;
  calls that are not idempotent (POST, PATCH) are retried only when the server
  cannot have acted on them: the connection was never made, or 429;
* a 401 with ``credentials`` (kube.credentials.Credentials) logs in again and sends the
  request once more with each new credentials, until the login has nothing new; expired
  credentials are renewed before a request;
* every non-2xx answer is raised as a typed ``ApiError`` with the server's Status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlencode

import orjson
import tenacity
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)

from opframe.kube import errors
from opframe.kube.backoff import ExponentialJitter
from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.kube.credentials import REJECTED_MEMORY, Credentials, LoginError
from opframe.kube.resources import Resource
from opframe.kube.token_bucket import TokenBucket

logger = logging.getLogger("opframe.kube")

#: client-go's defaults (5 qps, burst 10) starve an operator; envtest and many
#: controllers raise them. An operator writes about one PATCH per handled object, so
#: the limit bounds an initial sync: 500/s lets 10,000 objects through in 20 s while a
#: runaway loop still cannot flood the server (whose priority-and-fairness guards the
#: rest). Measured on a 2-core machine, 100/s made the limiter the bottleneck.
DEFAULT_QPS = 500.0
DEFAULT_BURST = 1000
#: Time to open a TCP+TLS connection on a healthy network is milliseconds; 10 s covers a
#: congested control plane without hiding a dead one for long.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Read timeout for ordinary calls (not watches): the server's own default for
#: non-long-running requests is 60 s.
DEFAULT_REQUEST_TIMEOUT = 60.0
#: Total time one call may spend in retries before its last error is raised.
DEFAULT_RETRY_BUDGET = 30.0
#: First and longest pause between retries when the server gives no Retry-After.
RETRY_INITIAL_WAIT = 0.2
RETRY_MAX_WAIT = 5.0
#: A server's Retry-After is honoured up to this, so one answer cannot stall a call for long.
RETRY_AFTER_CAP = 30.0
#: Connections kept per host: one per worker plus one per watch is typical.
DEFAULT_POOL_SIZE = 32

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})

PatchType = Literal["merge", "json", "strategic", "apply"]
PATCH_CONTENT_TYPES: Mapping[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    qps: float = DEFAULT_QPS
    burst: int = DEFAULT_BURST
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    retry_budget: float = DEFAULT_RETRY_BUDGET
    pool_size: int = DEFAULT_POOL_SIZE


@dataclasses.dataclass(frozen=True)
class ListPage:
    """One page of a LIST: raw item dicts, the list's resourceVersion, and the continue token."""

    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None
    remaining_item_count: int | None


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]


class RequestNotSentError(errors.TransportError):
    """The connection could not be opened: the server cannot have acted on the request."""


#: Bytes read from a watch at a time (urllib3's own default for iterating a response).
STREAM_READ_SIZE = 2**16
#: Lines shorter than this are checked for being blank (copied to strip them); longer ones are
#: parsed as they are: the shortest watch event, a bookmark, is about 100 bytes.
BLANK_LINE_CHECK = 16


class WatchStream:
    """An open WATCH: iterate for events; ``close()`` may be called from another thread.

    Iteration ends when the server closes the stream cleanly (its timeout). A stream
    silent for ``inactivity_timeout`` raises WatchStalledError; a broken connection
    raises TransportError. A line that is not a JSON watch event is logged and skipped.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, *, path: str, inactivity_timeout: float) -> None:
        self._response = response
        self._path = path
        self._inactivity_timeout = inactivity_timeout
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._released = False

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for line in self._lines():
                if len(line) < BLANK_LINE_CHECK and not bytes(line).strip():
                    continue  # a keep-alive blank line (an event's line is never that short)
                try:
                    event = orjson.loads(line)
                    kind, obj = event["type"], event["object"]
                    if not isinstance(kind, str) or not isinstance(obj, dict):
                        raise TypeError("type or object of the wrong kind")
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    logger.warning("watch %s: skipped a malformed line (%s): %.200r", self._path, exc, bytes(line))
                    continue
                yield WatchEvent(kind, obj)
        except ReadTimeoutError:
            if self._closed.is_set():
                return
            raise errors.WatchStalledError(
                f"watch {self._path} delivered nothing for {self._inactivity_timeout:.0f} s"
            ) from None
        except (HTTPError, OSError) as exc:
            if self._closed.is_set():
                return
            raise errors.TransportError(f"watch {self._path} broke: {exc}") from exc
        finally:
            self._release()

    def _lines(self) -> Iterator[memoryview | bytearray]:
        """The stream's lines, as views into the chunks read (no copy of each line: a streamed list
        of 100,000 objects would otherwise leave the allocator holes between the objects the cache
        keeps, measured at 280 bytes per object); a line split between two chunks is joined in a
        buffer. Each line is valid only until the next one is asked for."""
        pending = bytearray()
        for chunk in self._response.stream(STREAM_READ_SIZE, decode_content=True):
            view = memoryview(chunk)
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if pending:
                    pending += view[start:end]
                    yield pending
                    pending = bytearray()
                else:
                    yield view[start:end]
                start = end + 1
            if start < len(chunk):
                pending += view[start:]
        if pending:
            yield pending

    def close(self) -> None:
        """End the stream; safe from any thread and more than once."""
        self._closed.set()
        with self._lock:
            if not self._released:
                # Unblocks a read in progress in another thread.
                with contextlib.suppress(OSError, AttributeError, ValueError, RuntimeError):
                    self._response.shutdown()
        self._release()

    def _release(self) -> None:
        """Close the connection (a watch connection is never reused) and return its slot to the pool."""
        with self._lock:
            if self._released:
                return
            self._released = True
        with contextlib.suppress(OSError, HTTPError):
            self._response.close()
        with contextlib.suppress(OSError, HTTPError):
            self._response.release_conn()


def _wait_for_retry(fallback: tenacity.wait.wait_base) -> tenacity.wait.wait_base:
    class _RetryAfterOrBackoff(tenacity.wait.wait_base):
        def __call__(self, retry_state: tenacity.RetryCallState) -> float:
            outcome = retry_state.outcome
            error = outcome.exception() if outcome is not None else None
            if isinstance(error, errors.ApiError) and error.retry_after is not None:
                return min(error.retry_after, RETRY_AFTER_CAP)
            return float(fallback(retry_state))

    return _RetryAfterOrBackoff()


def _retryable(method: str) -> tenacity.retry_base:
    idempotent = method in IDEMPOTENT_METHODS

    def should_retry(error: BaseException) -> bool:
        if isinstance(error, RequestNotSentError | errors.TooManyRequests):
            return True
        if not idempotent:
            return False
        return isinstance(error, errors.TransportError | errors.ServerError)

    return tenacity.retry_if_exception(should_retry)


class KubeClient:
    """Raw-JSON access to one API server. Thread-safe; share one per process."""

    def __init__(self, configuration: Any, settings: ClientSettings | None = None, *,
                 clock: Clock = REAL_CLOCK, credentials: Credentials | None = None) -> None:
        self.settings = settings or ClientSettings()
        #: Renewed by logging in again on a 401 (or at expiration) when given; shared by an operator's clients.
        self.credentials = credentials
        self.throttle = TokenBucket(self.settings.qps, self.settings.burst, clock=clock)
        self._clock = clock
        #: The configuration and the pool built from it, replaced together when the credentials are renewed.
        self._transport = (configuration, self._make_pool(configuration, self.settings.pool_size))
        self._wait = _wait_for_retry(
            ExponentialJitter(RETRY_INITIAL_WAIT, RETRY_MAX_WAIT)
        )
        self.request_count = 0
        #: Called after every request with (method, HTTP code or 0 without an answer, seconds).
        self.observer: Callable[[str, int, float], None] | None = None
        #: Called with the text of each ``Warning`` header of an answer (client-go's WarningHandler): the
        #: API server's deprecation notices and admission webhooks' warnings.
        self.warning_handler: Callable[[str], None] | None = None

    @property
    def configuration(self) -> Any:
        """The ``kubernetes.client.Configuration`` requests are sent with now."""
        return self._transport[0]

    @property
    def host(self) -> str:
        return str(self._transport[0].host).rstrip("/")

    def _current(self) -> tuple[Any, urllib3.PoolManager]:
        """The configuration and pool to send with: the credentials' latest (expired ones renewed first)."""
        transport = self._transport
        if self.credentials is None:
            return transport
        configuration = self.credentials.current()
        if configuration is transport[0]:
            return transport
        old = transport[0]
        pool = transport[1] if _tls_of(configuration) == _tls_of(old) else self._make_pool(
            configuration, self.settings.pool_size)
        self._transport = (configuration, pool)
        return self._transport

    @staticmethod
    def _make_pool(configuration: Any, size: int) -> urllib3.PoolManager:
        tls: dict[str, Any] = {}
        if configuration.verify_ssl:
            tls["cert_reqs"] = "CERT_REQUIRED"
            if configuration.ssl_ca_cert:
                tls["ca_certs"] = configuration.ssl_ca_cert
        else:
            tls["cert_reqs"] = "CERT_NONE"
        if configuration.cert_file:
            tls["cert_file"] = configuration.cert_file
        if configuration.key_file:
            tls["key_file"] = configuration.key_file
        server_name = getattr(configuration, "tls_server_name", None)
        if server_name:
            tls["server_hostname"] = server_name
        if getattr(configuration, "assert_hostname", None) is not None:
            tls["assert_hostname"] = configuration.assert_hostname
        if configuration.proxy:
            return urllib3.ProxyManager(configuration.proxy, num_pools=4, maxsize=size, block=False,
                                        proxy_headers=configuration.proxy_headers, **tls)
        return urllib3.PoolManager(num_pools=4, maxsize=size, block=False, **tls)

    def close(self) -> None:
        self._transport[1].clear()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the generic request -----------------------------------------------------------

    @staticmethod
    def _headers(configuration: Any, content_type: str | None, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": "opframe"}
        for setting in configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        if configuration.username and configuration.password:
            headers.update(urllib3.make_headers(
                basic_auth=f"{configuration.username}:{configuration.password}"))
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def url(self, path: str, query: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None, *,
            host: str | None = None) -> str:
        pairs = list(query.items()) if isinstance(query, Mapping) else list(query or ())
        encoded = urlencode([(k, _query_value(v)) for k, v in pairs if v is not None])
        host = host if host is not None else self.host
        return f"{host}{path}?{encoded}" if encoded else f"{host}{path}"

    def _send(self, method: str, path: str, *, query: Any = None, body: bytes | None = None,
              content_type: str | None = None, accept: str = "application/json",
              read_timeout: float | None = None, stream: bool = False) -> urllib3.BaseHTTPResponse:
        """One attempt: throttle, send, and raise a typed error for a non-2xx answer. A 401 with credentials
        that can be renewed logs in again and sends once more with each new credentials (kopf's re-login)."""
        configuration, pool = self._current()
        renewals = 0
        while True:
            response = self._attempt(method, path, configuration, pool, query=query, body=body,
                                     content_type=content_type, accept=accept, read_timeout=read_timeout,
                                     stream=stream)
            if response.status != 401 or self.credentials is None or renewals == REJECTED_MEMORY:
                break
            try:
                self.credentials.rejected(configuration)
            except LoginError as exc:
                logger.error("%s %s: %s", method, path, exc)
                break
            renewals += 1
            if stream:
                response.drain_conn()
                response.release_conn()
            configuration, pool = self._current()
        if not 200 <= response.status < 300:
            data = response.data if not stream else response.read()
            if stream:
                response.release_conn()
            raise errors.from_response(response.status, data, method=method, path=path,
                                       retry_after_header=response.headers.get("Retry-After"))
        return response

    def _attempt(self, method: str, path: str, configuration: Any, pool: urllib3.PoolManager, *, query: Any,
                 body: bytes | None, content_type: str | None, accept: str, read_timeout: float | None,
                 stream: bool) -> urllib3.BaseHTTPResponse:
        self.throttle.acquire()
        self.request_count += 1
        timeout = urllib3.Timeout(connect=self.settings.connect_timeout,
                                  read=read_timeout or self.settings.request_timeout)
        host = str(configuration.host).rstrip("/")
        started = time.monotonic()
        try:
            response = pool.request(
                method, self.url(path, query, host=host), body=body,
                headers=self._headers(configuration, content_type, accept),
                timeout=timeout, retries=False, redirect=False, preload_content=not stream,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            self._observe(method, 0, started)
            raise RequestNotSentError(f"{method} {path}: cannot connect to {host}: {exc}") from exc
        except (HTTPError, OSError) as exc:
            self._observe(method, 0, started)
            raise errors.TransportError(f"{method} {path}: {exc}") from exc
        self._observe(method, response.status, started)
        if self.warning_handler is not None:
            for value in response.headers.getlist("Warning"):
                self.warning_handler(warning_text(value))
        return response

    def _observe(self, method: str, code: int, started: float) -> None:
        if self.observer is not None:
            self.observer(method, code, time.monotonic() - started)

    def request(self, method: str, path: str, *, query: Any = None, body: Any = None,
                content_type: str | None = None, accept: str = "application/json") -> Any:
        """Send with retries and return the parsed JSON answer (None for an empty body)."""
        payload = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
        if payload is not None and content_type is None:
            content_type = "application/json"
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.settings.retry_budget),
            wait=self._wait,
            retry=_retryable(method),
            sleep=self._clock.sleep,
            reraise=True,
            before_sleep=lambda state: logger.debug(
                "retrying %s %s after %s", method, path, state.outcome.exception() if state.outcome else None
            ),
        )
        response = retrying(self._send, method, path, query=query, body=payload,
                            content_type=content_type, accept=accept)
        data = response.data
        return orjson.loads(data) if data else None

    # -- resource verbs ----------------------------------------------------------------

    def list(self, resource: Resource, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None, resource_version: str | None = None,
             resource_version_match: str | None = None) -> ListPage:
        answer = self.request("GET", resource.path(namespace=namespace), query={
            "labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit or None,
            "continue": continue_token, "resourceVersion": resource_version,
            "resourceVersionMatch": resource_version_match,
        })
        metadata = answer.get("metadata") or {}
        return ListPage(
            items=answer.get("items") or [],
            resource_version=str(metadata.get("resourceVersion") or ""),
            continue_token=metadata.get("continue") or None,
            remaining_item_count=metadata.get("remainingItemCount"),
        )

    def list_all(self, resource: Resource, *, page_size: int = 500, **options: Any) -> ListPage:
        """Every page of a LIST, joined; the resourceVersion is the first page's (a consistent snapshot)."""
        items: list[dict[str, Any]] = []
        first = page = self.list(resource, limit=page_size, **options)
        items.extend(page.items)
        while page.continue_token:
            options = {k: v for k, v in options.items() if k not in ("resource_version",
                                                                   "resource_version_match")}
            page = self.list(resource, limit=page_size, continue_token=page.continue_token, **options)
            items.extend(page.items)
        return ListPage(items, first.resource_version, None, None)

    def watch(self, resource: Resource, *, namespace: str | None = None, resource_version: str | None = None,
              timeout_seconds: int | None = None, allow_bookmarks: bool = True,
              label_selector: str | None = None, field_selector: str | None = None,
              send_initial_events: bool | None = None, resource_version_match: str | None = None,
              inactivity_timeout: float) -> WatchStream:
        """Open a WATCH. Not retried here: the Reflector decides what an error means."""
        path = resource.path(namespace=namespace)
        response = self._send("GET", path, query={
            "watch": "true", "resourceVersion": resource_version, "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "labelSelector": label_selector, "fieldSelector": field_selector,
            "sendInitialEvents": _query_value(send_initial_events) if send_initial_events is not None
            else None,
            "resourceVersionMatch": resource_version_match,
        }, read_timeout=inactivity_timeout, stream=True)
        return WatchStream(response, path=path, inactivity_timeout=inactivity_timeout)

    def get(self, resource: Resource, name: str, *, namespace: str | None = None,
            subresource: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", resource.path(namespace=namespace, name=name, subresource=subresource))
        return result

    def create(self, resource: Resource, body: dict[str, Any], *, namespace: str | None = None,
               subresource: str | None = None, name: str | None = None,
               field_manager: str | None = None) -> dict[str, Any]:
        if namespace is None and resource.namespaced:
            namespace = (body.get("metadata") or {}).get("namespace")
        result: dict[str, Any] = self.request(
            "POST", resource.path(namespace=namespace, name=name, subresource=subresource),
            body=body, query={"fieldManager": field_manager})
        return result

    def replace(self, resource: Resource, name: str, body: dict[str, Any], *, namespace: str | None = None,
                subresource: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "PUT", resource.path(namespace=namespace, name=name, subresource=subresource), body=body)
        return result

    def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str | None = None,
              subresource: str | None = None, patch_type: PatchType = "merge",
              field_manager: str | None = None, force: bool | None = None) -> dict[str, Any]:
        if patch_type == "strategic" and resource.group not in ("", *_BUILTIN_GROUPS):
            raise ValueError(f"strategic-merge patch is not supported for custom resource {resource}; "
                             "use patch_type='merge' or 'json'")
        if patch_type == "apply" and not field_manager:
            raise ValueError("a server-side apply patch needs a field_manager")
        result: dict[str, Any] = self.request(
            "PATCH", resource.path(namespace=namespace, name=name, subresource=subresource),
            body=patch, content_type=PATCH_CONTENT_TYPES[patch_type],
            query={"fieldManager": field_manager, "force": force})
        return result

    def delete(self, resource: Resource, name: str, *, namespace: str | None = None,
               propagation_policy: str | None = None, preconditions: dict[str, str] | None = None,
               grace_period_seconds: int | None = None) -> dict[str, Any] | None:
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        result: dict[str, Any] | None = self.request(
            "DELETE", resource.path(namespace=namespace, name=name), body=options)
        return result


#: Groups whose types the server knows natively, so strategic-merge patches work.
_BUILTIN_GROUPS = frozenset({
    "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "scheduling.k8s.io",
    "node.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io",
})


def warning_text(header: str) -> str:
    """The text of a ``Warning: 299 - "text"`` header (RFC 7234; the API server's form), or the header."""
    code, _, rest = header.partition(" ")
    quoted = rest.partition(" ")[2]
    if not (code.isdigit() and quoted.startswith('"') and quoted.rfind('"') > 0):
        return header
    return re.sub(r"\\(.)", r"\1", quoted[1:quoted.rfind('"')])  # a quoted-string's escapes


def _tls_of(configuration: Any) -> tuple[Any, ...]:
    """What a pool is built from (_make_pool): renewed credentials that differ only in a token keep the pool."""
    return (configuration.verify_ssl, configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file,
            getattr(configuration, "tls_server_name", None), getattr(configuration, "assert_hostname", None),
            configuration.proxy, str(configuration.proxy_headers))


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def escape(segment: str) -> str:
    return quote(segment, safe="")
