"""A real node (issue 11): ControlPlane(node=True) runs pods, and they reach the API server
the way pods do in a real cluster; stopping it leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import KubeClient, Resource, errors, load_configuration
from opframe.testing import ControlPlane, eventually, images
from opframe.testing.controlplane import cache_dir
from opframe.testing.node import NODE_NAME, POD_SUBNET, NodeError

pytestmark = pytest.mark.e2e

PODS = Resource("", "v1", "pods", "Pod")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)


@pytest.fixture(scope="module")
def node_client(node_cluster: ControlPlane) -> Iterator[KubeClient]:
    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    yield client
    client.close()


def _pod(name: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never"}]}}


def test_the_node_is_ready(node_cluster: ControlPlane, node_client: KubeClient) -> None:
    node = node_client.get(NODES, NODE_NAME)
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


def test_a_pod_reaches_the_api_server_with_in_cluster_configuration(
        node_cluster: ControlPlane, node_client: KubeClient) -> None:
    """Through the kubernetes Service (KUBERNETES_SERVICE_HOST/PORT), with the mounted token and
    CA, on the pod network: what any in-cluster client does, unchanged."""
    assert node_cluster.node is not None
    node_cluster.node.import_image(images.api_probe_image(node_cluster.node.workdir / "images"),
                                   "opframe.local/api-probe:1")
    eventually(lambda: node_client.get(SERVICE_ACCOUNTS, "default", namespace="default"),
               what="the default ServiceAccount")
    with contextlib.suppress(errors.Conflict):
        node_client.create(ROLE_BINDINGS, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "probe-view", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]})
    node_client.create(PODS, _pod("api-probe", "opframe.local/api-probe:1"))
    pod = eventually(lambda: (p := node_client.get(PODS, "api-probe", namespace="default"))["status"].get(
        "phase") in ("Succeeded", "Failed") and p, what="the probe pod to finish", timeout=60)
    message = pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    assert pod["status"]["phase"] == "Succeeded"
    assert message.startswith("200 https://10.0.0.1:443/api/v1/namespaces/default/pods"), message
    assert pod["status"]["podIP"].startswith(POD_SUBNET.rsplit(".", 2)[0])
    assert pod["spec"]["nodeName"] == NODE_NAME
    # The API server reaches the kubelet (kubectl logs) and the pod (its proxy) through its egress into
    # the node (ClusterEgress).
    code, log = node_cluster.admin_get("/api/v1/namespaces/default/pods/api-probe/log")
    assert code == 200, log[:300]
    assert log.decode().strip() == message, log[:300]


def _host_state() -> dict[str, Any]:
    """What a node could leave behind on the host: mounts, cgroups, network namespaces, processes."""
    mounts = {" ".join(line.split()[3:5]) for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    cgroups = sorted(str(p) for p in Path("/sys/fs/cgroup").glob("*/opframe-node-*"))
    namespaces: set[str] = set()
    node_processes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            namespaces.add(os.readlink(entry / "ns" / "net"))
            command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            if any(part in command for part in ("containerd", "kubelet", "kube-proxy", "kube-scheduler",
                                                "kube-controller-manager", "pause", "api-probe")):
                node_processes.append((entry.name, command))
    sysctls = {name: (Path("/proc/sys") / name).read_text().strip()
               for name in ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward")}
    network = {command: subprocess.run(command.split(), capture_output=True, text=True, check=False).stdout
               for command in ("ip -o addr", "ip route", "iptables-save")}
    network["iptables-save"] = "\n".join(line for line in network["iptables-save"].splitlines()
                                         if not line.startswith("#"))  # drop its timestamp comments
    return {"mounts": mounts, "cgroups": cgroups, "netns": namespaces, "processes": sorted(node_processes),
            "run_containerd": Path("/run/containerd").exists(), "sysctls": sysctls, "network": network}


def test_stopping_a_node_leaves_no_process_mount_cgroup_or_namespace(tmp_path: Path) -> None:
    before = _host_state()
    plane = ControlPlane(node=True)
    plane.start()
    try:
        assert plane.node is not None
        client = KubeClient(load_configuration(plane.kubeconfig))
        client.create(PODS, _pod("sleeper", "opframe.local/pause:1"))
        eventually(lambda: client.get(PODS, "sleeper", namespace="default")["status"].get("phase") == "Running",
                   what="a running pod", timeout=60)
        client.close()
        during = _host_state()
        assert during["cgroups"] and len(list(plane.node.cgroup_pids())) > 0
        assert len(during["netns"]) > len(before["netns"])  # the node's, and the pod's
        # While it runs, the host's sysctls and network configuration are untouched.
        assert during["sysctls"] == before["sysctls"]
        assert during["network"] == before["network"]
    finally:
        plane.stop()
    after = _host_state()
    assert after["processes"] == before["processes"]
    assert after["cgroups"] == before["cgroups"]
    assert after["mounts"] == before["mounts"]
    assert after["netns"] <= before["netns"]
    assert after["run_containerd"] == before["run_containerd"]
    assert after["sysctls"] == before["sysctls"] and after["network"] == before["network"]


def test_missing_node_binaries_name_the_make_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    planes = cache / "controlplane" / cache_dir().name
    planes.mkdir(parents=True)
    for binary in ("etcd", "kube-apiserver"):
        (planes / binary).symlink_to(cache_dir() / binary)
    monkeypatch.setenv("OPFRAME_CACHE_DIR", str(cache))
    before = _host_state()
    with pytest.raises(NodeError, match=r"kubelet, kube-controller-manager, kube-scheduler, kube-proxy not found "
                                        r".*run 'make node'"):
        ControlPlane(node=True).start()
    assert _host_state()["processes"] == before["processes"]


def test_a_node_step_that_fails_gives_one_error_and_leaves_nothing(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A kubelet that exits at once (here: a stand-in that fails), after containerd, kube-proxy and the
    controllers have started: one NodeError quoting its log, and everything stopped and removed."""
    from opframe.testing import node as node_module

    real = node_module.node_binaries_dir()
    broken = tmp_path / "node-binaries"
    broken.mkdir()
    for name in ("kube-controller-manager", "kube-scheduler", "kube-proxy"):
        (broken / name).symlink_to(real / name)
    (broken / "kubelet").write_text("#!/bin/sh\necho 'kubelet: cannot start: simulated failure' >&2\nexit 3\n")
    (broken / "kubelet").chmod(0o755)
    monkeypatch.setattr(node_module, "node_binaries_dir", lambda: broken)
    before = _host_state()
    with pytest.raises(NodeError, match=r"kubelet exited with code 3(.|\n)*simulated failure"):
        ControlPlane(node=True).start()
    after = _host_state()
    assert after["processes"] == before["processes"]
    assert after["cgroups"] == before["cgroups"]
    assert after["mounts"] == before["mounts"]
    assert after["netns"] <= before["netns"]


def test_an_image_that_fails_to_import_names_the_archive_and_the_fix(node_cluster: ControlPlane,
                                                                      tmp_path: Path) -> None:
    assert node_cluster.node is not None
    garbage = tmp_path / "not-an-image.tar"
    garbage.write_bytes(b"this is not a tar archive")
    with pytest.raises(NodeError, match=r"importing image opframe.local/broken:1 from .*not-an-image.tar failed"
                                        r".*check that the archive is an OCI image layout tar"):
        node_cluster.node.import_image(garbage, "opframe.local/broken:1")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "-m", "opframe.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_cluster_up_node_runs_until_sigterm_and_then_leaves_nothing(tmp_path: Path) -> None:
    """`opframe cluster up --node` says how to load images and read pod logs, and both commands work
    against it from another process: an image loaded by `opframe cluster load` runs in a pod whose
    output `opframe cluster logs` prints. After SIGTERM nothing is left, and both say no cluster runs."""
    import signal
    import sys

    before = _host_state()
    process = subprocess.Popen([sys.executable, "-m", "opframe.cli", "cluster", "up", "--node"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cluster = str(process.pid)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("KUBECONFIG="), (line, process.stderr.read() if process.poll() else "")
        kubeconfig = Path(line.strip().split("=", 1)[1])
        said = [line]
        while not said[-1].startswith("# Ctrl-C"):
            said.append(process.stdout.readline())
        output = "".join(said)
        assert "opframe cluster load <oci-archive.tar>" in output, output
        assert "opframe cluster logs NAMESPACE/POD" in output, output
        client = KubeClient(load_configuration(kubeconfig))
        node = client.get(NODES, NODE_NAME)  # Ready before the line is printed
        assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"

        archive = images.sleeper_image(tmp_path / "images")
        loaded = _cli("cluster", "load", str(archive), "--cluster", cluster)
        assert loaded.returncode == 0, loaded.stderr
        assert "loaded opframe.local/sleeper:1 into the node" in loaded.stdout
        pod = _pod("talker", "opframe.local/sleeper:1")
        pod["spec"]["containers"][0]["args"] = ["600", "0"]
        client.create(PODS, pod)
        eventually(lambda: client.get(PODS, "talker", namespace="default")["status"].get("phase") == "Running",
                   what="the pod of the loaded image running", timeout=60)
        logs = eventually(lambda: (r := _cli("cluster", "logs", "default/talker", "--cluster", cluster)).returncode
                          == 0 and r, what="the pod's log", timeout=30)
        assert logs.stdout == "sleeper: sleeping 600 s, then exiting with 0\n"

        unknown = _cli("cluster", "logs", "default/nobody", "--cluster", cluster)
        assert unknown.returncode == 1
        assert "no log of pod default/nobody" in unknown.stderr and "default/talker" in unknown.stderr
        garbage = tmp_path / "garbage.tar"
        garbage.write_bytes(b"not an archive")
        refused = _cli("cluster", "load", str(garbage), "--cluster", cluster)
        assert refused.returncode == 1 and "names no image" in refused.stderr and "--name" in refused.stderr
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = _host_state()
    assert after["processes"] == before["processes"]
    assert after["cgroups"] == before["cgroups"]
    assert after["mounts"] == before["mounts"]
    assert not kubeconfig.parent.exists()
    gone = _cli("cluster", "load", str(archive), "--cluster", cluster)
    assert gone.returncode == 1
    assert f"no local cluster with a node runs as process {cluster}" in gone.stderr


def test_a_pod_that_never_becomes_ready_is_explained(node_cluster: ControlPlane, node_client: KubeClient) -> None:
    """Two ways a pod stays unready here: an image that is not on the node (nothing can be pulled),
    and a container that keeps exiting. Each error names the cause and the fix."""
    assert node_cluster.node is not None
    node_cluster.node.import_image(images.sleeper_image(node_cluster.node.workdir / "images"),
                                   "opframe.local/sleeper:1")
    node_client.create(PODS, _pod("not-imported", "opframe.local/nowhere:1"))
    with pytest.raises(NodeError, match=r"(?s)not-imported did not become Ready.*opframe.local/nowhere:1 is not on "
                                        r"the node.*import it with Node.import_image.*ErrImageNeverPull"):
        node_cluster.node.wait_pod_ready("default", "not-imported", timeout=10)
    never_ready = {"exec": {"command": ["/no-such-check"]}, "periodSeconds": 1}
    crashing = _pod("crashing", "opframe.local/sleeper:1")
    crashing["spec"]["restartPolicy"] = "Always"
    crashing["spec"]["containers"][0].update(args=["0", "7"], readinessProbe=never_ready)
    node_client.create(PODS, crashing)
    with pytest.raises(NodeError, match=r"(?s)crashing did not become Ready.*keeps exiting"):
        node_cluster.node.wait_pod_ready("default", "crashing", timeout=10)
    unready = _pod("unready", "opframe.local/sleeper:1")
    unready["spec"]["containers"][0].update(args=["600", "0"], readinessProbe=never_ready)
    node_client.create(PODS, unready)
    with pytest.raises(NodeError, match=r"(?s)unready did not become Ready.*readinessProbe keeps failing"):
        node_cluster.node.wait_pod_ready("default", "unready", timeout=8)
    for name in ("not-imported", "crashing", "unready"):
        node_client.delete(PODS, name, namespace="default")
