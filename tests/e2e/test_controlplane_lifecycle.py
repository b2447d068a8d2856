"""Starting and stopping the control plane: clean stops, and clear errors on bad input."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from opframe.testing import ControlPlane, ControlPlaneError, find_binaries
from opframe.testing.controlplane import kubectl_binary

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it holds no port and no file.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids.extend(int(p) for p in (task / "children").read_text().split())
    return pids


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_start_serves_requests_and_stop_leaves_no_process_or_folder() -> None:
    plane = ControlPlane()
    plane.start()
    try:
        assert plane.workdir is not None and plane.etcd is not None and plane.apiserver is not None
        workdir, pids = plane.workdir, (plane.etcd.pid, plane.apiserver.pid)
        with plane.api_client() as api:
            names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        assert {"default", "kube-system"} <= names
    finally:
        plane.stop()
    assert not workdir.exists()
    assert not any(_alive(pid) for pid in pids)
    plane.stop()  # idempotent


def test_port_in_use_is_a_clear_error_and_starts_nothing(busy_port: int) -> None:
    plane = ControlPlane(apiserver_port=busy_port)
    with pytest.raises(ControlPlaneError) as error:
        plane.start()
    message = str(error.value)
    assert f"port 127.0.0.1:{busy_port} for kube-apiserver is already in use" in message
    assert "choose another port" in message
    assert plane.workdir is None and plane.etcd is None and plane.apiserver is None


def test_cli_port_in_use_exits_non_zero_with_one_error_line(busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opframe.cli", "cluster", "up", "--port", str(busy_port)],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: port 127.0.0.1:{busy_port} for kube-apiserver is already in use")


def test_binary_dying_at_start_up_is_reported_and_cleaned_up(tmp_path: Path) -> None:
    real = find_binaries()
    dying = tmp_path / "kube-apiserver"
    dying.write_text("#!/bin/sh\necho 'Error: unknown flag: --bogus' >&2\nexit 3\n")
    dying.chmod(0o755)
    plane = ControlPlane(binaries=type(real)(kube_apiserver=dying, etcd=real.etcd))
    started_etcd: list[int] = []
    original_wait = plane._wait_apiserver_healthy

    def remember_etcd(deadline: float) -> None:
        assert plane.etcd is not None
        started_etcd.append(plane.etcd.pid)
        original_wait(deadline)

    plane._wait_apiserver_healthy = remember_etcd  # type: ignore[method-assign]
    with pytest.raises(ControlPlaneError) as error:
        plane.start()
    message = str(error.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith("kube-apiserver exited with code 3 during start-up;")
    assert "make controlplane" in first_line
    assert "Error: unknown flag: --bogus" in message
    assert started_etcd and not _alive(started_etcd[0])
    assert plane.workdir is not None and not plane.workdir.exists()


def test_cluster_up_prints_kubeconfig_and_stops_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "opframe.cli", "cluster", "up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("KUBECONFIG="), (line, process.stderr.read() if process.poll() else "")
        kubeconfig = Path(line.strip().split("=", 1)[1])
        assert kubeconfig.exists()
        children = _children(process.pid)
        assert len(children) == 2
        from kubernetes import config

        with config.new_client_from_config(config_file=str(kubeconfig)) as api:
            assert client.CoreV1Api(api).read_namespace("default").metadata.name == "default"
        # It names a kubectl of the server's own version, which works against it with no skew warning.
        said = "".join(process.stdout.readline() for _ in range(3))
        kubectl = said.split("; ", 1)[1].split(" get namespaces")[0]
        assert kubectl == str(kubectl_binary()), said
        got = subprocess.run([kubectl, "get", "namespace", "default", "-o", "name"], capture_output=True, text=True,
                             env={**os.environ, "KUBECONFIG": str(kubeconfig)}, timeout=60, check=False)
        assert (got.returncode, got.stdout, got.stderr) == (0, "namespace/default\n", "")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)
    assert not kubeconfig.parent.exists()
