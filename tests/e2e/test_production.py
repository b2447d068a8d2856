"""Running in production: leader election, health and metrics, on the real control plane."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from operator_journal import CONFIGMAPS, PRELUDE, Journal, configmap, journal

from opframe.kube import KubeClient, Resource
from opframe.testing import ControlPlane, eventually
from opframe.testing.controlplane import free_port
from opframe.testing.operator import OperatorProcess
from opframe.testing.proxy import ChaosProxy

pytestmark = pytest.mark.e2e
__all__ = ["journal"]  # a fixture

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
#: Short lease timings keep the tests quick; they keep client-go's proportions
#: (duration > deadline > 1.2 x retry period).
LEASE = {"OPFRAME_LEASE_DURATION": "4", "OPFRAME_RENEW_DEADLINE": "3", "OPFRAME_RETRY_PERIOD": "0.5"}
HANDLER = PRELUDE + '''
@on.create("configmaps", labels={"app": "test"})
def created(name, **_):
    note(handler="create", name=name, pid=os.getpid(), at=time.time())
'''


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def operator_file(tmp_path: Path) -> Path:
    path = tmp_path / "leader_operator.py"
    path.write_text(HANDLER)
    return path


@pytest.fixture
def replicas(control_plane: ControlPlane, operator_file: Path, journal: Journal,
             namespace: str) -> Iterator[Callable[..., OperatorProcess]]:
    started: list[OperatorProcess] = []

    def start(kubeconfig: Path | None = None, extra_env: dict[str, str] | None = None) -> OperatorProcess:
        process = OperatorProcess(
            [operator_file], kubeconfig=kubeconfig or control_plane.kubeconfig,
            args=["-n", namespace, "--leader-election", "--lease-name", "test-lease", "--lease-namespace", namespace],
            env={"JOURNAL": str(journal.path), **LEASE, **(extra_env or {})}).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
        process.cleanup()


def _leader(kube_client: KubeClient, namespace: str) -> str:
    return kube_client.get(LEASES, "test-lease", namespace=namespace)["spec"].get("holderIdentity") or ""


def _handled_by(journal: Journal, name: str, timeout: float = 30) -> dict[str, object]:
    return journal.wait_count(1, handler="create", name=name, timeout=timeout)[0]


def test_only_the_leader_handles_and_a_killed_leader_is_replaced(
        kube_client: KubeClient, namespace: str, journal: Journal,
        replicas: Callable[..., OperatorProcess]) -> None:
    first = replicas()
    first.wait_started()
    second = replicas()
    second.wait_for_output("waiting to lead lease")
    time.sleep(1.5)
    assert "opframe started" not in second.output()  # the standby does not handle
    for i in range(5):
        kube_client.create(CONFIGMAPS, configmap(namespace, f"one-{i}"))
    for i in range(5):
        assert _handled_by(journal, f"one-{i}")["pid"] == first.pid
    os.kill(first.pid, signal.SIGKILL)
    killed_at = time.time()
    first.wait()
    kube_client.create(CONFIGMAPS, configmap(namespace, "after-kill"))
    handled = _handled_by(journal, "after-kill")
    assert handled["pid"] == second.pid
    # LeaseDuration + RetryPeriod, plus the time to start the workers and handle.
    assert float(handled["at"]) - killed_at <= 4 + 0.5 + 3.0
    assert {e["pid"] for e in journal.entries(handler="create")} == {first.pid, second.pid}


def test_graceful_stop_releases_the_lease_and_hands_over_within_3_seconds(
        kube_client: KubeClient, namespace: str, journal: Journal,
        replicas: Callable[..., OperatorProcess]) -> None:
    first = replicas()
    first.wait_started()
    second = replicas()
    second.wait_for_output("waiting to lead lease")
    stopping = time.time()
    assert first.stop() == 0
    assert "released the lease" in first.output()
    second.wait_started(timeout=10)
    assert time.time() - stopping <= 3.0 + 1.0  # the stop itself takes a moment
    kube_client.create(CONFIGMAPS, configmap(namespace, "after-stop"))
    assert _handled_by(journal, "after-stop")["pid"] == second.pid


def test_a_leader_that_cannot_renew_stops_before_its_lease_expires(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        replicas: Callable[..., OperatorProcess], tmp_path: Path) -> None:
    assert control_plane.ports is not None
    with ChaosProxy("127.0.0.1", control_plane.ports.apiserver) as proxy:
        config = json.loads(control_plane.kubeconfig.read_text())
        config["clusters"][0]["cluster"]["server"] = proxy.url
        via_proxy = tmp_path / "via-proxy"
        via_proxy.write_text(json.dumps(config))
        leader = replicas(via_proxy)
        leader.wait_started()
        standby = replicas()
        standby.wait_for_output("waiting to lead lease")
        proxy.refuse()  # the leader is cut off from the API server
        cut_at = time.monotonic()
        leader.wait_for_output("lost the lease", timeout=30)
        stopped_after = time.monotonic() - cut_at
        # It stops handling within RenewDeadline (+ one retry period and a request timeout),
        # before LeaseDuration after its last renewal has passed for the others.
        assert stopped_after < 4.0, stopped_after
        assert leader.wait(timeout=30) == 1
        assert "lost the leader lease" in leader.output()
        standby.wait_started(timeout=15)
        kube_client.create(CONFIGMAPS, configmap(namespace, "after-partition"))
        assert _handled_by(journal, "after-partition")["pid"] == standby.pid


def test_an_api_outage_fails_readyz_not_healthz_and_readyz_waits_for_sync(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        operator_file: Path, tmp_path: Path) -> None:
    """Liveness reports a wedged operator, not an unreachable API server: during an outage
    the kubelet must not restart every replica (issue 10, defect 8)."""
    assert control_plane.ports is not None
    port = free_port()
    with ChaosProxy("127.0.0.1", control_plane.ports.apiserver) as proxy:
        config = json.loads(control_plane.kubeconfig.read_text())
        config["clusters"][0]["cluster"]["server"] = proxy.url
        via_proxy = tmp_path / "via-proxy"
        via_proxy.write_text(json.dumps(config))
        proxy.delay = 0.3  # a slow network: the initial LIST takes seconds
        with OperatorProcess([operator_file], kubeconfig=via_proxy,
                             args=["-n", namespace, "--health-port", str(port)],
                             env={"JOURNAL": str(journal.path), "OPFRAME_INACTIVITY_TIMEOUT": "2"}) as operator:
            operator.wait_for_output("health and metrics on", timeout=60)
            code, body = _get(port, "/readyz?verbose")
            assert code == 500 and "[-]informers-synced failed: caches not synced yet" in body, body
            proxy.delay = 0.0
            ready_codes = [code]

            def ready() -> bool:
                ready_codes.append(_get(port, "/readyz")[0])
                return ready_codes[-1] == 200

            eventually(ready, what="/readyz to answer 200", interval=0.02)
            operator.wait_started()
            code, body = _get(port, "/readyz?verbose")
            assert code == 200 and "[+]informers-synced ok" in body
            assert _get(port, "/healthz") == (200, "ok")

            proxy.stall()
            proxy.refuse()  # the stream stalls and no new watch can be opened: the API server is unreachable
            eventually(lambda: _get(port, "/readyz")[0] == 500, what="/readyz to turn 500", interval=0.2)
            code, body = _get(port, "/readyz?verbose")
            assert code == 500 and f"[-]watch-configmaps@{namespace} failed: no news from the API server" in body
            outage_health = []
            for _ in range(20):  # 4 s more of outage: twice the inactivity timeout
                outage_health.append(_get(port, "/healthz?verbose"))
                time.sleep(0.2)
            assert all(code == 200 for code, _ in outage_health), outage_health
            assert f"[+]watch-configmaps@{namespace} ok" in outage_health[-1][1]
            assert "[+]workers-configmaps ok" in outage_health[-1][1]
            proxy.resume()
            proxy.accept()
            eventually(lambda: _get(port, "/readyz")[0] == 200, what="/readyz to recover", interval=0.2)
    assert ready_codes[0] == 500 and ready_codes[-1] == 200


def test_metrics_parse_as_prometheus_text_and_move_with_the_work(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    source = tmp_path / "metrics_operator.py"
    source.write_text(PRELUDE + '''
@on.create("configmaps", labels={"app": "test"})
def created(name, retry, **_):
    if name == "flaky" and retry == 0:
        raise opframe.TemporaryError("once", delay=0.1)

@on.probe(id="database")
def database_reachable(**_):
    if os.path.exists(os.environ["JOURNAL"] + ".down"):
        raise RuntimeError("database down")
    return {"latency_ms": 3}
''')
    port = free_port()
    with OperatorProcess([source], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace, "--health-port", str(port)],
                         env={"JOURNAL": str(journal.path)}) as operator:
        operator.wait_started()

        def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            code, text = _get(port, "/metrics")
            assert code == 200
            return {(s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(text) for s in family.samples}

        before = scrape()
        for name in ("a", "b", "flaky"):
            kube_client.create(CONFIGMAPS, configmap(namespace, name))
        time.sleep(2.0)
        after = scrape()

        def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], series: str,
                  **labels: str) -> float:
            return samples.get((series, tuple(sorted(labels.items()))), 0.0)

        handler = {"resource": "configmaps", "handler": "created"}
        assert value(after, "opframe_handler_invocations_total", **handler) - value(
            before, "opframe_handler_invocations_total", **handler) == 4
        assert value(after, "opframe_handler_errors_total", **handler) == 1
        assert value(after, "workqueue_adds_total", name="configmaps") > value(
            before, "workqueue_adds_total", name="configmaps")
        assert value(after, "workqueue_retries_total", name="configmaps") >= 1
        assert value(after, "opframe_api_requests_total", verb="PATCH", code="200") >= 3
        assert value(after, "workqueue_depth", name="configmaps") == 0
        names = {name for name, _ in after}
        code, body = _get(port, "/healthz?verbose")
        assert code == 200 and "[+]probe-database ok: {'latency_ms': 3}" in body
        Path(str(journal.path) + ".down").touch()
        code, body = _get(port, "/healthz")
        assert code == 500 and "[-]probe-database failed: RuntimeError: database down" in body
        for series in ("workqueue_queue_duration_seconds_bucket", "workqueue_work_duration_seconds_bucket",
                       "workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds",
                       "opframe_handler_duration_seconds_bucket", "opframe_watch_restarts_total",
                       "opframe_relists_total", "opframe_watch_events_total",
                       "opframe_api_request_duration_seconds_bucket"):
            assert series in names, series


def test_a_queue_falling_behind_is_logged_once_and_shown_in_metrics_and_readyz(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        tmp_path: Path) -> None:
    """Issue 20, bad input: an informer that cannot keep up is said, once, with its figures."""
    slow = tmp_path / "slow_operator.py"
    slow.write_text(PRELUDE + '''
@on.create("configmaps", labels={"app": "test"})
def created(name, **_):
    note(handler="create", name=name)
    time.sleep(1.0)  # one worker, a second per object: it cannot keep up with two objects a second
''')
    port = free_port()
    with OperatorProcess([slow], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace, "--health-port", str(port), "--workers", "1"],
                         env={"JOURNAL": str(journal.path), "OPFRAME_BACKLOG_WINDOW": "4"}) as operator:
        operator.wait_started()
        for i in range(16):  # two a second for 8 s: the queue grows for twice the window
            kube_client.create(CONFIGMAPS, configmap(namespace, f"b{i:02d}"))
            time.sleep(0.5)
        eventually(lambda: "is falling behind" in operator.output(), what="the falling-behind line", timeout=30)
        code, body = _get(port, "/readyz?verbose")
        assert code == 200 and "[+]queue-configmaps ok: falling behind: " in body, body
        metrics = _get(port, "/metrics")[1]
        assert 'opframe_workqueue_falling_behind{name="configmaps"} 1.0' in metrics, [
            line for line in metrics.splitlines() if "falling" in line]
        journal.wait_count(16, timeout=60, handler="create")  # the workers work it off
        eventually(lambda: "caught up" in operator.output(), what="the caught-up line", timeout=30)
        assert _get(port, "/readyz?verbose")[1].count("falling behind") == 0
        lines = [line for line in operator.output().splitlines() if "falling behind" in line]
        assert len(lines) == 1 and "OPFRAME_WORKERS" in lines[0], lines


def test_events_dropped_while_a_worker_is_busy_are_said_and_counted(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        tmp_path: Path) -> None:
    """Issue 20, bad input: memory pressure never drops events silently. An on.event handler holds
    its object's worker while more than MAX_EVENTS_PER_KEY watch events arrive for that object:
    the oldest are dropped (so memory stays bounded), and the drop is logged with its count and
    counted in /metrics."""
    from opframe.runtime.reconcile.notices import MAX_EVENTS_PER_KEY

    release = tmp_path / "release"
    source = tmp_path / "events_operator.py"
    source.write_text(PRELUDE + f'''
@on.event("configmaps", labels={{"app": "test"}})
def seen(name, event, **_):
    note(handler="event", name=name, n=(event["object"].get("data") or {{}}).get("n"))
    while not os.path.exists({str(release)!r}):
        time.sleep(0.05)
''')
    port = free_port()
    extra = 40
    with OperatorProcess([source], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace, "--health-port", str(port)],
                         env={"JOURNAL": str(journal.path)}) as operator:
        operator.wait_started()
        kube_client.create(CONFIGMAPS, configmap(namespace, "busy"))
        journal.wait_count(1, handler="event", name="busy")  # its worker now waits for the release
        for n in range(MAX_EVENTS_PER_KEY + extra):
            kube_client.patch(CONFIGMAPS, "busy", {"data": {"n": str(n)}}, namespace=namespace)
        last = str(MAX_EVENTS_PER_KEY + extra - 1)
        time.sleep(1.0)  # the watch delivers the last events
        release.touch()
        journal.wait_for(lambda: any(e.get("n") == last for e in journal.entries(handler="event")),
                         timeout=60, what="the last change seen by the event handler")
        lines = [line for line in operator.output().splitlines() if "were not given to on.event" in line]
        assert len(lines) == 1, lines
        dropped = int(lines[0].split(" watch events were not given")[0].rsplit(" ", 1)[-1])
        assert dropped == extra, (dropped, lines)
        seen = [e["n"] for e in journal.entries(handler="event", name="busy")]
        # the first call, then the newest MAX_EVENTS_PER_KEY changes, in order, none twice
        assert seen[1:] == [str(n) for n in range(extra, MAX_EVENTS_PER_KEY + extra)], (len(seen), seen[:3])
        metrics = _get(port, "/metrics")[1]
        assert f'opframe_watch_events_dropped_total{{resource="configmaps"}} {float(extra)}' in metrics, [
            line for line in metrics.splitlines() if "dropped" in line]


SLOW = PRELUDE + '''
@on.create("configmaps", labels={"app": "test"})
def slow(name, **_):
    note(handler="slow", name=name)
    time.sleep(120)
'''


@pytest.mark.parametrize("twice", [False, True], ids=["once", "twice"])
def test_ctrl_c_says_what_it_waits_for_stops_at_once_when_repeated_and_exits_non_zero_on_abandoned_work(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal, tmp_path: Path,
        twice: bool) -> None:
    """Issue 21: Ctrl-C during a long handler. Once: the operator says what it waits for and how long,
    then exits 1 naming the abandoned object. Twice: it stops at once (exit 130, as shells count)."""
    source = tmp_path / "slow_operator.py"
    source.write_text(SLOW)
    timeout = "60" if twice else "2"
    with OperatorProcess([source], kubeconfig=control_plane.kubeconfig, args=["-n", namespace],
                         env={"JOURNAL": str(journal.path), "OPFRAME_SHUTDOWN_TIMEOUT": timeout}) as operator:
        operator.wait_started()
        kube_client.create(CONFIGMAPS, configmap(namespace, "long"))
        journal.wait_count(1, handler="slow", name="long")
        os.kill(operator.pid, signal.SIGINT)
        operator.wait_for_output("stopping: waiting up to")
        if twice:
            os.kill(operator.pid, signal.SIGINT)
        code = operator.wait(timeout=30)  # at once when twice (60 s otherwise); 2 s + the stop when once
        output = operator.output()
    assert f"waiting up to {timeout} s (OPFRAME_SHUTDOWN_TIMEOUT) for the handlers of 1 object to finish: " \
           f"{namespace}/long" in output, output[-2000:]
    if twice:
        assert code == 128 + signal.SIGINT, output[-2000:]
        assert "again: stopping at once" in output
    else:
        assert code == 1, output[-2000:]
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert errors == [f"error: stopped with handlers still running after 2 s, their work abandoned (it runs "
                          f"again at the next start): {namespace}/long; give them longer with "
                          "OPFRAME_SHUTDOWN_TIMEOUT"], output[-2000:]
