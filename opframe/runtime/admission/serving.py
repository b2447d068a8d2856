"""The admission webhook server: HTTPS in threads of its own, never in the reconcile workers' way.

Each handler is served at ``<path>/<segment>``, where the segment is its id made safe for a Service's
path (webhook_segment); kopf's form (the id, URL-quoted) is accepted too. A request runs the handlers
it selects (reviews.wanted, then the handlers' filters) one after another in registration order, as
kopf does, each with kopf's admission kwargs; the answer is built by reviews.answer.

Invariants:

* every request gets an answer, in the review's own version, or an HTTP error with a one-line reason:
  405 not POST, 404 unknown path or resource, 415 not JSON, 411/413 no or too long a body, 400 a
  malformed review; nothing a client sends stops the server;
* an answer comes before the API server gives up (``?timeout=`` it sends): handlers still running
  then are answered for (denied with 504, or allowed when every selected handler has
  ``ignore_failures``) and left to finish in the background;
* each TLS handshake uses the certificates' newest context (certificates.py), in the connection's
  own thread, so a slow client never holds up the others.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.server
import json
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.kube.resources import Resource
from opframe.models.conversion import Conversion
from opframe.objects.bodies import Body
from opframe.objects.diffs import diff
from opframe.objects.patches import Patch
from opframe.runtime.admission import reviews
from opframe.runtime.admission.certificates import ServingCertificates
from opframe.runtime.execution.calls import call
from opframe.runtime.execution.filtering import passes_with
from opframe.runtime.execution.kwargs import attempt_kwargs, object_kwargs
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.telemetry.logs import object_logger

logger = logging.getLogger("opframe.admission")

#: The largest review body read: controller-runtime's limit (an object may be up to 3 MiB in etcd, and
#: an UPDATE's review carries two of them, plus the request's metadata).
MAX_BODY_BYTES = 7 * 1024 * 1024
#: The API server's default webhook timeout, when a request does not say (admissionregistration/v1).
DEFAULT_TIMEOUT_SECONDS = 10.0
#: Answered this long before the API server's timeout: the answer's way back and its decoding.
ANSWER_MARGIN_SECONDS = 0.5
#: Handlers of requests running at once; more wait. The API server calls webhooks in parallel across
#: requests; 16 keeps sync handlers' threads bounded, as the reconcile workers are.
CONCURRENT_REQUESTS = 16
#: A TLS handshake or a request's headers taking longer than this is dropped (a stuck client).
CONNECTION_TIMEOUT_SECONDS = 30.0
#: The path segment of the reachability probe (webhooks.py): answered allowed with PROBE_WARNING, whatever
#: the object; no handler gets this segment.
PROBE_SEGMENT = "opframe.probe"
PROBE_WARNING = "opframe: the API server reaches this webhook server"
#: The path segments of the CRDs' conversion webhooks: this, then the CRD's name.
CONVERSION_PREFIX = "convert/"


def webhook_segment(handler_id: str) -> str:
    """A handler id as a URL path segment the API server accepts also in a Service's ``path`` (no
    underscores there): lower-case letters, digits, ``-`` and ``.``; ``/`` becomes ``.``, ``_`` ``-``,
    anything else its hex code (kopf's substitutions, then lowered)."""
    text = handler_id.replace("/", ".").replace("_", "-")
    return "".join(c if re.fullmatch(r"[A-Za-z0-9.-]", c) else c.encode().hex() for c in text).lower()


class AdmissionServer:
    """Serves ``handlers`` (each with the resource it was resolved to) until stop()."""

    def __init__(self, handlers: Sequence[tuple[Handler, Resource]], certificates: ServingCertificates, *,
                 loops: LoopPool | None, memo: Memo, indexes: Callable[[], Mapping[str, Any]],
                 address: str = "", port: int = 0, path: str = "", host: str | None = None,
                 extra: Callable[[], Mapping[str, Any]] | None = None,
                 conversions: Sequence[Conversion] = ()) -> None:
        self.handlers = list(handlers)
        self.certificates = certificates
        self.loops = loops
        self.memo = memo
        self.indexes = indexes
        self.extra = extra
        self.path = "/" + path.strip("/") if path.strip("/") else ""
        self.address = address
        self._port = port
        self.host = host or reachable_host(address)
        self._segments = _segments([handler.id for handler, _ in self.handlers])
        self._memos: dict[str, Memo] = {}
        self._memos_lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(CONCURRENT_REQUESTS, thread_name_prefix="admission")
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        #: The CRDs' conversion webhooks, by request path segment (CONVERSION_PREFIX + the CRD's name).
        self.conversions = {CONVERSION_PREFIX + conversion.name: conversion for conversion in conversions}
        #: Told (handler ids, outcome: allowed, denied or timeout, seconds) after every review answered.
        self.observer: Callable[[str, str, float], None] | None = None
        #: Set at shutdown's drain: still answering, but not ready, and each answer closes its connection
        #: (the API server's next request opens a new one, which the Service leads elsewhere).
        self.draining = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._server = _TLSServer((self.address, self._port), _RequestHandler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="admission-server", daemon=True)
        self._thread.start()
        logger.info("Listening for webhooks at %s", self.url(""))

    def stop(self) -> None:
        """Stop accepting, and end the connections kept alive (the API server's next request then fails
        over, or learns the server is gone)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._server.connections_lock:
                open_connections = list(self._server.connections)
            for connection in open_connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def url(self, handler_id: str) -> str:
        """The URL the API server calls for ``handler_id`` ("" for the server's root)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{host}{port}{self.request_path(handler_id)}"

    def request_path(self, handler_id: str) -> str:
        """The path ``handler_id`` is served at (a Service's ``path``; "" for the server's root; PROBE_SEGMENT
        for the probe)."""
        if handler_id == PROBE_SEGMENT or handler_id in self.conversions:
            return f"{self.path}/{handler_id}"
        return f"{self.path}/{self._segments[handler_id]}" if handler_id else self.path

    def segment(self, handler_id: str) -> str:
        return self._segments[handler_id]

    # -- one request ----------------------------------------------------------------------------

    def handler_id(self, request_path: str) -> str | None:
        """The handler id a request path names ("" for the root), or None when it is not under the path."""
        if not request_path.startswith(self.path + "/"):
            return None
        tail = request_path[len(self.path) + 1:]
        if tail == PROBE_SEGMENT or tail in self.conversions:
            return tail
        for handler_id, segment in self._segments.items():
            if segment == tail:
                return handler_id
        return urllib.parse.unquote(tail)

    def review(self, payload: Any, *, webhook: str, headers: Mapping[str, str], sslpeer: Mapping[str, Any],
               timeout: float, started: float | None = None) -> dict[str, Any]:
        """The answer to one decoded review (ReviewError for a request that is not one), within ``timeout``
        seconds of ``started`` (time.monotonic(); default: now)."""
        started = time.monotonic() if started is None else started
        review = reviews.parse(payload)
        if webhook == PROBE_SEGMENT:
            return reviews.answer(review, warnings=[PROBE_WARNING])
        known = [(handler, resource) for handler, resource in self.handlers
                 if (resource.group, resource.version, resource.plural) == (review.group, review.version,
                                                                            review.plural)]
        if not known:
            raise reviews.ReviewError(404, f"no admission handler serves {review.plural} in "
                                           f"{review.group or 'core'}/{review.version}")
        selected = [(handler, resource) for handler, resource in known if reviews.wanted(handler, review,
                                                                                         webhook=webhook)]
        if not selected:
            return reviews.answer(review)
        future = self._pool.submit(self._run, review, selected, dict(headers), dict(sslpeer))
        try:
            remaining = timeout - ANSWER_MARGIN_SECONDS - (time.monotonic() - started)
            answer: dict[str, Any] = future.result(timeout=max(0.1, remaining))
        except concurrent.futures.TimeoutError:
            names = ", ".join(handler.id for handler, _ in selected)
            tolerated = all(handler.webhook is not None and handler.webhook.ignore_failures for handler, _ in selected)
            logger.error("admission handlers %s did not answer within %.1f s; the request is %s", names, timeout,
                         "admitted (ignore_failures)" if tolerated else "denied")
            self._observe(",".join(handler.id for handler, _ in selected), "timeout", started)
            if tolerated:
                return reviews.answer(review, warnings=[f"admission handlers {names} did not answer in time"])
            return reviews.refusal(review, f"admission handlers {names} did not answer within {timeout:g} s", 504)
        return answer

    def _run(self, review: reviews.Review, selected: list[tuple[Handler, Resource]], headers: dict[str, str],
             sslpeer: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        body = Body(json.loads(json.dumps(review.body)))
        patch = Patch()
        warnings: list[str] = []
        errors: list[BaseException] = []
        metadata = body.get("metadata") or {}
        key = "/".join(part for part in (metadata.get("namespace"), metadata.get("name")) if part) or review.plural
        memo = self._memo(str(metadata.get("uid") or ""), keep=review.operation != "CREATE")
        old = Body(review.old) if review.old is not None else None
        new = Body(review.new) if review.new is not None else None
        writers: list[str] = []
        for handler, resource in selected:
            kwargs: dict[str, Any] = {
                **self.indexes(), **(self.extra() if self.extra is not None else {}), **object_kwargs(body),
                "old": old, "new": new, "diff": diff(review.old, review.new), "dryrun": review.dry_run,
                "headers": headers, "sslpeer": sslpeer, "userinfo": dict(review.user_info), "warnings": warnings,
                "operation": review.operation, "subresource": review.subresource, "patch": patch,
                "resource": resource, "memo": memo, "logger": object_logger(key), "param": handler.param,
                **attempt_kwargs(0, None)}
            before = dict(patch)
            try:
                if passes_with(handler, body, kwargs, self.loops):
                    call(handler, kwargs, self.loops)
            except Exception as error:  # a handler's error is its verdict (kopf's rule), never the server's
                errors.append(error)
                object_logger(key).info("admission handler %s: %s", handler.id, str(error) or repr(error))
            if handler.kind is Kind.VALIDATE and dict(patch) != before:
                writers.append(handler.id)
        denial = reviews.verdict(errors)
        ops = patch.as_json_patch(review.body) if patch or patch.fns else []
        if ops and writers and not any(handler.kind is Kind.MUTATE for handler, _ in selected):
            logger.warning("validating handler(s) %s wrote a patch; the API server refuses patches from validating "
                           "webhooks, so it is not sent: write it in an on.mutate handler", ", ".join(writers))
            ops = []
        self._observe(",".join(handler.id for handler, _ in selected), "allowed" if denial is None else "denied",
                      started)
        return reviews.answer(review, denial=denial, warnings=warnings, patch=ops)

    def _memo(self, uid: str, *, keep: bool) -> Memo:
        """kopf's rule: an object's memo by uid, a shallow copy of the operator's; a CREATE's is not kept."""
        with self._memos_lock:
            memo = self._memos.get(uid)
            if memo is None:
                memo = Memo(self.memo)
                if keep and uid:
                    self._memos[uid] = memo
            return memo

    def _observe(self, handler_ids: str, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer(handler_ids, outcome, time.monotonic() - started)

    def reachable(self) -> str | None:
        """None when a TLS handshake with the server succeeds now (readiness), else why not."""
        if self.draining.is_set():
            return "the webhook server is draining before shutdown"
        host = reachable_host(self.address)
        context = ssl.create_default_context(cadata=self.certificates.ca_bundle.decode(errors="replace"))
        context.check_hostname = False
        try:
            with socket.create_connection((host, self.port), timeout=2) as raw, context.wrap_socket(raw):
                return None
        except (OSError, ssl.SSLError, AssertionError) as exc:
            return f"the webhook server does not answer a TLS handshake: {exc}"


def _segments(handler_ids: list[str]) -> dict[str, str]:
    """Each id's path segment, unique (a clash gets -2, -3...)."""
    segments: dict[str, str] = {}
    for handler_id in dict.fromkeys(handler_ids):
        segment, n = webhook_segment(handler_id), 1
        while segment in segments.values() or segment == PROBE_SEGMENT:
            n += 1
            segment = f"{webhook_segment(handler_id)}-{n}"
        segments[handler_id] = segment
    return segments


def reachable_host(address: str) -> str:
    """kopf's host for a listening address: localhost for every interface, else the address."""
    return {"": "localhost", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)


def _timeout(query: str) -> float:
    """The API server's ``?timeout=10s``, in seconds."""
    values = urllib.parse.parse_qs(query).get("timeout") or []
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", values[0]) if values else None
    return float(match[1]) if match else DEFAULT_TIMEOUT_SECONDS


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[http.server.BaseHTTPRequestHandler],
                 admission: AdmissionServer) -> None:
        self.admission = admission
        self.connections: set[ssl.SSLSocket] = set()
        self.connections_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The handshake happens here, in the connection's thread, with the newest certificate."""
        request.settimeout(CONNECTION_TIMEOUT_SECONDS)
        # An answer is written as headers then body: without TCP_NODELAY the body waits for the API
        # server's delayed ACK of the headers (about 40 ms on Linux), 45 ms added to every admission.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.admission.certificates.context().wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        with self.connections_lock:
            self.connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(tls)
            tls.close()


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: _TLSServer
    protocol_version = "HTTP/1.1"  # keep-alive: the API server reuses its connections

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._error(405, "admission reviews are POSTed", close=True)

    do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def do_POST(self) -> None:
        admission = self.server.admission
        started = time.monotonic()
        # The body is read (or the connection closed) before any answer, so that a kept-alive connection
        # never reads a refused request's body as the next request.
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(411, "a Content-Length is required", close=True)
            return
        if int(length) > MAX_BODY_BYTES:
            self._error(413, f"the body is larger than {MAX_BODY_BYTES} bytes", close=True)
            return
        raw = self.rfile.read(int(length))
        path, _, query = self.path.partition("?")
        webhook = admission.handler_id(path)
        if webhook is None:
            self._error(404, f"{path} is not under the webhook path {admission.path or '/'}")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            self._error(415, "an admission review is application/json")
            return
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            self._error(400, f"the body is not JSON ({exc})")
            return
        if webhook in admission.conversions:
            if not isinstance(payload, dict) or payload.get("kind") != "ConversionReview":
                self._error(400, "a conversion webhook answers a ConversionReview")
                return
            self._answer(admission.conversions[webhook].review(payload))
            return
        sslpeer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        try:
            answer = admission.review(payload, webhook=webhook, headers=dict(self.headers.items()),
                                      sslpeer=sslpeer or {}, timeout=_timeout(query), started=started)
        except reviews.ReviewError as exc:
            self._error(exc.code, exc.message)
            return
        self._answer(answer)

    def _answer(self, answer: Mapping[str, Any]) -> None:
        admission = self.server.admission
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if admission.draining.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str, *, close: bool = False) -> None:
        data = f"{code}: {message}".encode()
        self.send_response(code, message.splitlines()[0][:200])
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
