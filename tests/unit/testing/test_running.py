"""RunningCluster (what `opframe cluster up` records for `cluster load`/`cluster logs`) and the
pod log reading those commands do: pure file work, no cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opframe.testing.node import log_messages, pod_log_files
from opframe.testing.running import NoRunningCluster, RunningCluster


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPFRAME_CACHE_DIR", str(tmp_path))
    return tmp_path


def _gone_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_running_cluster_is_found_and_a_dead_ones_record_is_removed() -> None:
    alive = RunningCluster(pid=os.getpid(), kubeconfig="/k", server="https://127.0.0.1:1",
                           node_holder_pid=os.getpid(), containerd_socket="/s", pod_logs="/l")
    dead = RunningCluster(pid=_gone_pid(), kubeconfig="/k2", server="https://127.0.0.1:2")
    alive.write()
    dead.write()
    assert RunningCluster.one(with_node=True) == alive
    assert not dead.path.exists()
    alive.remove()
    with pytest.raises(NoRunningCluster, match=r"no local cluster with a node is running; start one with "
                                                r"'opframe cluster up --node'"):
        RunningCluster.one(with_node=True)


def test_two_running_clusters_ask_for_one_and_a_nodeless_one_is_named() -> None:
    plain = RunningCluster(pid=os.getpid(), kubeconfig="/k", server="https://127.0.0.1:1")
    plain.write()
    with pytest.raises(NoRunningCluster, match=r"the running ones have no node: start one with --node"):
        RunningCluster.one(with_node=True)
    assert RunningCluster.one() == plain
    other = RunningCluster(pid=os.getppid(), kubeconfig="/k2", server="https://127.0.0.1:2")
    other.write()
    with pytest.raises(NoRunningCluster, match=r"2 local clusters are running .*choose one with --cluster PID"):
        RunningCluster.one()
    assert RunningCluster.one(pid=os.getppid()) == other


@pytest.mark.parametrize(("text", "messages"), [
    ("2026-12-06T10:00:00.1Z stdout F hello\n", ["hello"]),
    ("2026-12-06T10:00:00.1Z stdout F \n", [""]),
    ("t stdout P first half, \nt stdout F second half\nt stderr F oops\n", ["first half, second half", "oops"]),
    ("t stdout F a message with  two spaces\n", ["a message with  two spaces"]),
    ("not a CRI line\n", ["not a CRI line"]),
    ("t stdout P cut off at the end", ["cut off at the end"]),
])
def test_cri_log_lines_give_their_messages(text: str, messages: list[str]) -> None:
    assert log_messages(text) == messages


def test_a_pods_log_files_come_in_container_and_restart_order(tmp_path: Path) -> None:
    folder = tmp_path / "pod-logs"
    for relative in ("default_web_u1/main/10.log", "default_web_u1/main/2.log", "default_web_u1/aside/0.log",
                     "default_webber_u2/main/0.log", "other_web_u3/main/0.log"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text("")
    found = [str(path.relative_to(folder)) for path in pod_log_files(folder, "default", "web")]
    assert found == ["default_web_u1/aside/0.log", "default_web_u1/main/2.log", "default_web_u1/main/10.log"]
    assert [p.name for p in pod_log_files(folder, "default", "web", "main")] == ["2.log", "10.log"]
