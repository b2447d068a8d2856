"""A real kube-apiserver and etcd on loopback, started the way envtest starts them.

Lifecycle, as a state machine::

    NEW --start()--> STARTING --healthy--> RUNNING --stop()--> STOPPED
                        |                                          ^
                        +--- any failure: stop what started -------+
                             then raise ControlPlaneError

Invariants:

* ``start()`` returns only when etcd answers ``/health`` and kube-apiserver
  answers ``/healthz`` with ``ok``; if it raises, every process it started has
  been stopped and its temporary folder removed;
* ``stop()`` is idempotent, stops kube-apiserver before etcd, each by its own pid,
  and removes the temporary folder (data dir, certificates, kubeconfig, logs);
* errors are one ``ControlPlaneError`` whose first line names the cause and the fix.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import errno
import http.client
import json
import os
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opframe.testing import certs
from opframe.testing.node import ClusterEgress, Node
from opframe.testing.processes import ManagedProcess

#: The Kubernetes release controlplane/go.mod pins (kept in step with controlplane/build.sh).
KUBERNETES_VERSION = "v1.36.3"
#: tools/helm/build.sh's version (``make helm``); the chart's tests and the docs use it.
HELM_VERSION = "v3.22.0"
#: envtest polls health every 100 ms.
HEALTH_POLL_SECONDS = 0.1
#: envtest gives up after 20 s; a shared 2-core machine building or testing in
#: parallel can be three times slower, and a slow start is not a failure.
DEFAULT_START_TIMEOUT = 60.0
#: How often kube-apiserver asks etcd to compact. Its default is 5 min; tests
#: that need a compacted revision call ``compact_etcd()`` instead of waiting.
DEFAULT_COMPACTION_INTERVAL = "5m"
#: Auto-chosen ports can be taken by another process between our probe and the
#: child's bind; such a start is retried this many times with fresh ports.
PORT_RACE_ATTEMPTS = 3
BUILD_COMMAND = "make controlplane"
#: kube-apiserver's watch cache reads the compacted revision every 15 s
#: (k8s.io/apiserver cacher/compactor.go compactorPollPeriod).
WATCH_CACHE_COMPACTION_POLL = 15.0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _b64_file(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class ControlPlaneError(RuntimeError):
    """The control plane could not be found, started or reached. The message says why and what to do."""


class State(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path


def cache_root() -> Path:
    """opframe's cache folder: OPFRAME_CACHE_DIR, else ``$XDG_CACHE_HOME/opframe`` or ``~/.cache/opframe``."""
    root = os.environ.get("OPFRAME_CACHE_DIR")
    return Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opframe"


def cache_dir() -> Path:
    """Where ``make controlplane`` puts the binaries (kube-apiserver, etcd and a kubectl of their version)."""
    return cache_root() / "controlplane" / KUBERNETES_VERSION


def kubectl_binary() -> Path:
    """The kubectl ``make controlplane`` builds: the server's own version, so no version-skew warning."""
    return cache_dir() / "kubectl"


def helm_binary() -> Path:
    """The helm ``make helm`` builds (tools/helm/build.sh)."""
    return cache_root() / "tools" / f"helm-{HELM_VERSION}" / "helm"


def find_binaries() -> Binaries:
    """kube-apiserver and etcd from ``KUBEBUILDER_ASSETS`` if set, else from the cache folder."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    folder = Path(assets) if assets else cache_dir()
    found = Binaries(folder / "kube-apiserver", folder / "etcd")
    missing = [p.name for p in (found.kube_apiserver, found.etcd) if not os.access(p, os.X_OK)]
    if missing:
        source = "KUBEBUILDER_ASSETS" if assets else "the opframe cache"
        hint = (
            "unset KUBEBUILDER_ASSETS or point it at a folder holding both binaries"
            if assets
            else f"run '{BUILD_COMMAND}' to build them from the Go module proxy"
        )
        raise ControlPlaneError(
            f"{' and '.join(missing)} not found in {folder} ({source}); {hint}"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_port_free(port: int, component: str) -> None:
    """Raise ControlPlaneError if ``port`` on 127.0.0.1 cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ControlPlaneError(
                f"port 127.0.0.1:{port} for {component} is already in use; stop the process "
                f"holding it (ss -ltnp 'sport = :{port}' shows it) or choose another port "
                "(leave the port unset to pick a free one)"
            ) from None


class _PortRaceError(Exception):
    """A child could not bind an auto-chosen port that was free a moment before."""


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int


class ControlPlane:
    """etcd + kube-apiserver on 127.0.0.1 with an admin kubeconfig. Use as a context manager."""

    def __init__(
        self,
        *,
        binaries: Binaries | None = None,
        apiserver_port: int | None = None,
        etcd_port: int | None = None,
        compaction_interval: str = DEFAULT_COMPACTION_INTERVAL,
        extra_apiserver_args: Sequence[str] = (),
        start_timeout: float = DEFAULT_START_TIMEOUT,
        node: bool = False,
    ) -> None:
        self._binaries = binaries
        self._requested_apiserver_port = apiserver_port
        self._requested_etcd_port = etcd_port
        self._compaction_interval = compaction_interval
        self._extra_apiserver_args = list(extra_apiserver_args)
        self._start_timeout = start_timeout
        self.state = State.NEW
        self.workdir: Path | None = None
        self.ports: Ports | None = None
        self.etcd: ManagedProcess | None = None
        self.apiserver: ManagedProcess | None = None
        self._pki: certs.ControlPlanePKI | None = None
        #: With ``node=True``: kube-controller-manager, kube-scheduler and one node that runs
        #: pods (see opframe.testing.node); ``start()`` returns when the Node is Ready.
        self.with_node = node
        self.node: Node | None = None
        #: With ``node=True``: the API server's way into the pod and Service network (webhooks and
        #: aggregated APIs named by a Service, the kubelet), as konnectivity gives real clusters.
        self.egress: ClusterEgress | None = None

    # -- public surface -----------------------------------------------------------------

    @property
    def server(self) -> str:
        assert self.ports is not None, "the control plane is not started"
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def etcd_url(self) -> str:
        assert self.ports is not None, "the control plane is not started"
        return f"http://127.0.0.1:{self.ports.etcd_client}"

    @property
    def kubeconfig(self) -> Path:
        assert self.workdir is not None, "the control plane is not started"
        return self.workdir / "kubeconfig"

    @property
    def pki(self) -> certs.ControlPlanePKI:
        assert self._pki is not None, "the control plane is not started"
        return self._pki

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.state is not State.NEW:
            raise ControlPlaneError(f"a control plane can be started once; this one is {self.state.value}")
        self.state = State.STARTING
        try:
            binaries = self._binaries or find_binaries()
            if self._requested_apiserver_port is not None:
                ensure_port_free(self._requested_apiserver_port, "kube-apiserver")
            if self._requested_etcd_port is not None:
                ensure_port_free(self._requested_etcd_port, "etcd")
            self.workdir = Path(tempfile.mkdtemp(prefix="opframe-controlplane-"))
            self._pki = certs.write_control_plane_pki(self.workdir)
            if self.with_node:
                self.egress = ClusterEgress(self.workdir / "egress.sock")
                (self.workdir / "egress-selector.json").write_text(self.egress.configuration())
            for attempt in range(PORT_RACE_ATTEMPTS):
                try:
                    self._start_processes(binaries)
                    break
                except _PortRaceError:
                    self._stop_processes()
                    if attempt + 1 == PORT_RACE_ATTEMPTS:
                        raise ControlPlaneError(
                            "free ports were taken by other processes at every attempt; "
                            "retry, or set the ports explicitly"
                        ) from None
            self._write_kubeconfig()
            if self.with_node:
                assert self.ports is not None
                self.node = Node(workdir=self.workdir / "node", pki=self.pki, admin_kubeconfig=self.kubeconfig,
                                 apiserver_port=self.ports.apiserver, write_kubeconfig=self._node_kubeconfig)
                self.node.workdir.mkdir()
                self.node.start()
                assert self.egress is not None
                self.egress.netns = self.node.network_namespace
        except BaseException:
            self.stop()
            raise
        self.state = State.RUNNING

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd, and remove the temporary folder. Idempotent."""
        try:
            if self.node is not None:
                self.node.stop()
                self.node = None
            self._stop_processes()
            if self.egress is not None:
                self.egress.close()
                self.egress = None
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.state = State.STOPPED

    def stop_apiserver(self) -> None:
        """Stop only kube-apiserver (etcd and the data stay), to test clients' recovery."""
        if self.apiserver is not None:
            self.apiserver.stop()
            self.apiserver = None

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port, with the same data and certificates."""
        if self.apiserver is not None:
            raise ControlPlaneError("kube-apiserver is already running")
        assert self.ports is not None and self.workdir is not None
        deadline = time.monotonic() + self._start_timeout
        self.apiserver = self._spawn_apiserver(self.ports)
        self._wait_apiserver_healthy(deadline)

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision, the way kube-apiserver's compactor does.

        Records the revision under ``compact_rev_key`` (kube-apiserver watches that key
        and its watch cache drops older events within ``WATCH_CACHE_COMPACTION_POLL``),
        then compacts. Returns the compacted revision: every resourceVersion below it is
        gone, so an exact list or a watch from there gets ``410 Gone``.
        """
        header = self._etcd_post("/v3/kv/range", {"key": _b64("compact_rev_key")})["header"]
        revision = int(header["revision"])
        self._etcd_post("/v3/kv/txn", {"success": [{"requestPut": {
            "key": _b64("compact_rev_key"), "value": _b64(str(revision)),
        }}]})
        self._etcd_post("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def token_kubeconfig(self, path: Path, token: str, *, namespace: str | None = None) -> Path:
        """Write a kubeconfig at ``path`` that logs in with a bearer ``token`` (a ServiceAccount's)."""
        return self._write_kubeconfig_file(path, {"token": token}, namespace=namespace)

    def admin_get(self, path: str, *, timeout: float = 10) -> tuple[int, bytes]:
        """GET ``path`` from kube-apiserver as the cluster admin: (status, body).

        For endpoints that are not JSON resources, e.g. ``/metrics`` or
        ``/debug/pprof/profile?seconds=N`` (then ``timeout`` must exceed N).
        """
        assert self.ports is not None, "the control plane is not started"
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.ports.apiserver, context=self._ssl_context(), timeout=timeout
        )
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` logged in as the admin (system:masters)."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return client.ApiClient(configuration)

    # -- internals ----------------------------------------------------------------------

    def _choose_ports(self) -> Ports:
        return Ports(
            etcd_client=self._requested_etcd_port or free_port(),
            etcd_peer=free_port(),
            apiserver=self._requested_apiserver_port or free_port(),
        )

    def _start_processes(self, binaries: Binaries) -> None:
        assert self.workdir is not None
        ports = self._choose_ports()
        self.ports = ports
        deadline = time.monotonic() + self._start_timeout
        self._binaries = binaries
        self.etcd = ManagedProcess(
            "etcd",
            [
                str(binaries.etcd),
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{ports.etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{ports.etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
                f"--initial-cluster=default=http://127.0.0.1:{ports.etcd_peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            log_path=self.workdir / "etcd.log",
        )
        self._wait(
            self.etcd,
            deadline,
            self._etcd_healthy,
            fix="check the log lines above; the etcd binary may be broken: delete it and run "
            f"'{BUILD_COMMAND}'",
        )
        self.apiserver = self._spawn_apiserver(ports)
        self._wait_apiserver_healthy(deadline)

    def _spawn_apiserver(self, ports: Ports) -> ManagedProcess:
        assert self.workdir is not None and self._binaries is not None and self._pki is not None
        pki = self._pki
        return ManagedProcess(
            "kube-apiserver",
            [
                str(self._binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--secure-port={ports.apiserver}",
                "--bind-address=127.0.0.1",
                *([] if self.with_node else ["--advertise-address=127.0.0.1"]),
                f"--service-cluster-ip-range={certs.SERVICE_CIDR}",
                "--allow-privileged=true",
                *self._mode_args(),
                f"--service-account-issuer=https://127.0.0.1:{ports.apiserver}/",
                f"--service-account-key-file={pki.sa_public_key}",
                f"--service-account-signing-key-file={pki.sa_signing_key}",
                f"--client-ca-file={pki.client_ca}",
                f"--etcd-compaction-interval={self._compaction_interval}",
                *self._extra_apiserver_args,
            ],
            log_path=self.workdir / "kube-apiserver.log",
        )

    def _mode_args(self) -> list[str]:
        """Without a node: no ServiceAccount admission (no tokens to mount) and RBAC alone, as
        envtest runs it. With one: tokens are mounted, the Node authorizer admits the kubelet,
        and kube-apiserver advertises the address pods reach it at (the kubernetes Service)."""
        if not self.with_node:
            return ["--disable-admission-plugins=ServiceAccount", "--authorization-mode=RBAC"]
        pki = self.pki
        assert self.workdir is not None
        return ["--authorization-mode=Node,RBAC", f"--advertise-address={certs.NODE_ADDRESS}",
                f"--egress-selector-config-file={self.workdir / 'egress-selector.json'}",
                f"--kubelet-client-certificate={pki.admin_cert}", f"--kubelet-client-key={pki.admin_key}"]

    def _node_kubeconfig(self, path: Path, user: dict[str, str], server: str) -> Path:
        return self._write_kubeconfig_file(path, user, server=server)

    def _wait_apiserver_healthy(self, deadline: float) -> None:
        assert self.apiserver is not None
        self._wait(
            self.apiserver,
            deadline,
            self._apiserver_healthy,
            fix="check the log lines above: a bad flag, an etcd it cannot reach, or a broken "
            f"binary (delete it and run '{BUILD_COMMAND}')",
        )

    def _wait(self, process: ManagedProcess, deadline: float, healthy: Any, *, fix: str) -> None:
        while True:
            code = process.exit_code()
            if code is not None:
                tail = process.log_tail()
                if "address already in use" in tail and self._ports_were_chosen():
                    raise _PortRaceError()
                raise ControlPlaneError(
                    f"{process.name} exited with code {code} during start-up; {fix}\n"
                    f"--- last lines of {process.name}'s log ---\n{tail}"
                )
            if healthy():
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{process.name} did not become healthy within {self._start_timeout:.0f} s; "
                    f"the machine may be overloaded (raise start_timeout) or {fix}\n"
                    f"--- last lines of {process.name}'s log ---\n{process.log_tail()}"
                )
            time.sleep(HEALTH_POLL_SECONDS)

    def _ports_were_chosen(self) -> bool:
        return self._requested_apiserver_port is None and self._requested_etcd_port is None

    def _stop_processes(self) -> None:
        for attribute in ("apiserver", "etcd"):
            process: ManagedProcess | None = getattr(self, attribute)
            if process is not None:
                process.stop()
                setattr(self, attribute, None)

    def _etcd_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.etcd_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def _etcd_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.etcd_url + "/health", timeout=1) as response:
                return bool(json.loads(response.read()).get("health") == "true")
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.serving_ca))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _apiserver_healthy(self) -> bool:
        try:
            status, body = self.admin_get("/healthz", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and body == b"ok"

    def _write_kubeconfig(self) -> None:
        pki = self.pki
        self._write_kubeconfig_file(self.kubeconfig, {
            "client-certificate-data": _b64_file(pki.admin_cert),
            "client-key-data": _b64_file(pki.admin_key),
        })

    def _write_kubeconfig_file(self, path: Path, user: dict[str, str], *, namespace: str | None = None,
                               server: str | None = None) -> Path:
        """A kubeconfig for this control plane with the given credentials, mode 0600."""
        context: dict[str, str] = {"cluster": "opframe", "user": "user"}
        if namespace:
            context["namespace"] = namespace
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "opframe",
            "clusters": [{"name": "opframe", "cluster": {
                "server": server or self.server, "certificate-authority-data": _b64_file(self.pki.serving_ca)}}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "opframe", "context": context}],
        }, indent=2))
        path.chmod(0o600)
        return path


@contextlib.contextmanager
def running_control_plane(**options: Any) -> Iterator[ControlPlane]:
    """``with running_control_plane() as cp:`` — started on entry, stopped on exit."""
    plane = ControlPlane(**options)
    with plane:
        yield plane
