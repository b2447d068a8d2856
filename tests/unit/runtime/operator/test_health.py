"""Health probes in controller-runtime's format: render_checks, and HealthServer over loopback HTTP."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from opframe.runtime.operator.health import PROMETHEUS_CONTENT_TYPE, Check, HealthServer, render_checks


def ok() -> str | None:
    return None


def broken() -> str | None:
    return "informer not synced"


def raising() -> str | None:
    raise RuntimeError("cannot reach the cache")


def test_all_checks_passing_answer_200_ok() -> None:
    assert render_checks("healthz", [("ping", ok), ("cache", ok)], verbose=False) == (200, "ok")


def test_no_checks_answer_200_ok() -> None:
    assert render_checks("readyz", [], verbose=False) == (200, "ok")


def test_verbose_lists_every_passing_check_and_the_verdict() -> None:
    code, body = render_checks("healthz", [("ping", ok), ("cache", ok)], verbose=True)
    assert code == 200
    assert body.splitlines() == ["[+]ping ok", "[+]cache ok", "healthz check passed"]


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failing_check_answers_500_with_its_reason(verbose: bool) -> None:
    code, body = render_checks("readyz", [("ping", ok), ("informers", broken)], verbose=verbose)
    assert code == 500
    assert body.splitlines() == ["[+]ping ok", "[-]informers failed: informer not synced", "readyz check failed"]


def test_an_exception_in_a_check_is_a_failure_with_its_text() -> None:
    code, body = render_checks("healthz", [("cache", raising), ("ping", ok)], verbose=False)
    assert code == 500
    lines = body.splitlines()
    assert lines[0].startswith("[-]cache failed: ")
    assert "cannot reach the cache" in lines[0]
    assert lines[1:] == ["[+]ping ok", "healthz check failed"]


def test_every_check_runs_even_after_a_failure() -> None:
    ran: list[str] = []

    def recording(name: str, reason: str | None) -> Check:
        def check() -> str | None:
            ran.append(name)
            return reason
        return check

    code, _ = render_checks("healthz", [("a", recording("a", "down")), ("b", recording("b", None))], verbose=False)
    assert code == 500
    assert ran == ["a", "b"]


# -- the HTTP server (loopback only) -------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[HealthServer]:
    health = HealthServer("127.0.0.1", 0, liveness=[("ping", ok)], readiness=[("ping", ok), ("informers", ok)],
                          metrics=lambda: b"# HELP up Up.\n# TYPE up gauge\nup 1.0\n")
    health.start()
    try:
        yield health
    finally:
        health.stop()


def get(server: HealthServer, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def test_health_server_answers_probes_metrics_and_404(server: HealthServer) -> None:
    assert server.port != 0

    status, content_type, body = get(server, "/healthz")
    assert (status, body) == (200, b"ok")
    assert content_type.startswith("text/plain")

    assert get(server, "/livez")[::2] == (200, b"ok")

    status, _, body = get(server, "/readyz?verbose")
    assert status == 200
    assert body.decode().splitlines() == ["[+]ping ok", "[+]informers ok", "readyz check passed"]

    status, content_type, body = get(server, "/metrics")
    assert (status, content_type) == (200, PROMETHEUS_CONTENT_TYPE)
    assert body == b"# HELP up Up.\n# TYPE up gauge\nup 1.0\n"

    status, _, body = get(server, "/no-such-endpoint")
    assert status == 404

    # checks are read per request: a failing readiness check turns /readyz into a 500
    server.readiness = [("ping", ok), ("informers", broken)]
    status, _, body = get(server, "/readyz")
    assert status == 500
    assert body.decode().splitlines() == ["[+]ping ok", "[-]informers failed: informer not synced",
                                          "readyz check failed"]
    assert get(server, "/healthz")[::2] == (200, b"ok")

    server.metrics = None
    assert get(server, "/metrics")[0] == 404


def test_a_passing_check_may_show_a_detail() -> None:
    from opframe.runtime.operator.health import Passed, render_checks

    code, body = render_checks("healthz", [("probe-db", lambda: Passed({"ms": 3}))], verbose=True)
    assert code == 200 and "[+]probe-db ok: {'ms': 3}" in body
    assert render_checks("healthz", [("probe-db", lambda: Passed(1))], verbose=False) == (200, "ok")
