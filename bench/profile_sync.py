"""Profile opframe's initial sync (S1) with py-spy: where do the operator's threads spend time?

Starts a local control plane, creates N BenchObjects, runs the S1 operator of
bench/kopf_compare.py under `py-spy record` (all threads, 200 Hz) until every object
is handled, and prints the busiest frames by self and inclusive samples (threads
parked in Condition.wait / select are left out as idle).

Usage: python bench/profile_sync.py [--objects 10000]   (needs `pip install py-spy`)
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
    options = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("error: py-spy not found; install it with 'pip install py-spy'", file=sys.stderr)
        return 1

    import kopf_compare as kc

    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
    from opframe.testing import ControlPlane

    raw = Path(tempfile.mkdtemp(prefix="opframe-profile-")) / "profile.raw"
    with ControlPlane() as plane:
        client = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=5000, burst=5000))
        crds = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
        client.create(crds, kc.CRD)
        time.sleep(3)
        bench = kc.Bench(client, plane.kubeconfig, raw.parent)
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


if __name__ == "__main__":
    sys.exit(main())
