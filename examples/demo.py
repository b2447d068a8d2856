"""`make demo`: the Website operator end to end on a local control plane.

Starts etcd and kube-apiserver, installs the Website CRD, runs
`opframe run examples/operators/website/operator.py` as its own process, creates a
Website, waits for its Deployment, Service, ConfigMap and status, updates it, deletes
it, prints every step, and stops everything. Exit code 0 only if every step happened.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEBSITE = HERE / "operators" / "website"
sys.path.insert(0, str(WEBSITE))

import scenario  # noqa: E402

from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration  # noqa: E402
from opframe.testing import ControlPlane, ControlPlaneError  # noqa: E402
from opframe.testing.operator import OperatorProcess  # noqa: E402


def step(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def main() -> int:
    started = time.monotonic()
    step("starting etcd and kube-apiserver on 127.0.0.1 ...")
    try:
        plane = ControlPlane()
        plane.start()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        step(f"control plane healthy in {time.monotonic() - started:.1f} s at {plane.server}")
        client = KubeClient(load_configuration(plane.kubeconfig), ClientSettings(qps=500, burst=1000))
        version = client.request("GET", "/version")["gitVersion"]
        step(f"kube-apiserver {version}")
        scenario.install_crd(client)
        step("installed CustomResourceDefinition websites.example.com")
        client.create(Resource("", "v1", "namespaces", namespaced=False),
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        with OperatorProcess([WEBSITE / "operator.py"], kubeconfig=plane.kubeconfig,
                             args=["-n", "demo"]) as operator:
            step(f"opframe run {WEBSITE.relative_to(HERE.parent) / 'operator.py'} -n demo  (pid {operator.pid})")
            operator.wait_started()
            step("operator started: caches synced, workers running")
            try:
                scenario.run(client, "demo", say=step)
            except scenario.ScenarioError as exc:
                print(f"error: {exc}\n--- operator log ---\n{operator.output()}", file=sys.stderr)
                return 1
            code = operator.stop()
            step(f"operator stopped on SIGTERM with exit code {code}; its log:")
            for line in operator.output().splitlines():
                print(f"    {line}")
            if code != 0:
                return 1
    finally:
        plane.stop()
    step(f"control plane stopped, its data removed; demo done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
