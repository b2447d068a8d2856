"""Benchmark: admission webhooks served by an opframe operator, called by the real kube-apiserver.

Everything runs in one process against one local control plane (opframe.testing.ControlPlane); the
operator is a real ``opframe run operator.py -n bench-admission`` subprocess (the venv's console
script) with one ``@on.validate`` and one ``@on.mutate`` handler on ConfigMaps (the validator refuses a
ConfigMap without the ``bench`` label, the mutator adds ``admitted-by: opframe``), the
configurations written by the operator itself (``OPFRAME_WEBHOOK_MANAGED``).

Figures:

* latency: sequential creates of a small ConfigMap (one label, one data key) in the namespace
  ``bench-admission``, timed on the client around each POST (http.client, one kept-alive TLS
  connection, the body serialised beforehand: the client's cost is small and the same in every
  run). Runs alternate: baseline (no webhook configuration, no operator), webhooks, baseline,
  webhooks, baseline (``--rounds 2``); each run is preceded by 20 uncounted creates (the first
  webhook call opens the API server's connection to the operator). Reported per run and pooled:
  mean, min, p50, p99, max; added latency = webhooks minus baseline (pooled), ratio = webhooks /
  baseline. Every webhook-run answer is checked for the mutation. The operator's CPU per create is
  read from /proc during the webhook runs.
* start: from the spawn of ``opframe run`` to the first create the webhooks intercept, polled with
  server-side dry runs (``dryRun=All``) every 20 ms until the answer carries the mutation; each
  start from a clean state (the operator stopped, both configurations deleted, a dry run answered
  unmutated). The operator's log timestamps split it into: process start to server listening,
  to the configurations applied, to the first intercepted dry run.
* rotation: the operator serves certificate files (``OPFRAME_WEBHOOK_CERT_FILE``/``KEY_FILE``/
  ``CA_FILE``) issued by a CA of the bench; a writer thread creates ConfigMaps back to back while the
  key and certificate files are replaced by a new leaf from the same CA (each file written to a
  temporary name, then ``os.replace``; the key first) ``--swaps`` times, ``--swap-interval`` s apart.
  After each swap the bench dials the operator itself and times how long until the new leaf is
  served. The API server reaches the operator through a TCP relay of the bench (the configuration's
  URL is the relay's 127.0.0.1:P, the operator listens on 127.0.0.2:P), which counts the API server's
  connections, i.e. its TLS handshakes (and whether a ClientHello offers session resumption). Two
  variants: ``kept`` (the relay only relays: the API server keeps its connection alive, as it does)
  and ``recycled`` (every 250 ms, between two of the writer's creates, never during one, the relay
  closes the idle connections, as a server or load balancer closing idle connections would, so
  that the API server makes new handshakes after every swap). Created, failed (a non-2xx answer, a
  client error, or a 2xx without the mutation; with the messages), handshakes.

Usage: python bench/admission.py [--creates 1000] [--rounds 2] [--starts 3] [--swaps 10]
       [--swap-interval 1.0] [--quick] [--out FILE]
Writes bench/results/<date>-admission.json (or --out).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import http.client
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

NAMESPACE = "bench-admission"
MANAGED = "bench-admission.opframe.example.com"
MUTATION = ("admitted-by", "opframe")
WARMUP = 20
POLL_SECONDS = 0.02
RECYCLE_SECONDS = 0.25
#: After the relay closed the API server's idle connections, the writer waits this long before its next
#: create, so that the API server has seen them closed before it needs one.
RECYCLE_PAUSE = 0.02

OPERATOR = '''
import opframe
from opframe import on


@on.validate("configmaps", operations=["CREATE"])
def has_bench_label(labels, **_):
    if "bench" not in labels:
        raise opframe.AdmissionError("a bench ConfigMap carries the label 'bench'", code=422)


@on.mutate("configmaps", operations=["CREATE"])
def mark_admitted(patch, **_):
    patch.metadata.labels["admitted-by"] = "opframe"
'''



# -- a lean HTTP client ---------------------------------------------------------------------------


class RawClient:
    """One kept-alive HTTPS connection to kube-apiserver as the admin; bodies pre-serialised."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext) -> None:
        self.host, self.port, self.context = host, port, context
        self.reconnects = 0
        self._connection: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            self._connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=60)
        return self._connection

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            connection = self._connect()
            try:
                connection.request(method, path, body=body, headers={"Content-Type": "application/json",
                                                                     "Accept": "application/json"})
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # kube-apiserver closed the kept-alive connection (its idle or GOAWAY rules): once more.
                connection.close()
                self._connection = None
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def configmap_body(name: str, **labels: str) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "labels": {"bench": "admission", **labels}},
                       "data": {"key": "value"}}).encode()


CREATE_PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
DRY_RUN_PATH = CREATE_PATH + "?dryRun=All"


def mutated(data: bytes) -> bool:
    labels = json.loads(data).get("metadata", {}).get("labels") or {}
    return labels.get(MUTATION[0]) == MUTATION[1]


# -- statistics ---------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [1000 * s for s in seconds]
    return {"n": len(ms), "mean": statistics.fmean(ms), "min": min(ms), "p50": statistics.median(ms),
            "p99": percentile(ms, 0.99), "max": max(ms)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the operator and its configurations -------------------------------------------------------------


class Bench:
    def __init__(self, plane: Any, workdir: Path) -> None:
        from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration

        self.plane = plane
        self.workdir = workdir
        self.kube = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=5000, burst=5000))
        self.configurations = [
            Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False),
            Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced=False)]
        context = ssl.create_default_context(cafile=str(plane.pki.serving_ca))
        context.load_cert_chain(str(plane.pki.admin_cert), str(plane.pki.admin_key))
        self.context = context
        self.client = RawClient("127.0.0.1", plane.ports.apiserver, context)
        self.operator_file = workdir / "operator.py"
        self.operator_file.write_text(OPERATOR)
        self._names = 0

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}-{self._names:06d}"

    def operator(self, env: dict[str, str] | None = None) -> Any:
        from opframe.testing.operator import OperatorProcess

        process = OperatorProcess([self.operator_file],
                                  kubeconfig=self.plane.kubeconfig, args=["-n", NAMESPACE],
                                  env={"OPFRAME_WEBHOOK_MANAGED": MANAGED, "OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1",
                                       **(env or {})})
        console_script = Path(sys.executable).parent / "opframe"
        if console_script.exists():  # what users run; else `python -m opframe.cli run`, the same code
            process.argv = [str(console_script), *process.argv[3:]]
        return process

    def dry_run(self, client: RawClient | None = None) -> tuple[int, bytes]:
        return (client or self.client).request("POST", DRY_RUN_PATH, configmap_body(self.name("dry")))

    def wait_intercepted(self, timeout: float = 60.0, client: RawClient | None = None) -> tuple[float, int]:
        """Dry-run every POLL_SECONDS until the answer is mutated: (time.time() then, polls)."""
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            status, data = self.dry_run(client)
            polls += 1
            if status == 201 and mutated(data):
                return time.time(), polls
            if time.monotonic() > deadline:
                raise TimeoutError(f"no intercepted dry run within {timeout} s; last answer {status}: {data[:300]!r}")
            time.sleep(POLL_SECONDS)

    def clean(self, timeout: float = 30.0) -> None:
        """No configuration left, and the API server no longer calls a webhook (a dry run unmutated)."""
        from opframe.kube import errors

        for resource in self.configurations:
            with contextlib.suppress(errors.NotFound):
                self.kube.delete(resource, MANAGED)
        deadline = time.monotonic() + timeout
        while True:
            status, data = self.dry_run()
            if status == 201 and not mutated(data):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the webhooks were still called {timeout} s after their configurations were "
                                   f"deleted: {status} {data[:200]!r}")
            time.sleep(POLL_SECONDS)

    def stop(self, process: Any) -> None:
        code = process.stop()
        if code != 0:
            print(process.output()[-3000:], file=sys.stderr)
            raise RuntimeError(f"the operator exited with {code}")
        process.cleanup()

    # -- 1: latency --------------------------------------------------------------------------------

    def creates(self, count: int, *, expect_mutation: bool) -> tuple[list[float], int]:
        """``count`` sequential creates after WARMUP uncounted ones: (seconds each, answers not as expected)."""
        bodies = [configmap_body(self.name("lat")) for _ in range(WARMUP + count)]
        timings: list[float] = []
        unexpected = 0
        gc.collect()
        gc.disable()
        try:
            for n, body in enumerate(bodies):
                began = time.perf_counter()
                status, data = self.client.request("POST", CREATE_PATH, body)
                took = time.perf_counter() - began
                if status != 201 or mutated(data) != expect_mutation:
                    unexpected += 1
                    if unexpected <= 3:
                        print(f"unexpected answer {status}: {data[:300]!r}", file=sys.stderr)
                if n >= WARMUP:
                    timings.append(took)
        finally:
            gc.enable()
        return timings, unexpected

    def latency(self, count: int, rounds: int) -> dict[str, Any]:
        runs: list[dict[str, Any]] = []
        samples: dict[str, list[float]] = {"baseline": [], "webhooks": []}

        def run(kind: str) -> dict[str, Any]:
            timings, unexpected = self.creates(count, expect_mutation=kind != "baseline")
            samples.setdefault(kind, []).extend(timings)
            runs.append({"kind": kind, **summary_ms(timings), "unexpected_answers": unexpected})
            print(f"  {kind:16s} p50 {runs[-1]['p50']:.2f} ms, p99 {runs[-1]['p99']:.2f} ms, "
                  f"mean {runs[-1]['mean']:.2f} ms", file=sys.stderr)
            return runs[-1]

        def with_operator(kind: str) -> None:
            process = self.operator().start()
            try:
                self.wait_intercepted()
                before = cpu_seconds(process.pid)
                began = time.perf_counter()
                entry = run(kind)
                elapsed = time.perf_counter() - began
                used = cpu_seconds(process.pid) - before
                entry["operator_cpu_ms_per_create"] = 1000 * used / (WARMUP + count)
                entry["operator_cpu_share"] = used / elapsed
            finally:
                self.stop(process)
            self.clean()

        for _ in range(rounds):
            run("baseline")
            with_operator("webhooks")
        run("baseline")
        pooled = {kind: summary_ms(values) for kind, values in samples.items()}
        base = pooled["baseline"]
        stats = ("mean", "p50", "p99")
        hooked = [kind for kind in pooled if kind != "baseline"]
        added = {kind: {stat: pooled[kind][stat] - base[stat] for stat in stats} for kind in hooked}
        ratio = {kind: {stat: pooled[kind][stat] / base[stat] for stat in stats} for kind in hooked}
        return {"object": "ConfigMap (1 label, 1 data key), namespace " + NAMESPACE, "creates_per_run": count,
                "warmup_per_run": WARMUP, "order": [r["kind"] for r in runs], "runs": runs, "pooled_ms": pooled,
                "added_ms": added, "ratio": ratio, "client_reconnects": self.client.reconnects}

    # -- 2: start to first intercepted request --------------------------------------------------------

    def starts(self, count: int) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for _ in range(count):
            self.clean()
            process = self.operator()
            spawned = time.time()
            process.start()
            try:
                first, polls = self.wait_intercepted()
                log = process.output()
            finally:
                self.stop(process)
            marks = log_marks(log)
            entry = {"seconds": first - spawned, "polls": polls,
                     **{f"{mark}_s": at - spawned for mark, at in marks.items()}}
            results.append(entry)
            print(f"  start: first intercepted request {entry['seconds']:.2f} s after the spawn "
                  f"({', '.join(f'{k} {v:.2f}' for k, v in entry.items() if k.endswith('_s'))})", file=sys.stderr)
        self.clean()
        seconds = [r["seconds"] for r in results]
        return {"poll_interval_s": POLL_SECONDS, "starts": results, "min": min(seconds),
                "median": statistics.median(seconds), "max": max(seconds)}

    # -- 3: certificate rotation under load -----------------------------------------------------------

    def rotation(self, swaps: int, interval: float, recycle: bool) -> dict[str, Any]:
        from cryptography import x509

        from opframe.kube.pki import issue, new_ca

        folder = Path(tempfile.mkdtemp(prefix="rotation-", dir=self.workdir))
        ca_pair, ca_key, ca_cert = new_ca("bench-webhook-ca")

        def leaf(n: int) -> tuple[bytes, bytes, int]:
            pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name=f"bench-webhook-{n}",
                         server_names=("127.0.0.1", "127.0.0.2"))
            return pair.cert_pem, pair.key_pem, x509.load_pem_x509_certificate(pair.cert_pem).serial_number

        cert_file, key_file, ca_file = folder / "tls.crt", folder / "tls.key", folder / "ca.crt"
        ca_file.write_bytes(ca_pair.cert_pem)

        def install(cert: bytes, key: bytes) -> None:
            for path, data in ((key_file, key), (cert_file, cert)):  # the key first, each atomically
                temporary = path.with_name(f".{path.name}.tmp")
                temporary.write_bytes(data)
                os.replace(temporary, path)

        cert, key, serial = leaf(0)
        install(cert, key)
        port = free_port_on_both()
        relay = Relay(("127.0.0.1", port), ("127.0.0.2", port))
        relay.start()
        process = self.operator({"OPFRAME_WEBHOOK_ADDRESS": "127.0.0.2", "OPFRAME_WEBHOOK_HOST": "127.0.0.1",
                                 "OPFRAME_WEBHOOK_PORT": str(port), "OPFRAME_WEBHOOK_CERT_FILE": str(cert_file),
                                 "OPFRAME_WEBHOOK_KEY_FILE": str(key_file), "OPFRAME_WEBHOOK_CA_FILE": str(ca_file)})
        probe_context = ssl.create_default_context(cadata=ca_pair.cert_pem.decode())

        def served_serial() -> int:
            with socket.create_connection(("127.0.0.2", port), timeout=5) as raw, \
                    probe_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                der = tls.getpeercert(binary_form=True)
            assert der is not None
            return int(x509.load_der_x509_certificate(der).serial_number)

        writer_client = RawClient("127.0.0.1", self.plane.ports.apiserver, self.context)
        stop = threading.Event()
        created: list[float] = []
        failed: list[dict[str, Any]] = []
        recycles: list[float] = []

        def write() -> None:
            last_recycle = time.monotonic()
            while not stop.is_set():
                at = time.time()
                try:
                    status, data = writer_client.request("POST", CREATE_PATH, configmap_body(self.name("rot")))
                except (OSError, http.client.HTTPException) as exc:
                    failed.append({"at": at, "status": None, "message": repr(exc)})
                    continue
                if 200 <= status < 300 and mutated(data):
                    created.append(at)
                else:
                    failed.append({"at": at, "status": status, "message": data[:500].decode(errors="replace")})
                if recycle and time.monotonic() - last_recycle >= RECYCLE_SECONDS:
                    # between two creates: no webhook request of ours is in flight on these connections
                    recycles.append(time.time())
                    relay.close_connections()
                    time.sleep(RECYCLE_PAUSE)
                    last_recycle = time.monotonic()

        swaps_done: list[dict[str, Any]] = []
        writer = threading.Thread(target=write, name="writer", daemon=True)
        try:
            process.start()
            self.wait_intercepted(client=writer_client)
            assert served_serial() == serial
            relay.reset_counts()
            began = time.time()
            writer.start()
            time.sleep(interval)
            for n in range(1, swaps + 1):
                tick = time.monotonic()
                cert, key, serial = leaf(n)
                install(cert, key)
                swapped = time.time()
                while True:
                    if served_serial() == serial:
                        break
                    if time.time() - swapped > 10:
                        raise TimeoutError(f"swap {n}: the new certificate was not served within 10 s")
                    time.sleep(0.05)
                swaps_done.append({"at": swapped, "served_after_s": time.time() - swapped})
                time.sleep(max(0.0, tick + interval - time.monotonic()))
            time.sleep(1.0)
            stop.set()
            writer.join(30)
            ended = time.time()
            log = process.output()
        finally:
            stop.set()
            self.stop(process)
            relay.stop()
            writer_client.close()
        self.clean()
        handshakes = relay.connections
        ends = [s["at"] for s in swaps_done[1:]] + [ended]
        between = [sum(1 for c in handshakes if s["at"] <= c["at"] < until)
                   for s, until in zip(swaps_done, ends, strict=True)]
        # A handshake after the bench saw swap n's leaf served gets that leaf or a newer one.
        after_swap = [sum(1 for c in handshakes if s["at"] + s["served_after_s"] <= c["at"] < until)
                      for s, until in zip(swaps_done, ends, strict=True)]
        result = {
            "variant": "recycled" if recycle else "kept",
            "swaps": swaps, "swap_interval_s": interval,
            "seconds": ended - began, "created": len(created), "failed": len(failed),
            "failures": failed[:20], "creates_per_second": len(created) / (ended - began),
            "new_leaf_served_after_s": [round(s["served_after_s"], 3) for s in swaps_done],
            "api_server_handshakes": len(handshakes),
            "handshakes_offering_resumption": sum(1 for c in handshakes if c["psk"]),
            "handshakes_offering_h2": sum(1 for c in handshakes if c["h2"]),
            "handshakes_before_first_swap": sum(1 for c in handshakes if c["at"] < swaps_done[0]["at"]),
            "handshakes_between_swaps": between,
            "handshakes_on_each_new_leaf": after_swap,
            "relay_closes": len(recycles),
            "operator_log_reloads": log.count("changed: new connections use it"),
            "operator_log_unusable_pairs": log.count("cannot be used"),
        }
        print(f"  rotation ({result['variant']}): {result['created']} created, {result['failed']} failed, "
              f"{result['api_server_handshakes']} handshakes, new leaf served after "
              f"{max(result['new_leaf_served_after_s']):.2f} s at most", file=sys.stderr)
        return result


def log_marks(log: str) -> dict[str, float]:
    """time.time() of the operator's first log line, 'Listening for webhooks' and the configurations applied."""
    marks: dict[str, float] = {}
    wanted = {"first_log_line": "", "listening": "Listening for webhooks",
              "validating_applied": "the validating webhook configuration",
              "mutating_applied": "the mutating webhook configuration"}
    for line in log.splitlines():
        try:
            at = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        for mark, text in wanted.items():
            if mark not in marks and text in line:
                marks[mark] = at
    return marks


def free_port_on_both() -> int:
    """A port free on both 127.0.0.1 (the relay) and 127.0.0.2 (the operator)."""
    for _ in range(100):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.2", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


# -- the relay ----------------------------------------------------------------------------------------


class Relay:
    """TCP relay from ``listen`` to ``target``: every connection the API server opens to the webhook is
    one TLS handshake with the operator; the relay records it (and what the ClientHello offers) and can
    close the idle ones."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(listen)
        self.connections: list[dict[str, Any]] = []
        self._open: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def reset_counts(self) -> None:
        with self._lock:
            self.connections = []

    def _accept(self) -> None:
        while not self._stopping:
            try:
                downstream, _ = self.server.accept()
            except OSError:
                return
            at = time.time()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                downstream.close()
                continue
            upstream.settimeout(None)
            for sock in (downstream, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (downstream, upstream)
            record: dict[str, Any] = {"at": at, "psk": False, "h2": False}
            with self._lock:
                self._open.add(pair)
                self.connections.append(record)
            threading.Thread(target=self._pump, args=(downstream, upstream, pair, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, pair, None), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair: tuple[socket.socket, socket.socket],
              hello: dict[str, Any] | None) -> None:
        first = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if hello is not None:
                    first += data
                    parsed = client_hello(first)
                    if parsed is not None:
                        hello.update(parsed)
                        hello = None
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(pair)

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            self._open.discard(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close_connections(self) -> None:
        with self._lock:
            pairs = list(self._open)
        for pair in pairs:
            self._close(pair)

    def stop(self) -> None:
        self._stopping = True
        self.server.close()
        self.close_connections()


def client_hello(data: bytes) -> dict[str, bool] | None:
    """Whether a TLS ClientHello offers a session to resume (pre_shared_key, or a session ticket) and h2;
    None until the whole first record is there."""
    if len(data) < 5:
        return None
    length = int.from_bytes(data[3:5], "big")
    if len(data) < 5 + length:
        return None
    body = data[5:5 + length]
    if data[0] != 22 or body[0] != 1:
        return {"psk": False, "h2": False}
    at = 4 + 2 + 32
    at += 1 + body[at]  # session id
    at += 2 + int.from_bytes(body[at:at + 2], "big")  # cipher suites
    at += 1 + body[at]  # compression methods
    end = at + 2 + int.from_bytes(body[at:at + 2], "big")
    at += 2
    psk = h2 = False
    while at + 4 <= end:
        kind, size = int.from_bytes(body[at:at + 2], "big"), int.from_bytes(body[at + 2:at + 4], "big")
        payload = body[at + 4:at + 4 + size]
        if kind == 41 or (kind == 35 and size > 0):  # pre_shared_key; a non-empty session ticket
            psk = True
        if kind == 16 and b"\x02h2" in payload:
            h2 = True
        at += 4 + size
    return {"psk": psk, "h2": h2}


# -- the run -------------------------------------------------------------------------------------------


def machine(plane: Any, client: RawClient) -> dict[str, Any]:
    status, data = client.request("GET", "/version")
    version = json.loads(data) if status == 200 else {}
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=HERE.parent, capture_output=True, text=True).stdout

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "opframe").splitlines()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "kube_apiserver": version.get("gitVersion"), "opframe_commit": commit.strip(),
            "opframe_uncommitted_files": [line[3:] for line in dirty],
            "load_average_at_start": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=1000, help="sequential creates per latency run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="baseline/webhooks pairs, then a last baseline (2: B W B W B)")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--swaps", type=int, default=10)
    parser.add_argument("--swap-interval", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="a trial run: 200 creates, 1 round, 2 starts, 3 swaps")
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args()
    if options.quick:
        options.creates, options.rounds, options.starts, options.swaps = 200, 1, 2, 3

    from opframe.kube import Resource
    from opframe.testing import ControlPlane

    today = datetime.date.today().isoformat()
    out = options.out or HERE / "results" / f"{today}-admission{'-quick' if options.quick else ''}.json"
    results: dict[str, Any] = {"date": today, "command": " ".join(["python", *sys.argv]),
                               "options": {k: (str(v) if isinstance(v, Path) else v)
                                           for k, v in vars(options).items()}}
    began = time.monotonic()
    with ControlPlane() as plane, tempfile.TemporaryDirectory(prefix="opframe-bench-admission-") as workdir:
        bench = Bench(plane, Path(workdir))
        results["machine"] = machine(plane, bench.client)
        results["client"] = ("http.client.HTTPSConnection, one kept-alive TLS connection (client certificate), "
                             "bodies serialised before timing, gc off while timing")
        results["operator"] = {"command": f"opframe run operator.py -n {NAMESPACE}",
                               "env": {"OPFRAME_WEBHOOK_MANAGED": MANAGED, "OPFRAME_WEBHOOK_ADDRESS": "127.0.0.1"},
                               "source": OPERATOR}
        bench.kube.create(Resource("", "v1", "namespaces", "Namespace", namespaced=False),
                          {"metadata": {"name": NAMESPACE}})
        print("latency", file=sys.stderr)
        results["latency"] = bench.latency(options.creates, options.rounds)
        print("start to first intercepted request", file=sys.stderr)
        results["start"] = bench.starts(options.starts)
        print("certificate rotation under load", file=sys.stderr)
        results["rotation"] = [bench.rotation(options.swaps, options.swap_interval, recycle=False),
                               bench.rotation(options.swaps, options.swap_interval, recycle=True)]
        bench.client.close()
    results["wall_seconds"] = time.monotonic() - began
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")

    lat = results["latency"]
    print(f"creates ({lat['creates_per_run']} per run, order {' '.join(lat['order'])}), ms:")
    for kind, stats in lat["pooled_ms"].items():
        print(f"  {kind:16s} mean {stats['mean']:.2f}  min {stats['min']:.2f}  p50 {stats['p50']:.2f}  "
              f"p99 {stats['p99']:.2f}  max {stats['max']:.2f}")
    for kind, added in lat["added_ms"].items():
        print(f"  added ({kind}): p50 {added['p50']:.2f} ms (x{lat['ratio'][kind]['p50']:.2f}), "
              f"p99 {added['p99']:.2f} ms (x{lat['ratio'][kind]['p99']:.2f})")
    start = results["start"]
    print(f"spawn -> first intercepted request over {len(start['starts'])} starts: min {start['min']:.2f} s, "
          f"median {start['median']:.2f} s, max {start['max']:.2f} s")
    for rotation in results["rotation"]:
        print(f"rotation ({rotation['variant']}): {rotation['swaps']} swaps, {rotation['created']} created, "
              f"{rotation['failed']} failed, {rotation['api_server_handshakes']} API server handshakes "
              f"(between swaps: {rotation['handshakes_between_swaps']}; after the new leaf was served: "
              f"{rotation['handshakes_on_each_new_leaf']})")
    print(f"{results['wall_seconds']:.0f} s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
