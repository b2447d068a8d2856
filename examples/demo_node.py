"""`make demo-node`: the Website operator deployed by the Helm chart on a node-backed cluster.

Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and one node
(kubelet, containerd, runc, kube-proxy: `opframe cluster up --node`), imports the
operator image `make image` built from the Dockerfile, installs the chart with the
Website operator's code, and then works from outside only through the API: a Website
whose pods really run, whose status follows their readiness, scaled and deleted.
Stops everything at the end (and on Ctrl-C). Exit code 0 only if every step happened.
Needs root and what `make node` installs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEBSITE = HERE / "operators" / "website"
sys.path.insert(0, str(WEBSITE))

import scenario  # noqa: E402

from opframe.kube import KubeClient, load_configuration  # noqa: E402
from opframe.testing import ControlPlane, ControlPlaneError, images  # noqa: E402
from opframe.testing.controlplane import helm_binary  # noqa: E402
from opframe.testing.node import NodeError  # noqa: E402

HELM = helm_binary()
IMAGE_ARCHIVE = images.opframe_image_archive()
RULES = [
    {"apiGroups": ["example.com"], "resources": ["websites"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["example.com"], "resources": ["websites/status"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["configmaps", "services"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "create", "patch", "delete"]},
]


def step(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def main() -> int:
    for needed, fix in ((IMAGE_ARCHIVE, "make image"), (HELM, "make helm")):
        if not needed.exists():
            print(f"error: {needed} is missing; run '{fix}' first", file=sys.stderr)
            return 1
    started = time.monotonic()
    step("starting the control plane and a node (kubelet, containerd, runc, kube-proxy) ...")
    plane = ControlPlane(node=True)
    try:
        plane.start()
    except (ControlPlaneError, NodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        assert plane.node is not None
        step(f"node {plane.node.name} Ready {time.monotonic() - started:.1f} s from nothing")
        client = KubeClient(load_configuration(plane.kubeconfig))
        for archive, name in ((IMAGE_ARCHIVE, "opframe.local/opframe:dev"),
                              (images.web_image(plane.node.workdir / "images"), "opframe.local/web:1")):
            began = time.monotonic()
            plane.node.import_image(archive, name)
            step(f"imported {name} into the node in {time.monotonic() - began:.1f} s (no registry)")
        scenario.install_crd(client)
        step("installed CustomResourceDefinition websites.example.com")
        with tempfile.TemporaryDirectory() as folder:
            values = Path(folder) / "values.json"
            values.write_text(json.dumps({
                "image": {"repository": "opframe.local/opframe", "tag": "dev", "pullPolicy": "Never"},
                "replicas": 1, "rbac": {"rules": RULES},
                "operator": {"code": (WEBSITE / "operator.py").read_text(),
                             "env": {"WEBSITE_IMAGE": "opframe.local/web:1"}}}))
            result = subprocess.run([str(HELM), "install", "website", str(HERE.parent / "charts" / "opframe"),
                                     "--kubeconfig", str(plane.kubeconfig), "-n", "default", "-f", str(values)],
                                    capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"error: helm install failed: {result.stderr}", file=sys.stderr)
            return 1
        step("helm install website charts/opframe (the operator's code from a ConfigMap, image from the Dockerfile)")
        began = time.monotonic()
        try:
            pod = plane.node.wait_pod_ready("default", "website-opframe", timeout=120)
        except NodeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        step(f"operator pod {pod['metadata']['name']} Ready through its probes in {time.monotonic() - began:.1f} s "
             f"(in-cluster config, uid 10001, read-only root)")
        try:
            scenario.run_with_pods(client, "default", say=step)
        except scenario.ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        subprocess.run([str(HELM), "uninstall", "website", "--kubeconfig", str(plane.kubeconfig), "-n", "default",
                        "--wait"], capture_output=True, check=False)
        step("helm uninstall website")
        client.close()
    finally:
        plane.stop()
    step(f"node and control plane stopped, every container, mount and cgroup removed; "
         f"demo done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
