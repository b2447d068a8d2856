"""Benchmark: failover time of Lease leader election with the default timings (15 s / 10 s / 2 s).

Two `opframe run --leader-election` replicas on a local control plane. Each round:
kill -9 the leader, create a ConfigMap, and time from the kill until the other replica's
handler starts on it (the handler journals its start; observed from outside). The killed
replica is then started again as the standby. Also measures a graceful stop (SIGTERM,
lease released) the same way.

Usage: python bench/leader_failover.py [--kills 10]
Writes bench/results/<date>-failover.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

OPERATOR = '''
import json, os, time
from opframe import on

@on.create("configmaps", labels={"bench": "failover"})
def created(name, **_):
    with open(os.environ["JOURNAL"], "a") as journal:
        journal.write(json.dumps({"name": name, "pid": os.getpid(), "at": time.time()}) + "\\n")
'''


def handled(journal: Path, name: str, timeout: float = 120) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if entry["name"] == name:
                return entry
        time.sleep(0.02)
    raise TimeoutError(f"{name} was never handled")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    options = parser.parse_args()

    from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
    from opframe.testing import ControlPlane
    from opframe.testing.operator import OperatorProcess

    configmaps = Resource("", "v1", "configmaps", "ConfigMap")
    workdir = Path(tempfile.mkdtemp(prefix="opframe-failover-"))
    journal = workdir / "journal.jsonl"
    journal.touch()
    (workdir / "operator.py").write_text(OPERATOR)
    results: dict[str, object] = {"date": datetime.date.today().isoformat(),
                                  "timings": {"lease_duration": 15, "renew_deadline": 10, "retry_period": 2}}
    with ControlPlane() as plane:
        client = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=500, burst=1000))

        def replica() -> OperatorProcess:
            return OperatorProcess([workdir / "operator.py"], kubeconfig=plane.kubeconfig,
                                   args=["-n", "default", "--leader-election", "--lease-name", "bench",
                                         "--lease-namespace", "default"],
                                   env={"JOURNAL": str(journal)}).start()

        processes = [replica()]
        processes[0].wait_started()
        processes.append(replica())
        processes[1].wait_for_output("waiting to lead lease")
        failovers: list[float] = []
        for round_ in range(options.kills):
            leader = next(p for p in processes if "opframe started" in p.output() and p.returncode is None)
            time.sleep(3)  # the standby has seen the lease renewed a few times
            os.kill(leader.pid, signal.SIGKILL)
            killed = time.time()
            leader.wait()
            name = f"kill-{round_}"
            client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": name, "namespace": "default",
                                                    "labels": {"bench": "failover"}}})
            entry = handled(journal, name)
            failovers.append(entry["at"] - killed)
            print(f"kill {round_ + 1}: handled by pid {int(entry['pid'])} after {failovers[-1]:.2f} s", file=sys.stderr)
            leader.cleanup()
            processes.remove(leader)
            processes.append(replica())
            processes[-1].wait_for_output("waiting to lead lease")
        leader = next(p for p in processes if "opframe started" in p.output())
        time.sleep(3)
        stopped = time.time()
        leader.stop()
        client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "graceful", "namespace": "default",
                                                "labels": {"bench": "failover"}}})
        graceful = handled(journal, "graceful")["at"] - stopped
        for process in processes:
            process.stop()
            process.cleanup()
    results["kill_failover_seconds"] = failovers
    results["summary"] = {"min": min(failovers), "median": statistics.median(failovers), "max": max(failovers),
                          "graceful_handover": graceful}
    out = HERE / "results" / f"{results['date']}-failover.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    summary = results["summary"]
    assert isinstance(summary, dict)
    print(f"failover after kill -9 over {len(failovers)} kills: min {summary['min']:.2f} s, median "
          f"{summary['median']:.2f} s, max {summary['max']:.2f} s (bound: LeaseDuration + RetryPeriod = 17 s)")
    print(f"handover after a graceful stop (lease released): {graceful:.2f} s")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
