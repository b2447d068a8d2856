"""A real node for the local control plane: containerd, runc, a kubelet and kube-proxy that run pods.

Shape (and why): the node lives in namespaces of its own, held open by one *holder*
process (``unshare --mount --net``). containerd, the kubelet and kube-proxy are
started inside them with ``nsenter``, and so are the pods' sandboxes:

* the **mount namespace** keeps every overlay, tmpfs, bind and netns mount that
  containerd and the kubelet make off the host; they vanish when the holder and its
  children end. In it, ``/run`` is a fresh tmpfs and three ``/proc/sys`` files carry
  the values the kubelet wants (vm.overcommit_memory=1, kernel.panic=10,
  kernel.panic_on_oops=1), so it never rewrites the host's sysctls;
* the **network namespace** holds the pod network (the bridge CNI plugin, a /24 on
  ``cni0``) and kube-proxy's iptables rules, so nothing of the host's network
  configuration changes. kube-apiserver stays on the host's 127.0.0.1 (where every
  test and tool reaches it, as kind publishes it); inside the node it is reached at
  ``NODE_ADDRESS:<its port>`` (an address on the namespace's loopback), through a
  forwarder whose listening socket lives in the node's namespace and whose outgoing
  connections are made on the host. kube-apiserver advertises that address, so the
  ``kubernetes`` Service (10.0.0.1:443) leads there through kube-proxy, and pods use
  the in-cluster configuration unchanged.

kube-controller-manager and kube-scheduler need no namespace: they run on the host
next to kube-apiserver.

cgroups: this host has cgroup v1 only (the v2 mount holds hugetlb alone), so the
kubelet runs with ``failCgroupV1: false``, the cgroupfs driver and its own cgroup root
``/opframe-node-<id>`` in every hierarchy, which ``stop()`` empties (SIGKILL by pid)
and removes. containerd runs with ``restrict_oom_score_adj``: CAP_SYS_RESOURCE is not
in this machine's bounding set, and runc fails every sandbox without it.

Lifecycle: ``start()`` returns when the Node is Ready; if any step fails, everything
started so far is stopped and removed, and one NodeError names the cause and the fix.
``stop()`` is idempotent: kubelet, pods (by pid, from the node's cgroups), containerd,
kube-proxy, the holder (taking the namespaces and their mounts with it), the
controllers, then the cgroups and the work folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from opframe.testing import certs, images
from opframe.testing.processes import ManagedProcess

NODE_NAME = certs.NODE_NAME
NODE_ADDRESS = certs.NODE_ADDRESS
POD_SUBNET = "10.244.0.0/24"
PAUSE_IMAGE = "opframe.local/pause:1"
#: Debian packages the node needs, by the command that shows each is there.
PACKAGES = {"containerd": "containerd", "runc": "runc", "ctr": "containerd", "iptables": "iptables",
            "unshare": "util-linux", "nsenter": "util-linux", "gcc": "gcc"}
CNI_PLUGINS = Path("/usr/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: kubelet 1.36 needs these to leave the host's sysctls alone (see the module docstring).
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
NODE_BUILD_COMMAND = "make node"
DEFAULT_READY_TIMEOUT = 90.0
#: ctr's import is retried on a "not found" content error (see Node.import_image).
IMPORT_ATTEMPTS = 3
CLONE_NEWNET = 0x40000000


class NodeError(RuntimeError):
    """The node could not be started; the message names the cause and the fix."""


def node_binaries_dir() -> Path:
    from opframe.testing.controlplane import KUBERNETES_VERSION, cache_root

    return cache_root() / "node" / KUBERNETES_VERSION


def check_host() -> None:
    """Raise NodeError naming what this machine lacks for a node (packages, cgroups, root)."""
    if os.geteuid() != 0:
        raise NodeError("a node needs root (it creates namespaces, cgroups and mounts); run as root")
    missing = sorted({package for command, package in PACKAGES.items() if shutil.which(command) is None})
    if not (CNI_PLUGINS / "bridge").exists():
        missing.append("containernetworking-plugins")
    if missing:
        raise NodeError(f"missing Debian packages: {' '.join(missing)}; run '{NODE_BUILD_COMMAND}' as root "
                        f"(it runs apt-get install -y {' '.join(missing)})")
    for hierarchy in ("cpu", "memory", "pids", "cpuset"):
        if not (CGROUP_ROOT / hierarchy / "cgroup.procs").exists():
            raise NodeError(f"no cgroup v1 '{hierarchy}' hierarchy at {CGROUP_ROOT / hierarchy}; the node's "
                            "kubelet is set up for this machine's cgroup v1 layout")
    folder = node_binaries_dir()
    absent = [name for name in ("kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy")
              if not os.access(folder / name, os.X_OK)]
    if absent:
        raise NodeError(f"{', '.join(absent)} not found in {folder}; run '{NODE_BUILD_COMMAND}' to build them "
                        "from the Go module proxy")


class _NetnsForwarder:
    """TCP forwarding between the host's network namespace and the node's.

    ``listen_in_node=True``: listens at (host, port) inside the node, connects to
    127.0.0.1:target on the host (kube-apiserver for the kubelet, kube-proxy and pods).
    A thread may enter another network namespace on its own (setns(CLONE_NEWNET) is
    per thread); a socket keeps the namespace it was created in.
    """

    def __init__(self, netns: Path, *, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self._netns = netns
        self._target = target
        self._stopped = threading.Event()
        self._server = self._in_node(functools.partial(socket.create_server, listen))
        self._threads: list[threading.Thread] = []
        thread = threading.Thread(target=self._accept, name="node-forwarder", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _in_node(self, make: Callable[[], socket.socket]) -> socket.socket:
        return _in_netns(self._netns, make)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                inside, _ = self._server.accept()
            except OSError:
                return
            try:
                outside = socket.create_connection(self._target, timeout=5)
            except OSError:
                inside.close()
                continue
            outside.settimeout(None)
            for source, sink in ((inside, outside), (outside, inside)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._server.close()


def _in_netns(netns: Path, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()`` run in a thread that entered the network namespace ``netns``: the socket it makes
    stays in that namespace (setns(CLONE_NEWNET) is per thread, a socket keeps its namespace)."""
    result: list[socket.socket] = []
    errors: list[BaseException] = []

    def run() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        with open(netns) as handle:
            if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                errors.append(OSError(ctypes.get_errno(), "setns into the node's network namespace failed"))
                return
        try:
            result.append(make())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="node-netns", daemon=True)  # ends with its namespace
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


class ClusterEgress:
    """kube-apiserver's way into the cluster network, as konnectivity is in clusters whose control plane
    cannot reach pods: an HTTP CONNECT proxy on a unix socket, named by the API server's egress selector
    (``cluster``), which dials the node's network namespace. Webhooks and aggregated APIs named by a
    Service (its ClusterIP, through kube-proxy's rules there) and the kubelet are reached that way.

    Invariants: the node's name is its address (the kubelet, for logs and exec); a target on the host's
    loopback (127.0.0.0/8, where url webhooks of tests listen) is
    dialled on the host; anything else inside the node once ``netns`` is set (before: on the host, where
    it fails as it would without a node); a connection that cannot be made is answered 502 and closed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.netns: Path | None = None
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(64)
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="cluster-egress", daemon=True).start()

    def configuration(self) -> str:
        """The EgressSelectorConfiguration for kube-apiserver's --egress-selector-config-file."""
        return json.dumps({"apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
                           "egressSelections": [{"name": "cluster", "connection": {
                               "proxyProtocol": "HTTPConnect", "transport": {"uds": {"udsName": str(self.path)}}}}]})

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            client.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = client.recv(4096)
                if not chunk:
                    raise OSError("closed before the CONNECT request ended")
                head += chunk
            request = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(request) < 2 or request[0] != "CONNECT":
                raise OSError(f"not a CONNECT request: {request!r}")
            host, _, port = request[1].rpartition(":")
            host = host.strip("[]")
            # The kubelet is named by its node's name, which only the node's own /etc/hosts would know.
            target = (NODE_ADDRESS if host == NODE_NAME else host, int(port))
            netns = self.netns
            if netns is None or host.startswith("127."):
                upstream = socket.create_connection(target, timeout=5)
            else:
                upstream = _in_netns(netns, functools.partial(socket.create_connection, target, timeout=5))
        except (OSError, ValueError) as exc:
            with contextlib.suppress(OSError):
                client.sendall(f"HTTP/1.1 502 Bad Gateway\r\n\r\n{exc}".encode())
                client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            source.close()


def import_image(holder_pid: int, containerd_socket: Path, archive: Path, name: str, *, log: Path) -> None:
    """Import an OCI image archive into a node's containerd (namespace k8s.io) as ``name``: ctr runs
    in the node's mount namespace (entered through its holder process), where containerd's
    snapshots live.

    ``--index-name`` is passed only when the archive's index does not already name a
    manifest ``name`` (``io.containerd.image.name``, as ``images.oci_archive`` writes):
    with both, ctr 1.6 creates the image twice under one name (first pointing at the
    index, then updated to the manifest), and unpacks the first record after its import
    lease has ended, by when containerd's garbage collector may have removed the now
    unreferenced index blob ("content digest <index>: not found", seen in CI three
    attempts in a row). Any "not found" failure is still retried (IMPORT_ATTEMPTS in
    all); every failure is kept in ``log``.
    """
    command = ["nsenter", "-t", str(holder_pid), "--mount", "--net", "--",
               "ctr", "--address", str(containerd_socket), "--namespace", "k8s.io", "images", "import"]
    if name not in images.archive_names(archive):
        command += ["--index-name", name]
    result: subprocess.CompletedProcess[str] | None = None
    for attempt in range(IMPORT_ATTEMPTS):
        result = subprocess.run([*command, str(archive.resolve())], capture_output=True, text=True,
                                timeout=300, check=False)
        if result.returncode == 0:
            return
        with open(log, "a") as file:
            file.write(f"attempt {attempt + 1} importing {name} from {archive}: {result.stderr}\n")
        if "not found" not in result.stderr:
            break
        time.sleep(1.0)
    assert result is not None
    raise NodeError(f"importing image {name} from {archive} failed: {result.stderr.strip()[-500:]}; "
                    "check that the archive is an OCI image layout tar")


def pod_log_files(pod_logs: Path, namespace: str, pod: str, container: str | None = None) -> list[Path]:
    """A pod's container log files in the kubelet's pod log folder (``<ns>_<pod>_<uid>/<container>/<n>.log``),
    oldest container restart first."""
    return sorted(pod_logs.glob(f"{namespace}_{pod}_*/{container or '*'}/*.log"),
                  key=lambda path: (path.parent.name, int(path.stem) if path.stem.isdigit() else 0))


def log_messages(text: str) -> list[str]:
    """The messages of a CRI log file (``<time> <stream> <P|F> <message>`` per line; ``P`` marks a line
    the runtime split, continued by the next): what ``kubectl logs`` prints."""
    messages: list[str] = []
    partial = ""
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[2] not in ("P", "F"):
            messages.append(line)  # not CRI-framed: shown as it is
            continue
        partial += parts[3] if len(parts) == 4 else ""
        if parts[2] == "F":
            messages.append(partial)
            partial = ""
    if partial:
        messages.append(partial)
    return messages


class Node:
    """One node attached to a running ControlPlane (``ControlPlane(node=True)`` makes and stops it)."""

    def __init__(self, *, workdir: Path, pki: certs.ControlPlanePKI, admin_kubeconfig: Path, apiserver_port: int,
                 write_kubeconfig: Callable[[Path, dict[str, str], str], Path],
                 ready_timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        self.workdir = workdir
        self.pki = pki
        self.admin_kubeconfig = admin_kubeconfig
        self.apiserver_port = apiserver_port
        self._write_kubeconfig = write_kubeconfig
        self.ready_timeout = ready_timeout
        self.name = NODE_NAME
        self.cgroup_name = f"opframe-node-{uuid.uuid4().hex[:8]}"
        self.processes: dict[str, ManagedProcess] = {}
        self._forwarder: _NetnsForwarder | None = None
        self.ready_seconds: float | None = None

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "containerd" / "containerd.sock"

    @property
    def pod_logs(self) -> Path:
        """The kubelet's pod log folder (``opframe cluster logs`` reads it; ``kubectl logs`` works too)."""
        return self.workdir / "pod-logs"

    # -- start ------------------------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        try:
            check_host()
            self._make_cgroups()
            self._start_holder()
            inside = f"https://{NODE_ADDRESS}:{self.apiserver_port}"
            self._forwarder = _NetnsForwarder(self._netns_path(), listen=(NODE_ADDRESS, self.apiserver_port),
                                              target=("127.0.0.1", self.apiserver_port))
            node_kubeconfig = self._write_kubeconfig(self.workdir / "node.kubeconfig", {
                "client-certificate": str(self.pki.node_cert), "client-key": str(self.pki.node_key)}, inside)
            proxy_kubeconfig = self._write_kubeconfig(self.workdir / "proxy.kubeconfig", {
                "client-certificate": str(self.pki.admin_cert), "client-key": str(self.pki.admin_key)}, inside)
            self._start_controllers()
            self._start_containerd()
            self.import_image(images.pause_image(self.workdir / "images"), PAUSE_IMAGE)
            self._start_kube_proxy(proxy_kubeconfig)
            self._start_kubelet(node_kubeconfig)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started

    @property
    def network_namespace(self) -> Path:
        """The node's network namespace (pods, Services through kube-proxy, the kubelet)."""
        return self._netns_path()

    def _netns_path(self) -> Path:
        return Path(f"/proc/{self.processes['holder'].pid}/ns/net")

    def _inside(self, argv: Sequence[str]) -> list[str]:
        return ["nsenter", "-t", str(self.processes["holder"].pid), "--mount", "--net", "--", *argv]

    def _spawn(self, name: str, argv: Sequence[str], *, inside: bool = True) -> ManagedProcess:
        process = ManagedProcess(name, self._inside(argv) if inside else list(argv),
                                 log_path=self.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    def _start_holder(self) -> None:
        sysctls = self.workdir / "sysctl"
        sysctls.mkdir(parents=True)
        binds = []
        for name, value in KUBELET_SYSCTLS.items():
            fake = sysctls / name.replace("/", "-")
            fake.write_text(value + "\n")
            binds.append(f"mount --bind {fake} /proc/sys/{name}")
        (self.workdir / "varlog").mkdir()
        script = " && ".join([
            "mount --make-rprivate /",
            "mount -t tmpfs tmpfs /run",
            f"mount --bind {self.workdir / 'varlog'} /var/log",
            *binds,
            "ip link set lo up",
            f"ip addr add {NODE_ADDRESS}/32 dev lo",
            # A route for the Service addresses, so that connections made in the node (the API server's
            # egress: webhooks, aggregated APIs named by a Service) reach kube-proxy's rules, which
            # rewrite them to a pod; pods have theirs through their default route.
            f"ip route add {certs.SERVICE_CIDR} dev lo src {NODE_ADDRESS}",
            "sysctl -qw net.ipv4.ip_forward=1",
            "sysctl -qw net.ipv4.conf.all.route_localnet=1",
            "touch " + str(self.workdir / "holder-ready"),
            "exec sleep infinity",
        ])
        holder = self._spawn("holder", ["unshare", "--mount", "--net", "--propagation", "private", "--",
                                        "sh", "-c", script], inside=False)
        self._wait_for((self.workdir / "holder-ready").exists, holder, 10,
                       "the node's namespaces (unshare) could not be set up; run as root on a kernel that "
                       "allows mount and network namespaces")

    def _make_cgroups(self) -> None:
        for hierarchy in _hierarchies():
            if hierarchy.name == "unified":
                continue  # the kubelet makes its own there (hugetlb only); stop() removes it
            path = hierarchy / self.cgroup_name
            path.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    (path / knob).write_text((hierarchy / knob).read_text())

    def _start_controllers(self) -> None:
        from opframe.testing.controlplane import free_port

        folder = node_binaries_dir()
        common = [f"--kubeconfig={self.admin_kubeconfig}", f"--authentication-kubeconfig={self.admin_kubeconfig}",
                  f"--authorization-kubeconfig={self.admin_kubeconfig}", "--bind-address=127.0.0.1",
                  "--leader-elect=false"]
        self._spawn("kube-controller-manager", [
            str(folder / "kube-controller-manager"), *common, f"--secure-port={free_port()}",
            f"--service-account-private-key-file={self.pki.sa_signing_key}",
            f"--root-ca-file={self.pki.serving_ca}", "--use-service-account-credentials=false",
            "--controllers=*"], inside=False)
        self._spawn("kube-scheduler", [str(folder / "kube-scheduler"), *common, f"--secure-port={free_port()}"],
                    inside=False)

    def _start_containerd(self) -> None:
        root = self.workdir / "containerd"
        cni = self.workdir / "cni"
        (cni / "net.d").mkdir(parents=True)
        (cni / "net.d" / "10-opframe.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": "opframe", "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]],
                          "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(cni / "ipam")}},
                {"type": "portmap", "capabilities": {"portMappings": True}}]}))
        config = root / "config.toml"
        root.mkdir(exist_ok=True)
        config.write_text(f'''version = 2
root = "{root / 'root'}"
state = "{root / 'state'}"
[grpc]
  address = "{self.containerd_socket}"
[ttrpc]
  address = "{self.containerd_socket}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_PLUGINS}"
    conf_dir = "{cni / 'net.d'}"
''')
        process = self._spawn("containerd", ["containerd", "--config", str(config)])
        self._wait_for(self.containerd_socket.exists, process, 30,
                       "containerd did not start; its log above says why")

    def import_image(self, archive: Path, name: str) -> None:
        """Import an OCI image archive into the node's containerd (namespace k8s.io) as ``name``
        (see ``import_image``)."""
        import_image(self.processes["holder"].pid, self.containerd_socket, archive, name,
                     log=self.workdir / "image-import.log")

    def wait_pod_ready(self, namespace: str, pod: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the pod is Ready; else raise NodeError naming why (its containers' state and
        log) and the fix. ``pod`` may be a name prefix (a Deployment's pods)."""
        from opframe.kube import KubeClient, Resource, load_configuration

        pods = Resource("", "v1", "pods", "Pod")
        client = KubeClient(load_configuration(self.admin_kubeconfig))
        deadline = time.monotonic() + timeout
        try:
            while True:
                found = [p for p in client.list(pods, namespace=namespace).items
                         if p["metadata"]["name"].startswith(pod) and not p["metadata"].get("deletionTimestamp")]
                for candidate in found:
                    if any(c["type"] == "Ready" and c["status"] == "True"
                           for c in candidate["status"].get("conditions") or []):
                        return candidate
                if time.monotonic() > deadline:
                    raise NodeError(self._not_ready(namespace, pod, found, timeout))
                time.sleep(0.2)
        finally:
            client.close()

    def _not_ready(self, namespace: str, pod: str, found: list[dict[str, Any]], timeout: float) -> str:
        if not found:
            return (f"no pod {namespace}/{pod}* appeared within {timeout:.0f} s; check its controller's events "
                    "(a Deployment's ReplicaSet) and the scheduler's log")
        lines = []
        fix = "fix the pod's spec or its program and try again"
        for candidate in found:
            name = candidate["metadata"]["name"]
            for status in candidate["status"].get("containerStatuses") or []:
                state = status.get("state") or {}
                detail = state.get("waiting") or state.get("terminated") or {}
                reason = detail.get("reason", next(iter(state), "unknown"))
                lines.append(f"{name}/{status['name']}: {reason} {detail.get('message', '')}".rstrip())
                if reason in ("ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff"):
                    fix = (f"the image {status.get('image')} is not on the node (nothing can be pulled here): "
                           "import it with Node.import_image(<oci archive>, <name>) (make image builds opframe's)")
                elif reason in ("CrashLoopBackOff", "Error") or status.get("restartCount", 0) > 0:
                    fix = "its container keeps exiting: read its log below"
                elif "running" in state and not status.get("ready"):
                    fix = "its container runs but its readinessProbe keeps failing: check the probe and the program"
            if not candidate["status"].get("containerStatuses"):
                lines.append(f"{name}: phase {candidate['status'].get('phase')}, "
                             f"{candidate['status'].get('conditions') or 'not scheduled yet'}")
            log = self.pod_log(namespace, name)
            if log:
                lines.append(f"--- last lines of {name}'s log ---\n{log}")
        return f"pod {namespace}/{pod} did not become Ready within {timeout:.0f} s: {fix}\n" + "\n".join(lines)

    def pod_log(self, namespace: str, pod: str, lines: int = 20) -> str:
        """The last lines of a pod's container logs, read from the node's log folder
        (every container's, every restart's; the messages, as ``kubectl logs`` prints them)."""
        messages = [message for path in pod_log_files(self.pod_logs, namespace, pod)
                    for message in log_messages(path.read_text(errors="replace"))]
        return "\n".join(messages[-lines:])

    def _start_kube_proxy(self, kubeconfig: Path) -> None:
        config = self.workdir / "kube-proxy.json"
        config.write_text(json.dumps({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig)}, "mode": "iptables",
            "clusterCIDR": POD_SUBNET, "hostnameOverride": NODE_NAME,
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
            "healthzBindAddress": "127.0.0.1:10256", "metricsBindAddress": "127.0.0.1:10249"}))
        self._spawn("kube-proxy", [str(node_binaries_dir() / "kube-proxy"), f"--config={config}"])

    def _start_kubelet(self, kubeconfig: Path) -> None:
        root = self.workdir / "kubelet"
        (root / "pki").mkdir(parents=True)
        config = self.workdir / "kubelet.json"
        config.write_text(json.dumps({
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False, "cgroupDriver": "cgroupfs", "cgroupRoot": f"/{self.cgroup_name}",
            "failSwapOn": False, "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "imageServiceEndpoint": f"unix://{self.containerd_socket}",
            "address": NODE_ADDRESS, "port": 10250, "readOnlyPort": 0, "healthzBindAddress": "127.0.0.1",
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(self.pki.client_ca)}},
            "authorization": {"mode": "Webhook"}, "makeIPTablesUtilChains": False,
            "protectKernelDefaults": False, "podLogsDir": str(self.pod_logs),
            "rotateCertificates": False, "serverTLSBootstrap": False, "resolvConf": "/etc/resolv.conf",
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        }))
        self._spawn("kubelet", [str(node_binaries_dir() / "kubelet"), f"--config={config}",
                                f"--kubeconfig={kubeconfig}", f"--root-dir={root}", f"--cert-dir={root / 'pki'}",
                                f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_ADDRESS}"])

    def _wait_ready(self) -> None:
        from opframe.kube import KubeClient, Resource, errors, load_configuration

        nodes = Resource("", "v1", "nodes", "Node", namespaced=False)
        client = KubeClient(load_configuration(self.admin_kubeconfig))
        kubelet = self.processes["kubelet"]

        def ready() -> bool:
            try:
                node = client.get(nodes, NODE_NAME)
            except errors.NotFound:
                return False
            return any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (node.get("status") or {}).get("conditions") or [])

        try:
            self._wait_for(ready, kubelet, self.ready_timeout,
                           "the node did not become Ready; the kubelet's log above says why")
        finally:
            client.close()

    def _wait_for(self, check: Callable[[], bool], process: ManagedProcess, timeout: float, fix: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            for name, other in self.processes.items():
                code = other.exit_code()
                if code is not None:
                    raise NodeError(f"{name} exited with code {code}; {fix}\n--- last lines of {name}'s log ---\n"
                                    f"{other.log_tail()}")
            if time.monotonic() > deadline:
                raise NodeError(f"timed out after {timeout:.0f} s: {fix}\n--- last lines of {process.name}'s "
                                f"log ---\n{process.log_tail()}")
            time.sleep(0.1)

    # -- stop -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything this node started and remove what it made. Idempotent."""
        if self._forwarder is not None:
            self._forwarder.close()
            self._forwarder = None
        namespace = self._mount_namespace()
        self._stop("kubelet")
        self._kill_cgroup_members()
        self._stop("containerd")
        self._stop("kube-proxy")
        if namespace is not None:
            # containerd's shims outlive containerd by design; everything in the node's
            # mount namespace goes, found by that namespace and killed by pid.
            self._kill_namespace_members(namespace)
        for name in ("holder", "kube-scheduler", "kube-controller-manager"):
            self._stop(name)
        self._kill_cgroup_members()
        self._remove_cgroups()

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.stop()

    def _mount_namespace(self) -> str | None:
        holder = self.processes.get("holder")
        if holder is None or holder.exit_code() is not None:
            return None
        try:
            return os.readlink(f"/proc/{holder.pid}/ns/mnt")
        except OSError:
            return None

    def namespace_pids(self, namespace: str) -> list[int]:
        """Pids of every process in the mount namespace ``namespace`` (an ``mnt:[inode]`` link)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "mnt") == namespace:
                        pids.append(int(entry.name))
        return pids

    def _kill_namespace_members(self, namespace: str) -> None:
        holder = self.processes.get("holder")
        _kill_until_gone(lambda: {pid for pid in self.namespace_pids(namespace)
                                  if holder is None or pid != holder.pid})

    def _kill_cgroup_members(self) -> None:
        """SIGKILL every process in the node's cgroups (pods' processes), by pid."""
        _kill_until_gone(lambda: set(self.cgroup_pids()))

    def cgroup_pids(self) -> Iterator[int]:
        for hierarchy in _hierarchies():
            for folder in _subtree(hierarchy / self.cgroup_name):
                with contextlib.suppress(OSError):
                    yield from (int(line) for line in (folder / "cgroup.procs").read_text().split())

    def _remove_cgroups(self) -> None:
        for hierarchy in _hierarchies():
            for folder in sorted(_subtree(hierarchy / self.cgroup_name), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    folder.rmdir()


#: Killing is repeated while new members appear (a dying shim's children), for at most 2.5 s.
KILL_ROUNDS = 50


def _kill_until_gone(members: Callable[[], set[int]]) -> None:
    """SIGKILL the pids ``members()`` names until it names none."""
    for _ in range(KILL_ROUNDS):
        pids = members()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _subtree(base: Path) -> list[Path]:
    """``base`` and every cgroup folder below it; folders vanishing meanwhile are skipped."""
    found: list[Path] = []
    pending = [base]
    while pending:
        folder = pending.pop()
        try:
            children = [entry for entry in folder.iterdir() if entry.is_dir()]
        except OSError:
            continue
        found.append(folder)
        pending.extend(children)
    return found


def _hierarchies() -> list[Path]:
    """The cgroup hierarchies: v1 ones and the hybrid layout's cgroup2 ``unified`` mount."""
    if not CGROUP_ROOT.exists():
        return []
    return [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and (p / "cgroup.procs").exists() and not p.is_symlink()]
