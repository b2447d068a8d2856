"""Profile opframe's initial sync (S1) with py-spy: where do the operator's threads spend time?

Starts a local control plane, creates N BenchObjects, runs the S1 operator of
bench/kopf_compare.py under `py-spy record` (all threads, 200 Hz) until every object
is handled, and prints the busiest frames by self and inclusive samples (threads
parked in Condition.wait / select are left out as idle).

With --apiserver, kube-apiserver's own CPU profile (Go pprof, /debug/pprof/profile)
is taken over the middle of the sync instead, and its busiest stages are printed: where
the server's time per PATCH goes (needs `go` for `go tool pprof`).

Usage: python bench/profile_sync.py [--objects 10000] [--gil | --apiserver]   (needs `pip install py-spy`)
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL: where the operator's Python CPU time goes")
    parser.add_argument("--apiserver", action="store_true",
                        help="profile kube-apiserver (Go pprof) during the sync instead of the operator")
    options = parser.parse_args()
    if options.apiserver:
        return profile_apiserver(options.objects)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("error: py-spy not found; install it with 'pip install py-spy'", file=sys.stderr)
        return 1

    import kopf_compare as kc

    from opframe.testing import ControlPlane

    raw = Path(tempfile.mkdtemp(prefix="opframe-profile-")) / "profile.raw"
    with ControlPlane() as plane:
        bench = kc.Bench.on(plane, raw.parent)
        namespace = bench.namespace("profile")
        bench.create_objects(namespace, options.objects)
        operator = bench.start("opframe", "sync", namespace)
        profiler = subprocess.Popen([py_spy, "record", "-r", "200", "-f", "raw", "-o", str(raw), "--pid",
                                     str(operator.process.pid), "--nonblocking", *(["--gil"] if options.gil else [])],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc.wait_for(lambda: len({e[0] for e in operator.entries()}) >= options.objects, 1800, "sync")
        fields = Path(f"/proc/{operator.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        print(f"synced {options.objects} objects in {time.monotonic() - operator.started:.1f} s, "
              f"{operator.cpu_seconds():.1f} CPU s (user {int(fields[11]) / tick:.1f}, "
              f"system {int(fields[12]) / tick:.1f})")
        profiler.send_signal(2)
        profiler.wait(60)
        operator.stop()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any("threading.py" in f and "wait" in f for f in frames[-2:]) or "select" in frames[-1]:
            continue
        samples = int(count)
        busy += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    print(f"{busy} busy samples\n--- self ---")
    for frame, samples in own.most_common(20):
        print(f"{100 * samples / busy:5.1f}% {frame[:140]}")
    print("--- inclusive ---")
    for frame, samples in inclusive.most_common(40):
        print(f"{100 * samples / busy:5.1f}% {frame[:140]}")
    return 0


#: kube-apiserver stages reported by --apiserver: (label, a frame that marks it).
APISERVER_STAGES = [
    ("PATCH handling (read, patch, validate, write)",
     "k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).patchResource.func2"),
    ("  applying the patch (object to JSON and back)",
     "k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).applyPatch"),
    ("  CRD decoding with schema coercion (request and storage)",
     "k8s.io/apiextensions-apiserver/pkg/apiserver.schemaCoercingDecoder.Decode"),
    ("  managedFields bookkeeping",
     "k8s.io/apimachinery/pkg/util/managedfields/internal.(*FieldManager).Update"),
    ("client-certificate authentication, per request",
     "k8s.io/apiserver/pkg/authentication/request/x509.(*Authenticator).AuthenticateRequest"),
    ("decoding etcd's events for the watch cache",
     "k8s.io/apiserver/pkg/storage/etcd3.(*watchChan).serialProcessEvents"),
    ("Go garbage collection (background marking)", "runtime.gcBgMarkWorker"),
]


def profile_apiserver(objects: int, seconds: int = 15) -> int:
    import threading

    import kopf_compare as kc

    from opframe.testing import ControlPlane

    go = shutil.which("go") or "/usr/local/go/bin/go"
    out = Path(tempfile.mkdtemp(prefix="opframe-profile-")) / "kube-apiserver.pprof"
    with ControlPlane() as plane:
        bench = kc.Bench.on(plane, out.parent)
        namespace = bench.namespace("profile")
        bench.create_objects(namespace, objects)
        usage = kc.ServerUsage(plane)
        operator = bench.start("opframe", "sync", namespace)

        def take() -> None:
            time.sleep(3)
            status, body = plane.admin_get(f"/debug/pprof/profile?seconds={seconds}", timeout=seconds + 30)
            if status == 200:
                out.write_bytes(body)
        taker = threading.Thread(target=take)
        taker.start()
        kc.wait_for(lambda: len({e[0] for e in operator.entries()}) >= objects, 1800, "sync")
        elapsed = time.monotonic() - operator.started
        server = usage.since()
        operator_cpu = operator.cpu_seconds()
        taker.join()
        operator.stop()
    server_cpu = server["apiserver_etcd_cpu_seconds"]
    print(f"synced {objects} objects in {elapsed:.1f} s; operator {operator_cpu:.1f} CPU s, kube-apiserver + etcd "
          f"{server_cpu:.1f} CPU s ({1000 * server_cpu / objects:.2f} ms per object); requests {server['requests']}")
    if not out.exists():
        print("error: kube-apiserver gave no profile (the sync may have ended within 3 s)", file=sys.stderr)
        return 1
    top = subprocess.run([go, "tool", "pprof", "-top", "-cum", "-nodecount=100000", str(out)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    total = next(line for line in top if "Total samples" in line)
    print(f"kube-apiserver profile ({out}): {total.strip()}")
    for label, marker in APISERVER_STAGES:
        share = next((line.split()[4] for line in top if line.split() and line.split()[-1] == marker), "-")
        print(f"  {share:>7} {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
