"""Benchmark: opframe against kopf on the same local control plane, in one run.

Each scenario runs each framework as its own process (`opframe run` / `kopf run`)
against the same kube-apiserver with the same objects (created afresh in a namespace
of their own, so neither framework sees the other's annotations). Both operators are
written as their users would write them, with the same handler bodies; each handler
appends a line to a journal file, and completion is read from that journal or from
the API server, never from the frameworks' logs.

Scenarios:
  S1 initial sync: N objects exist before start; one create/resume handler returning
     at once. Time until every object was handled; CPU seconds; peak RSS.
  S2 update storm: 1,000 objects, each updated 20 times as fast as a client can; the
     update handler sleeps 50 ms. Time until every object's final spec was handled;
     total handler invocations.
  S3 latency: changes at a steady 50/s for 60 s over 50 objects; from the PATCH's API
     response to the handler's start: p50, p99.
  S4 idle cost: 10,000 objects watched and handled, then 60 s without changes: CPU
     seconds and RSS over those 60 s.
  S5 many handlers: one kind with 5 update handlers; API writes per update (MODIFIED
     events a watch sees after the update, minus the update itself).

Floors, measured in the same run on the same API server, show what the machine allows
without any framework: S1 a bare client (no framework, 16 threads) LISTs the objects and
PATCHes each once with the annotation opframe writes; S2 the storm's writes with no
operator running; S3 a bare watch process (no cache, no handler) beside each operator,
timed the same way. kube-apiserver's own request counts (its /metrics) and the CPU
seconds of kube-apiserver + etcd are recorded for each run.

Non-default settings (also written to the results): kopf runs with `--standalone`
(no peering CRD) and `-n <namespace>`; opframe runs with `-n <namespace>`. Nothing
else is changed on either side.

Usage: python bench/kopf_compare.py [--quick]   (make bench)
Writes bench/results/<date>.json and prints one table with opframe/kopf ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

KOPF_REQUIREMENT = "kopf>=1.45,<1.46"
GROUP, VERSION, PLURAL = "bench.opframe.dev", "v1", "benchobjects"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": PLURAL, "singular": "benchobject", "kind": "BenchObject"},
             "versions": [{"name": VERSION, "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}

# kube-apiserver compacts etcd every 5 min by default: a compaction landing in one storm and not in
# another made the same storm 20-75% slower (the writer alone took 21.8, 34.2 and 37.9 s in three
# rounds of one run, each slower than the one before). The bench turns the timer off and compacts
# itself, between runs (Bench.clear) and right before each S2 storm, so every storm starts on a
# compacted store and none is compacted half-way.
COMPACTION_INTERVAL = "0"

# The same handler bodies for both frameworks; only the import and decorator names differ.
BODIES = {
    "sync": '''
@{on}.create("{group}", "{version}", "{plural}")
@{on}.resume("{group}", "{version}", "{plural}")
def handled(name, spec, **_):
    note(name, spec.get("v"))
''',
    "storm": '''
@{on}.create("{group}", "{version}", "{plural}")
@{on}.resume("{group}", "{version}", "{plural}")
def created(name, spec, **_):
    note(name, spec.get("v"))

@{on}.update("{group}", "{version}", "{plural}")
def updated(name, spec, **_):
    time.sleep(0.05)
    note(name, spec.get("v"))
''',
    "latency": '''
@{on}.create("{group}", "{version}", "{plural}")
@{on}.resume("{group}", "{version}", "{plural}")
def created(name, spec, **_):
    note(name, spec.get("v"))

@{on}.update("{group}", "{version}", "{plural}")
def updated(name, spec, **_):
    note(name, spec.get("v"))
''',
    "many": '''
@{on}.create("{group}", "{version}", "{plural}")
def created(name, spec, **_):
    note(name, spec.get("v"))
''' + "".join(f'''
@{{on}}.update("{{group}}", "{{version}}", "{{plural}}")
def update_{i}(name, spec, **_):
    note(name, spec.get("v"), {i})
''' for i in range(5)),
}
PRELUDE = '''
import json, os, time
{imports}
JOURNAL = open(os.environ["JOURNAL"], "a", buffering=1)

def note(name, value, extra=None):
    JOURNAL.write(json.dumps([name, value, time.time(), extra]) + "\\n")
'''
IMPORTS = {"opframe": "from opframe import on", "kopf": "import kopf"}
DECORATOR = {"opframe": "on", "kopf": "kopf.on"}


# -- plumbing ------------------------------------------------------------------------------

def kopf_venv() -> Path:
    """kopf in its own virtual environment, never an opframe dependency."""
    cache = Path(os.environ.get("OPFRAME_CACHE_DIR") or Path.home() / ".cache" / "opframe")
    venv = cache / "kopf-venv"
    if not (venv / "bin" / "kopf").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", KOPF_REQUIREMENT], check=True)
    return venv


def operator_source(framework: str, scenario: str) -> str:
    body = BODIES[scenario].format(on=DECORATOR[framework], group=GROUP, version=VERSION, plural=PLURAL)
    return PRELUDE.format(imports=IMPORTS[framework]) + body


class Operator:
    """One framework's operator process, with its journal and /proc readings."""

    def __init__(self, framework: str, scenario: str, namespace: str, kubeconfig: Path, workdir: Path) -> None:
        self.framework = framework
        self.journal = workdir / f"{framework}-{scenario}-{namespace}.jsonl"
        self.journal.touch()
        source = workdir / f"{framework}_{scenario}.py"
        source.write_text(operator_source(framework, scenario))
        self.log = open(workdir / f"{framework}-{scenario}-{namespace}.log", "wb")  # noqa: SIM115
        env = {**os.environ, "JOURNAL": str(self.journal), "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
        if framework == "kopf":
            argv = [str(kopf_venv() / "bin" / "kopf"), "run", "--standalone", "-n", namespace, str(source)]
        else:
            argv = [sys.executable, "-m", "opframe.cli", "run", str(source), "-n", namespace,
                    "--kubeconfig", str(kubeconfig)]
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def entries(self) -> list[list[Any]]:
        # Only whole lines: the handler may be half-way through writing the last one.
        return [json.loads(line) for line in self.journal.read_text().split("\n")[:-1] if line.strip()]

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def memory(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def median_run(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One S1 result from several rounds: the median of each figure; the rest (the S4
    idle reading, the server's counts) from the first round."""
    merged = dict(rounds[0])
    for figure in ("seconds", "cpu_seconds", "peak_rss"):
        if figure in merged:
            merged[figure] = statistics.median(r[figure] for r in rounds)
    merged["rounds"] = [r["seconds"] for r in rounds]
    return merged


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerUsage:
    """kube-apiserver's view of a run: its request counts for the bench kind and for
    Events (from its own /metrics) and the CPU seconds kube-apiserver and etcd spent, between two readings."""

    def __init__(self, plane: Any) -> None:
        self.plane = plane
        self.requests, self.cpu = self.read()

    def read(self) -> tuple[dict[str, float], float]:
        status, body = self.plane.admin_get("/metrics", timeout=30)
        requests: dict[str, float] = {}
        if status == 200:
            for line in body.decode().splitlines():
                if line.startswith("apiserver_request_total{") and any(
                        f'resource="{resource}"' in line for resource in (PLURAL, "events")):
                    verb = line.split('verb="', 1)[1].split('"', 1)[0]
                    if 'resource="events"' in line:
                        verb = f"{verb} events"
                    requests[verb] = requests.get(verb, 0.0) + float(line.rsplit(" ", 1)[1])
        cpu = process_cpu_seconds(self.plane.apiserver.pid) + process_cpu_seconds(self.plane.etcd.pid)
        return requests, cpu

    def since(self) -> dict[str, Any]:
        requests, cpu = self.read()
        return {"requests": {verb: int(n - self.requests.get(verb, 0.0)) for verb, n in requests.items()
                             if n - self.requests.get(verb, 0.0)},
                "apiserver_etcd_cpu_seconds": cpu - self.cpu}


class Bench:
    def __init__(self, client: Any, kubeconfig: Path, workdir: Path, plane: Any = None) -> None:
        from opframe.kube import Resource

        self.client = client
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.plane = plane
        self.objects = Resource(GROUP, VERSION, PLURAL, "BenchObject", subresources=("status",))
        self.namespaces = Resource("", "v1", "namespaces", "Namespace", namespaced=False)

    @classmethod
    def on(cls, plane: Any, workdir: Path) -> Bench:
        """A Bench on a started control plane, with the bench CRD installed and established."""
        from opframe.kube import ClientSettings, KubeClient, load_configuration
        from opframe.testing import install_crd

        client = KubeClient(load_configuration(plane.kubeconfig),
                            ClientSettings(qps=5000, burst=5000, request_timeout=600))
        install_crd(client, CRD, timeout=60)
        return cls(client, plane.kubeconfig, workdir, plane)

    def namespace(self, label: str) -> str:
        name = f"{label}-{uuid.uuid4().hex[:6]}"
        self.client.create(self.namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def create_objects(self, namespace: str, count: int) -> None:
        def make(i: int) -> None:
            self.client.create(self.objects, {"apiVersion": f"{GROUP}/{VERSION}", "kind": "BenchObject",
                                              "metadata": {"name": f"o-{i:06d}", "namespace": namespace},
                                              "spec": {"v": 0, "payload": "x" * 200}})
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(make, range(count)))

    def add_diff_base(self, namespace: str, count: int) -> None:
        """Give each object the annotation opframe writes once it has handled it (its essence as JSON)."""
        from opframe.objects.diffs import essence

        def annotate(i: int) -> None:
            name = f"o-{i:06d}"
            body = self.client.get(self.objects, name, namespace=namespace)
            base = json.dumps(essence(body, own_prefix="opframe.dev/"), separators=(",", ":"))
            self.client.patch(self.objects, name, {"metadata": {"annotations": {
                "opframe.dev/last-handled-configuration": base}}}, namespace=namespace)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(annotate, range(count)))

    def clear(self, namespace: str) -> None:
        """Delete a run's objects (one DELETE collection), so that later runs do not pay for a
        store grown by earlier ones; without kube-controller-manager namespaces are never
        emptied by themselves."""
        from opframe.kube import errors

        deadline = time.monotonic() + 900
        while True:
            # kube-apiserver cuts a request at 60 s; what it deleted so far stays deleted.
            with contextlib.suppress(errors.TransportError, errors.ServerError):
                self.client.request("DELETE", self.objects.path(namespace=namespace))
            if not self.client.list(self.objects, namespace=namespace, limit=1).items:
                self.compact()
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the objects in {namespace} were not deleted within 900 s")
            time.sleep(1)

    def compact(self) -> None:
        """Compact etcd at its current revision (the bench's control plane never does it by itself)."""
        if self.plane is not None:
            self.plane.compact_etcd()

    def start(self, framework: str, scenario: str, namespace: str) -> Operator:
        return Operator(framework, scenario, namespace, self.kubeconfig, self.workdir)

    # -- scenarios ---------------------------------------------------------------------------

    def s1_and_s4(self, framework: str, count: int, idle: float | None) -> dict[str, Any]:
        namespace = self.namespace(f"s1-{framework}")
        self.create_objects(namespace, count)
        usage = ServerUsage(self.plane)
        operator = self.start(framework, "sync", namespace)
        try:
            wait_for(lambda: len({e[0] for e in operator.entries()}) >= count, 1800, f"S1 {framework} {count}")
            result: dict[str, Any] = {"objects": count, "seconds": time.monotonic() - operator.started,
                                      "cpu_seconds": operator.cpu_seconds(), "peak_rss": operator.memory("VmHWM")}
            time.sleep(3)  # the last handlers' PATCHes land after their journal lines
            result["server"] = usage.since()
            if idle:
                time.sleep(5)  # let the tail of the sync settle
                cpu_before = operator.cpu_seconds()
                time.sleep(idle)
                result["idle"] = {"seconds": idle, "cpu_seconds": operator.cpu_seconds() - cpu_before,
                                  "rss": operator.memory("VmRSS")}
            return result
        finally:
            operator.stop()
            self.clear(namespace)

    def s1_floor(self, count: int) -> dict[str, Any]:
        """What any operator that records "handled" on each object must at least cost: a bare
        client (this process, 16 threads, no framework) lists the objects and PATCHes each
        once with the annotation opframe writes, of the same size. No operator runs."""
        namespace = self.namespace("s1-floor")
        self.create_objects(namespace, count)
        usage = ServerUsage(self.plane)
        started = time.monotonic()
        items = self.client.list_all(self.objects, namespace=namespace).items

        def record(item: dict[str, Any]) -> None:
            essence = json.dumps({"spec": item["spec"]}, separators=(",", ":"), sort_keys=True)
            self.client.patch(self.objects, item["metadata"]["name"],
                              {"metadata": {"annotations": {"opframe.dev/last-handled-configuration": essence}}},
                              namespace=namespace)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(record, items))
        result = {"objects": count, "seconds": time.monotonic() - started, "server": usage.since()}
        self.clear(namespace)
        return result

    def s2(self, framework: str | None, count: int = 1000, updates: int = 20,
           bare_watch: bool = False, diff_base: bool = False) -> dict[str, Any]:
        """The update storm; with ``framework=None`` the writer alone, with no operator running (and with
        ``bare_watch``, beside a process that only watches the objects: what watching alone costs; with
        ``diff_base``, on objects that carry the diff-base annotation an operator writes when it has
        handled them, as opframe's and kopf's do: what the bigger objects alone cost the server)."""
        namespace = self.namespace(f"s2-{framework or 'writer'}{'-diff-base' if diff_base else ''}")
        self.create_objects(namespace, count)
        if diff_base:
            self.add_diff_base(namespace, count)
        operator = self.start(framework, "storm", namespace) if framework else None
        watcher = None
        if bare_watch:
            watcher_journal = self.workdir / f"bare-watch-{namespace}.jsonl"
            watcher = subprocess.Popen([sys.executable, __file__, "--bare-watch", namespace, str(watcher_journal)],
                                       env={**os.environ, "KUBECONFIG": str(self.kubeconfig)})
            wait_for(watcher_journal.exists, 60, "S2 bare watch started")
        try:
            if operator:
                wait_for(lambda: len({e[0] for e in operator.entries()}) >= count, 900, f"S2 {framework} create")
            time.sleep(2)
            self.compact()
            baseline = len(operator.entries()) if operator else 0
            usage = ServerUsage(self.plane)
            started = time.monotonic()
            # CPU of the operator and of this process (the writer's 16 threads) during the storm: with
            # kube-apiserver's and etcd's, where the two shared cores went.
            operator_cpu = operator.cpu_seconds() if operator else 0.0
            writer_cpu = process_cpu_seconds(os.getpid())

            def storm(i: int) -> None:
                for value in range(1, updates + 1):
                    self.client.patch(self.objects, f"o-{i:06d}", {"spec": {"v": value}}, namespace=namespace)
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                list(pool.map(storm, range(count)))
            written = time.monotonic() - started
            if operator is None:
                return {"objects": count, "updates_each": updates, "writes_seconds": written,
                        "writer_cpu_seconds": process_cpu_seconds(os.getpid()) - writer_cpu,
                        "server": usage.since()}

            def converged() -> bool:
                final = {e[0] for e in operator.entries()[baseline:] if e[1] == updates}
                return len(final) >= count
            wait_for(converged, 1800, f"S2 {framework} convergence")
            seconds = time.monotonic() - started
            cpu = {"operator_cpu_seconds": operator.cpu_seconds() - operator_cpu,
                   "writer_cpu_seconds": process_cpu_seconds(os.getpid()) - writer_cpu}
            time.sleep(3)  # calls still in flight count too
            calls = operator.entries()[baseline:]
            return {"objects": count, "updates_each": updates, "writes_seconds": written,
                    "seconds_to_converge": seconds, "handler_calls": len(calls),
                    "breakdown": storm_breakdown(calls), **cpu, "server": usage.since()}
        finally:
            if operator:
                operator.stop()
            if watcher is not None:
                watcher.terminate()
                watcher.wait(30)
            self.clear(namespace)

    def s2_rounds(self, framework: str, count: int, rounds: int) -> dict[str, Any]:
        """S2 against its floor in ``rounds`` rounds: each round runs the writer alone and the storm
        beside ``framework`` back to back (the order alternating), so that each ratio compares two runs
        made under the same load of the shared machine; the figure is the median round's. On two
        shared cores the writer alone took 23.5 to 42.8 s in four runs of one day: one pair is noise."""
        # A warm-up storm first, not counted: on a fresh control plane the first storm is the fastest of
        # any (an empty etcd), which made every round 1 the highest ratio (1.82 and 1.79 in two runs whose
        # other rounds gave 1.38-1.58): each ratio should compare runs on a store in the same state.
        print("S2 writer, warm-up ...", file=sys.stderr, flush=True)
        self.s2(None, count=count)
        # "operator floor": what any operator keeping kopf's bookkeeping costs before it does any work of
        # its own: its objects carry the diff-base, and it watches them (a bare watch, no cache, no handler).
        pairs = []
        for round_ in range(rounds):
            order = ("writer", "diff-base", "operator floor", framework)
            pair: dict[str, Any] = {}
            for who in order if round_ % 2 == 0 else reversed(order):
                print(f"S2 {who}, round {round_ + 1} of {rounds} ...", file=sys.stderr, flush=True)
                floor = who in ("writer", "diff-base", "operator floor")
                pair[who] = self.s2(None if floor else framework, count=count,
                                    diff_base=who in ("diff-base", "operator floor"),
                                    bare_watch=who == "operator floor")
            pair["ratio"] = pair[framework]["seconds_to_converge"] / pair["writer"]["writes_seconds"]
            pair["diff_base_ratio"] = pair["diff-base"]["writes_seconds"] / pair["writer"]["writes_seconds"]
            pair["operator_floor_ratio"] = pair["operator floor"]["writes_seconds"] / pair["writer"]["writes_seconds"]
            pairs.append(pair)
        median = sorted(pairs, key=lambda pair: pair["ratio"])[len(pairs) // 2]
        return {"run": median[framework], "writer_alone": median["writer"],
                "ratios": [pair["ratio"] for pair in pairs], "median_ratio": median["ratio"],
                "diff_base_ratios": [pair["diff_base_ratio"] for pair in pairs],
                "operator_floor_ratios": [pair["operator_floor_ratio"] for pair in pairs],
                "rounds": [{"writer_alone_seconds": pair["writer"]["writes_seconds"],
                            "writer_on_objects_with_a_diff_base_seconds": pair["diff-base"]["writes_seconds"],
                            "writer_on_diff_base_objects_beside_a_bare_watch_seconds":
                                pair["operator floor"]["writes_seconds"],
                            "operator_floor_ratio": pair["operator_floor_ratio"],
                            "seconds_to_converge": pair[framework]["seconds_to_converge"],
                            "handler_calls": pair[framework]["handler_calls"], "ratio": pair["ratio"],
                            "diff_base_ratio": pair["diff_base_ratio"]}
                           for pair in pairs]}

    def s3(self, framework: str, rate: float = 50.0, seconds: float = 60.0) -> dict[str, Any]:
        namespace = self.namespace(f"s3-{framework}")
        self.create_objects(namespace, 50)
        operator = self.start(framework, "latency", namespace)
        watcher_journal = self.workdir / f"bare-watch-{namespace}.jsonl"
        watcher = subprocess.Popen([sys.executable, __file__, "--bare-watch", namespace, str(watcher_journal)],
                                   env={**os.environ, "KUBECONFIG": str(self.kubeconfig)})
        try:
            wait_for(lambda: len({e[0] for e in operator.entries()}) >= 50, 300, f"S3 {framework} create")
            wait_for(watcher_journal.exists, 60, "S3 bare watch started")
            time.sleep(2)
            sent: dict[tuple[str, int], float] = {}
            total = int(rate * seconds)
            start = time.monotonic()
            for n in range(total):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                name, value = f"o-{n % 50:06d}", n + 1
                self.client.patch(self.objects, name, {"spec": {"v": value}}, namespace=namespace)
                sent[(name, value)] = time.time()
            achieved = total / (time.monotonic() - start)
            last = (f"o-{(total - 1) % 50:06d}", total)
            wait_for(lambda: any((e[0], e[1]) == last for e in operator.entries()), 300, f"S3 {framework} tail")
            handled = {}
            for name, value, at, _ in operator.entries():
                handled.setdefault((name, value), at)
            latencies = [handled[k] - t for k, t in sent.items() if k in handled]
            seen = {}
            for line in watcher_journal.read_text().split("\n")[:-1]:
                name, value, at = json.loads(line)
                seen.setdefault((name, value), at)
            delivered = [seen[k] - t for k, t in sent.items() if k in seen]
            return {"changes": total, "achieved_rate": achieved, "handled": len(latencies),
                    "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * percentile(latencies, 0.99),
                    "bare_watch": {"seen": len(delivered), "p50_ms": 1000 * statistics.median(delivered),
                                   "p99_ms": 1000 * percentile(delivered, 0.99)}}
        finally:
            try:
                watcher.terminate()
                try:
                    watcher.wait(10)
                except subprocess.TimeoutExpired:
                    watcher.kill()
                    watcher.wait()
            finally:
                operator.stop()
                self.clear(namespace)

    def s5(self, framework: str, updates: int = 5) -> dict[str, Any]:
        namespace = self.namespace(f"s5-{framework}")
        self.create_objects(namespace, 1)
        operator = self.start(framework, "many", namespace)
        try:
            wait_for(lambda: len(operator.entries()) >= 1, 300, f"S5 {framework} create")
            time.sleep(3)
            writes = []
            for value in range(1, updates + 1):
                before = self.client.get(self.objects, "o-000000", namespace=namespace)["metadata"]["resourceVersion"]
                events: list[str] = []
                stream = self.client.watch(self.objects, namespace=namespace, resource_version=before,
                                           timeout_seconds=10, inactivity_timeout=30,
                                           field_selector="metadata.name=o-000000")
                reader = threading.Thread(target=lambda s=stream, seen=events: seen.extend(e.type for e in s),
                                          daemon=True)
                reader.start()
                self.client.patch(self.objects, "o-000000", {"spec": {"v": value}}, namespace=namespace)
                wait_for(lambda v=value: len([e for e in operator.entries() if e[1] == v]) >= 5, 120,
                         f"S5 {framework} handlers")
                time.sleep(3)
                stream.close()
                reader.join(5)
                writes.append(events.count("MODIFIED") - 1)
            return {"handlers": 5, "updates": updates, "writes_per_update": statistics.mean(writes),
                    "writes": writes}
        finally:
            operator.stop()
            self.clear(namespace)


def storm_breakdown(calls: list[list[Any]]) -> dict[str, Any]:
    """Where a storm's handler calls come from, from the journal (name, value seen, time):

    * first: an object's first call of the storm;
    * newer: a later call that saw a newer value than the object's previous call (a change
      that arrived while, or after, the previous one was handled);
    * repeat: a call that saw the same value as the object's previous call (the same spec
      handled twice: a wasted call);
    * older: a call that saw an older value than a previous one (out of order).

    With the spread of calls per object and the gaps between an object's consecutive calls.
    """
    last: dict[str, tuple[Any, float]] = {}
    kinds = {"first": 0, "newer": 0, "repeat": 0, "older": 0}
    gaps: list[float] = []
    per_object: dict[str, int] = {}
    for name, value, at, *_ in calls:
        per_object[name] = per_object.get(name, 0) + 1
        if name not in last:
            kinds["first"] += 1
        else:
            previous, previous_at = last[name]
            gaps.append(at - previous_at)
            kinds["newer" if value > previous else "repeat" if value == previous else "older"] += 1
        if name not in last or value >= last[name][0]:
            last[name] = (value, at)
    counts = sorted(per_object.values()) or [0]
    return {**kinds, "calls_per_object": {"min": counts[0], "median": statistics.median(counts),
                                          "max": counts[-1]},
            "gap_between_calls_ms": {"p50": 1000 * statistics.median(gaps) if gaps else None,
                                     "p10": 1000 * sorted(gaps)[len(gaps) // 10] if gaps else None}}


def bare_watch(namespace: str, journal: Path) -> int:
    """S3's floor: a process that only watches the bench objects (no framework, no cache,
    no handler) and notes when each change arrives; run beside each operator under test."""
    from opframe.kube import KubeClient, Resource, load_configuration

    client = KubeClient(load_configuration(None))
    objects = Resource(GROUP, VERSION, PLURAL, "BenchObject", subresources=("status",))
    version = client.list(objects, namespace=namespace, limit=1).resource_version
    with open(journal, "a", buffering=1) as out:
        while True:
            for event in client.watch(objects, namespace=namespace, resource_version=version,
                                      timeout_seconds=300, inactivity_timeout=330):
                if event.type not in ("ADDED", "MODIFIED"):
                    continue
                at = time.time()
                version = event.object["metadata"]["resourceVersion"]
                value = (event.object.get("spec") or {}).get("v")
                out.write(json.dumps([event.object["metadata"]["name"], value, at]) + "\n")


def run_scenarios(bench: Bench, runs: dict[str, Any], sizes: list[int], scale: list[int], window: float,
                  repeat: int, storm_rounds: int, quick: bool) -> None:
    # S1 in rounds, the frameworks' order alternating, each round with fresh objects;
    # the table takes each figure's median over the rounds. S4 is measured in round 1.
    for count in sizes if len(runs.get("S1_floor", [])) < len(sizes) * repeat else []:
        for round_ in range(repeat):
            order = ("opframe", "kopf") if round_ % 2 == 0 else ("kopf", "opframe")
            for framework in order:
                idle = window if count == sizes[-1] and round_ == 0 else None
                print(f"S1 {framework} {count} objects, round {round_ + 1} ...", file=sys.stderr, flush=True)
                runs.setdefault("S1", {}).setdefault(framework, []).append(
                    bench.s1_and_s4(framework, count, idle))
            print(f"S1 floor (bare client) {count} objects, round {round_ + 1} ...", file=sys.stderr, flush=True)
            runs.setdefault("S1_floor", []).append(bench.s1_floor(count))
    for count in [c for c in scale[len(sizes):] if all(r["objects"] != c for r in runs["S1"]["opframe"])]:
        print(f"S1 scale opframe {count} objects ...", file=sys.stderr, flush=True)
        runs["S1"]["opframe"].append(bench.s1_and_s4("opframe", count, None))
    if "S2_writer_alone" not in runs:
        # opframe's S2 in rounds against the writer alone (the issue's ratio); the median round is the
        # table's S2 opframe and S2 floor, the others are kept beside it.
        rounds = bench.s2_rounds("opframe", 100 if quick else 1000, storm_rounds)
        runs["S2_writer_alone"] = rounds["writer_alone"]
        runs.setdefault("S2", {})["opframe"] = rounds["run"]
        runs["S2_rounds"] = {key: rounds[key] for key in ROUND_FIGURES}
    for framework in ("opframe", "kopf"):
        for scenario, run in (("S2", lambda fw=framework: bench.s2(fw, count=100 if quick else 1000)),
                              ("S3", lambda fw=framework: bench.s3(fw, seconds=window)),
                              ("S5", lambda fw=framework: bench.s5(fw))):
            if framework not in runs.get(scenario, {}):
                print(f"{scenario} {framework} ...", file=sys.stderr, flush=True)
                runs.setdefault(scenario, {})[framework] = run()


#: What S2's rounds keep beside the median round's runs.
ROUND_FIGURES = ("rounds", "ratios", "median_ratio", "diff_base_ratios", "operator_floor_ratios")


def unused(path: Path) -> Path:
    """``path``, or ``<stem>-2``, ``-3``, ... when it exists: a study never overwrites an earlier one of the day."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def storm_study(workdir: Path, count: int, out: Path, windows: list[float], storm_rounds: int) -> int:
    """S2 alone (the writer alone and beside a bare watch, then each framework), with each framework's
    call breakdown; opframe also with bursts off and with each of ``windows`` as its burst_window."""
    from opframe.testing import ControlPlane

    with ControlPlane(compaction_interval=COMPACTION_INTERVAL) as plane:
        bench = Bench.on(plane, workdir)
        rounds = bench.s2_rounds("opframe", count, storm_rounds)
        runs = {"writer_alone": rounds["writer_alone"],
                "writer_beside_a_bare_watch": bench.s2(None, count=count, bare_watch=True)}
        os.environ["OPFRAME_BURST_WINDOW"] = "0"  # opframe before bursts: every change handled when a worker is free
        try:
            runs["opframe, bursts off"] = bench.s2("opframe", count=count)
        finally:
            del os.environ["OPFRAME_BURST_WINDOW"]
        for window in windows:
            os.environ["OPFRAME_BURST_WINDOW"] = str(window)
            try:
                runs[f"opframe, burst_window {window:g}"] = bench.s2("opframe", count=count)
            finally:
                del os.environ["OPFRAME_BURST_WINDOW"]
        runs["opframe"] = rounds["run"]
        runs["kopf"] = bench.s2("kopf", count=count)
    out.write_text(json.dumps({"date": datetime.date.today().isoformat(), "objects": count, "runs": runs,
                               "opframe_rounds": {key: rounds[key] for key in ROUND_FIGURES}},
                              indent=2))
    print("opframe against the writer alone, round by round: " + ", ".join(
        f"{r['seconds_to_converge']:.1f} / {r['writer_alone_seconds']:.1f} s = x{r['ratio']:.2f}"
        for r in rounds["rounds"]) + f"; median x{rounds['median_ratio']:.2f}")
    print("the writer alone on objects with a diff-base annotation against plain ones: " + ", ".join(
        f"{r['writer_on_objects_with_a_diff_base_seconds']:.1f} / {r['writer_alone_seconds']:.1f} s = "
        f"x{r['diff_base_ratio']:.2f}" for r in rounds["rounds"]))
    print("the writer on objects with a diff-base beside a bare watch (any kopf-style operator's floor): " + ", ".join(
        f"{r['writer_on_diff_base_objects_beside_a_bare_watch_seconds']:.1f} / {r['writer_alone_seconds']:.1f} s = "
        f"x{r['operator_floor_ratio']:.2f}" for r in rounds["rounds"]))
    print(f"S2 storm, {count} objects x 20 updates; the writer alone: {runs['writer_alone']['writes_seconds']:.1f} s, "
          f"beside a bare watch: {runs['writer_beside_a_bare_watch']['writes_seconds']:.1f} s; CPU s of the "
          f"writer alone {runs['writer_alone']['writer_cpu_seconds']:.1f}, kube-apiserver + etcd "
          f"{runs['writer_alone']['server']['apiserver_etcd_cpu_seconds']:.1f}")
    for framework in [name for name in runs if not name.startswith("writer")]:
        run = runs[framework]
        print(f"{framework:28} converged in {run['seconds_to_converge']:.1f} s "
              f"(x{run['seconds_to_converge'] / runs['writer_alone']['writes_seconds']:.2f} the writer alone), "
              f"{run['handler_calls']} calls: {run['breakdown']}; CPU s: operator {run['operator_cpu_seconds']:.1f}, "
              f"writer {run['writer_cpu_seconds']:.1f}, kube-apiserver + etcd "
              f"{run['server']['apiserver_etcd_cpu_seconds']:.1f}")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter windows, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="S1 rounds per size (median taken); default 3")
    parser.add_argument("--storm-rounds", type=int, default=3,
                        help="S2 rounds of the writer alone and opframe's storm back to back (median ratio taken); "
                             "default 3")
    parser.add_argument("--resume", type=Path, metavar="PARTIAL_JSON",
                        help="keep the runs of a run that stopped early (its partial results file) and do the rest "
                             "on a fresh control plane; the results say which scenarios came from which")
    parser.add_argument("--only", choices=["S2"], help="run only this scenario (a study; no summary table)")
    parser.add_argument("--storm-windows", type=float, nargs="*", default=[],
                        help="with --only S2: opframe also with these burst_window values")
    parser.add_argument("--bare-watch", nargs=2, metavar=("NAMESPACE", "JOURNAL"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.bare_watch:
        return bare_watch(options.bare_watch[0], Path(options.bare_watch[1]))
    quick = options.quick

    from opframe.testing import ControlPlane

    kopf_venv()
    workdir = Path(tempfile.mkdtemp(prefix="opframe-vs-kopf-"))
    sizes = [100, 300] if quick else [1000, 10_000]
    scale = [100, 300, 900] if quick else [1000, 10_000, 30_000]
    window = 10.0 if quick else 60.0
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(), "kopf": KOPF_REQUIREMENT, "quick": quick,
        "non_default_settings": {"kopf": ["--standalone (no peering)", "-n <namespace>"],
                                 "opframe": ["-n <namespace>"]},
        "machine": {"cpus": os.cpu_count()}, "runs": {}}
    if options.resume:
        earlier = json.loads(options.resume.read_text())
        kept = dict(earlier["runs"])
        if len(kept.get("S1_floor", [])) < len(sizes) * options.repeat:
            kept.pop("S1", None)  # S1's rounds were not all done: all of them again, on one plane
            kept.pop("S1_floor", None)
        for scenario in ("S2", "S3", "S5"):
            if len(kept.get(scenario, {})) < 2:
                kept.pop(scenario, None)  # both frameworks on one plane, or neither
                if scenario == "S2":
                    kept.pop("S2_writer_alone", None)  # and opframe's rounds with their floor
                    kept.pop("S2_rounds", None)
        results["runs"] = kept
        results["resumed"] = {
            "from": earlier["date"],
            "on_the_first_control_plane": {
                scenario: sorted({f"{fw} {r['objects']}" for fw, rs in value.items() for r in rs})
                if scenario == "S1" else True for scenario, value in kept.items()},
            "note": "everything else ran on a second control plane; each ratio compares runs on one plane"}
    out = HERE / "results" / f"{results['date']}{'-quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if options.only == "S2":
        return storm_study(workdir, 100 if quick else 1000, unused(out.with_name(f"{out.stem}-storm.json")),
                           options.storm_windows, options.storm_rounds)
    out = unused(out)  # a second full run of the day keeps the first
    with ControlPlane(compaction_interval=COMPACTION_INTERVAL) as plane:
        bench = Bench.on(plane, workdir)
        runs = results["runs"]
        try:
            run_scenarios(bench, runs, sizes, scale, window, options.repeat, options.storm_rounds, quick)
        except BaseException:
            out.write_text(json.dumps({**results, "partial": True}, indent=2))
            print(f"stopped early; the runs so far are in {out.relative_to(ROOT)}", file=sys.stderr)
            raise
    out.write_text(json.dumps(results, indent=2))  # the runs are safe before the summary is built

    s1 = {fw: {count: median_run([r for r in runs["S1"][fw] if r["objects"] == count])
               for count in {r["objects"] for r in runs["S1"][fw]}} for fw in ("opframe", "kopf")}
    s1_floor = {count: median_run([r for r in runs["S1_floor"] if r["objects"] == count]) for count in sizes}
    big = sizes[-1]
    rows: list[tuple[str, float, float]] = []
    for count in sizes:
        rows.append((f"S1 sync {count} objects: seconds", s1["opframe"][count]["seconds"],
                     s1["kopf"][count]["seconds"]))
        rows.append((f"S1 sync {count} objects: CPU seconds", s1["opframe"][count]["cpu_seconds"],
                     s1["kopf"][count]["cpu_seconds"]))
        rows.append((f"S1 sync {count} objects: peak RSS MiB", s1["opframe"][count]["peak_rss"] / 2**20,
                     s1["kopf"][count]["peak_rss"] / 2**20))
    rows += [
        ("S2 storm: seconds to converge", runs["S2"]["opframe"]["seconds_to_converge"],
         runs["S2"]["kopf"]["seconds_to_converge"]),
        ("S2 storm: handler calls", runs["S2"]["opframe"]["handler_calls"], runs["S2"]["kopf"]["handler_calls"]),
        ("S3 latency p50 ms", runs["S3"]["opframe"]["p50_ms"], runs["S3"]["kopf"]["p50_ms"]),
        ("S3 latency p99 ms", runs["S3"]["opframe"]["p99_ms"], runs["S3"]["kopf"]["p99_ms"]),
        (f"S4 idle {big} objects {window:.0f} s: CPU seconds", s1["opframe"][big]["idle"]["cpu_seconds"],
         s1["kopf"][big]["idle"]["cpu_seconds"]),
        (f"S4 idle {big} objects: RSS MiB", s1["opframe"][big]["idle"]["rss"] / 2**20,
         s1["kopf"][big]["idle"]["rss"] / 2**20),
        ("S5 5 handlers: API writes per update", runs["S5"]["opframe"]["writes_per_update"],
         runs["S5"]["kopf"]["writes_per_update"]),
    ]
    results["table"] = [{"figure": f, "opframe": o, "kopf": k, "ratio": (o / k) if k else None} for f, o, k in rows]
    results["scale"] = [{"objects": r["objects"], "seconds": r["seconds"], "peak_rss": r["peak_rss"],
                         "cpu_seconds": r["cpu_seconds"]} for _, r in sorted(s1["opframe"].items())]
    print(f"\n{'figure':46} {'opframe':>10} {'kopf':>10} {'opframe/kopf':>13}")
    for row in results["table"]:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(f"{row['figure']:46} {row['opframe']:10.2f} {row['kopf']:10.2f} {ratio:>13}")
    floors = {f"S1 {count} objects: a bare client's LIST + one PATCH each, seconds": r["seconds"]
              for count, r in s1_floor.items()}
    floors["S2 the storm's 20 writes per object with no operator running, seconds"] = \
        runs["S2_writer_alone"]["writes_seconds"]
    floors["S2 handler calls: one per object for its final spec (the least possible)"] = \
        runs["S2"]["opframe"]["objects"]
    for framework in ("opframe", "kopf"):
        for figure in ("p50_ms", "p99_ms"):
            floors[f"S3 a bare watch beside {framework}: {figure}"] = runs["S3"][framework]["bare_watch"][figure]
    results["floors"] = floors
    storm = runs["S2_rounds"]
    print("\nS2 opframe against the writer alone, round by round: " + ", ".join(
        f"{r['seconds_to_converge']:.1f} / {r['writer_alone_seconds']:.1f} s = x{r['ratio']:.2f}"
        for r in storm["rounds"]) + f"; median x{storm['median_ratio']:.2f}; the writer alone on objects with "
        "a diff-base: " + ", ".join(f"x{ratio:.2f}" for ratio in storm["diff_base_ratios"])
        + "; and beside a bare watch (a kopf-style operator's floor): "
        + ", ".join(f"x{ratio:.2f}" for ratio in storm["operator_floor_ratios"]))
    print("\nfloors (what the API server and the machine allow without any framework):")
    for figure, value in floors.items():
        print(f"  {figure:75} {value:8.2f}")
    print("\nserver side (kube-apiserver's request counts for the bench kind; kube-apiserver + etcd CPU s):")
    for label, run in [*((f"S1 {fw} {r['objects']}", r) for fw in ("opframe", "kopf") for r in runs["S1"][fw]),
                       *((f"S1 floor {r['objects']}", r) for r in runs["S1_floor"]),
                       ("S2 writer alone", runs["S2_writer_alone"]),
                       *((f"S2 {fw}", runs["S2"][fw]) for fw in ("opframe", "kopf"))]:
        server = run["server"]
        print(f"  {label:22} {server['apiserver_etcd_cpu_seconds']:7.1f} CPU s  {server['requests']}")
    print("\nopframe S1 scale:")
    for row in results["scale"]:
        print(f"  {row['objects']:>6} objects: {row['seconds']:7.2f} s, {row['cpu_seconds']:7.2f} CPU s, "
              f"peak RSS {row['peak_rss'] / 2**20:7.1f} MiB")
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
