"""Benchmark: the node-backed local cluster (issue 11), measured from outside.

* nothing -> Node Ready (`ControlPlane(node=True).start()`), over --starts runs;
* operator image import, `helm install` -> operator pod Ready (its real probes);
* leader failover between two operator pods over --kills kills: SIGKILL of the leader's
  process (found by pid in the node's cgroups; the lease is not released) and graceful
  pod deletion (it is), time until another pod holds the Lease;
* teardown: processes, mounts, cgroups and network namespaces before, during (pods
  running) and after.

Usage: python bench/node_cluster.py [--starts 3] [--kills 5]   (needs root, make node image helm)
Writes bench/results/<date>-node.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5)
    options = parser.parse_args()

    from test_node import _host_state  # the same snapshot the teardown test compares

    from opframe.kube import KubeClient, Resource, errors, load_configuration
    from opframe.testing import ControlPlane, eventually
    from opframe.testing.controlplane import cache_dir

    pods_resource = Resource("", "v1", "pods", "Pod")
    leases = Resource("coordination.k8s.io", "v1", "leases", "Lease")
    helm = cache_dir().parent.parent / "tools" / "helm-v3.22.0" / "helm"
    archive = cache_dir().parent.parent / "images" / "opframe.tar"
    results: dict[str, Any] = {"date": datetime.date.today().isoformat()}

    def snapshot() -> dict[str, int]:
        state = _host_state()
        return {"node_processes": len(state["processes"]), "mounts": len(state["mounts"]),
                "opframe_cgroups": len(state["cgroups"]), "network_namespaces": len(state["netns"])}

    ready_times = []
    for _ in range(options.starts):
        began = time.monotonic()
        with ControlPlane(node=True) as plane:
            ready_times.append(time.monotonic() - began)
    results["node_ready_s"] = ready_times

    results["teardown"] = {"before": snapshot()}
    began = time.monotonic()
    plane = ControlPlane(node=True)
    plane.start()
    try:
        assert plane.node is not None
        client = KubeClient(load_configuration(plane.kubeconfig))
        results["node_ready_for_failover_s"] = time.monotonic() - began
        began = time.monotonic()
        plane.node.import_image(archive, "opframe.local/opframe:dev")
        results["image_import_s"] = time.monotonic() - began
        began = time.monotonic()
        subprocess.run([str(helm), "install", "op", str(HERE.parent / "charts" / "opframe"), "--kubeconfig",
                        str(plane.kubeconfig), "-n", "default", "--set", "image.repository=opframe.local/opframe",
                        "--set", "image.tag=dev", "--set", "image.pullPolicy=Never", "--set", "replicas=2",
                        "--set", "podDisruptionBudget.enabled=false", "--set", "resources.requests.cpu=10m"],
                       check=True, capture_output=True)

        def ready_pods() -> list[dict[str, Any]]:
            return [p for p in client.list(pods_resource, namespace="default").items
                    if not p["metadata"].get("deletionTimestamp") and any(
                        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]

        eventually(lambda: len(ready_pods()) >= 1, what="an operator pod Ready", timeout=120)
        results["helm_install_to_first_pod_ready_s"] = time.monotonic() - began
        eventually(lambda: len(ready_pods()) == 2, what="two pods Ready", timeout=120)
        results["teardown"]["during"] = snapshot()

        def holder() -> str:
            try:
                return str(client.get(leases, "op-opframe", namespace="default")["spec"].get("holderIdentity") or "")
            except errors.NotFound:
                return ""

        failovers: dict[str, list[float]] = {"sigkill": [], "delete": []}
        for round_ in range(options.kills):
            for how in ("sigkill", "delete"):
                eventually(lambda: len(ready_pods()) == 2 and holder(), what="two pods and a leader", timeout=120)
                leader = holder()
                pod = next(p["metadata"]["name"] for p in ready_pods() if leader.startswith(p["metadata"]["name"]))
                killed_at = time.monotonic()
                if how == "delete":
                    client.delete(pods_resource, pod, namespace="default")
                else:
                    uid = next(p["metadata"]["uid"] for p in ready_pods() if p["metadata"]["name"] == pod)
                    pids = [pid for pid in plane.node.cgroup_pids()
                            if uid.replace("-", "_") in Path(f"/proc/{pid}/cgroup").read_text()
                            or uid in Path(f"/proc/{pid}/cgroup").read_text()]
                    pids = [pid for pid in pids if b"opframe" in Path(f"/proc/{pid}/cmdline").read_bytes()]
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                eventually(lambda old=leader: holder() and holder() != old, what="another holder", timeout=60,
                           interval=0.05)
                failovers[how].append(time.monotonic() - killed_at)
                print(f"round {round_ + 1} {how}: {failovers[how][-1]:.2f} s", flush=True)
        results["failover_s"] = failovers
        client.close()
    finally:
        plane.stop()
    results["teardown"]["after"] = snapshot()

    out = HERE / "results" / f"{results['date']}-node.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"nothing -> Node Ready: {', '.join(f'{t:.1f}' for t in ready_times)} s")
    print(f"image import {results['image_import_s']:.1f} s; helm install -> operator pod Ready "
          f"{results['helm_install_to_first_pod_ready_s']:.1f} s")
    for how, times in results["failover_s"].items():
        print(f"failover after {how} of the leader ({len(times)}x): min {min(times):.2f}, median "
              f"{statistics.median(times):.2f}, max {max(times):.2f} s")
    print(f"teardown: {results['teardown']}")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
