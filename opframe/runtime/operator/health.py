"""HealthServer: /healthz, /readyz and /metrics on one HTTP port, in controller-runtime's format.

A probe endpoint answers 200 ``ok`` when every check passes, else 500 with one line
per check, ``[+]name ok`` or ``[-]name failed: reason``, and a last line
``<endpoint> check failed``. ``?verbose`` lists every check also when all pass.
``/metrics`` is Prometheus text format.

Checks are plain callables returning None (ok), a ``Passed(detail)`` (ok, with a detail
shown as ``[+]name ok: detail``, as for ``on.probe`` results) or a reason string
(failed); an exception is a failure whose reason is the exception's text. They run on
the request's thread and must be quick.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

#: kopf's caching of probe results: a liveness probe every second does not run the probes every second.
PROBES_MAX_AGE = 10.0

logger = logging.getLogger("opframe.health")

class Passed:
    """A passing check's result worth showing (an ``on.probe`` handler's return value)."""

    def __init__(self, detail: object) -> None:
        self.detail = detail


Check = Callable[[], "str | Passed | None"]
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render_checks(endpoint: str, checks: list[tuple[str, Check]], *, verbose: bool) -> tuple[int, str]:
    lines = []
    failed = False
    for name, check in checks:
        try:
            reason = check()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            lines.append(f"[+]{name} ok")
        elif isinstance(reason, Passed):
            lines.append(f"[+]{name} ok: {reason.detail}")
        else:
            failed = True
            lines.append(f"[-]{name} failed: {reason}")
    if failed:
        return 500, "\n".join([*lines, f"{endpoint} check failed"]) + "\n"
    if verbose:
        return 200, "\n".join([*lines, f"{endpoint} check passed"]) + "\n"
    return 200, "ok"


class HealthServer:
    def __init__(self, host: str, port: int, *, liveness: list[tuple[str, Check]],
                 readiness: list[tuple[str, Check]], metrics: Callable[[], bytes] | None,
                 probes: Callable[[], dict[str, Any]] | None = None, probes_path: str | None = None) -> None:
        """``probes``/``probes_path``: kopf's liveness endpoint (``-L URL``): the probe handlers'
        results as one JSON object by handler id, recomputed at most every PROBES_MAX_AGE seconds."""
        self.liveness = liveness
        self.readiness = readiness
        self.metrics = metrics
        self._probes = probes
        self._probes_lock = threading.Lock()
        self._probed: tuple[float, bytes] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                verbose = "verbose" in parse_qs(url.query, keep_blank_values=True)
                if probes_path is not None and url.path == probes_path and server._probes is not None:
                    try:
                        self._send(200, server.probe_results(), content_type="application/json")
                    except Exception as exc:
                        self._send(500, f"probe failed: {type(exc).__name__}: {exc}\n")
                elif url.path in ("/healthz", "/livez"):
                    self._send(*render_checks("healthz", server.liveness, verbose=verbose))
                elif url.path == "/readyz":
                    self._send(*render_checks("readyz", server.readiness, verbose=verbose))
                elif url.path == "/metrics" and server.metrics is not None:
                    body = server.metrics()
                    self._send(200, body, content_type=PROMETHEUS_CONTENT_TYPE)
                else:
                    self._send(404, "not found\n")

            def _send(self, code: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8") -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("%s %s", self.address_string(), format % args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="opframe-health", daemon=True)

    def probe_results(self) -> bytes:
        with self._probes_lock:
            now = time.monotonic()
            if self._probed is None or now - self._probed[0] >= PROBES_MAX_AGE:
                assert self._probes is not None
                self._probed = (now, json.dumps(self._probes(), default=str).encode())
            return self._probed[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
