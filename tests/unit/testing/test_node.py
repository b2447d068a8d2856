"""The node's host checks (opframe.testing.node.check_host): each lack named with its fix, no socket needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from opframe.testing import node
from opframe.testing.node import NodeError, check_host


def test_a_node_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node.os, "geteuid", lambda: 1000)
    with pytest.raises(NodeError, match="a node needs root"):
        check_host()


def test_missing_packages_are_named_with_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node.shutil, "which", lambda command: None if command in ("runc", "containerd") else "/x")
    with pytest.raises(NodeError, match=r"missing Debian packages: containerd runc.*run 'make node' as root"):
        check_host()


def test_a_cgroup_layout_without_v1_hierarchies_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node.shutil, "which", lambda command: "/x")
    monkeypatch.setattr(node, "CNI_PLUGINS", tmp_path)
    (tmp_path / "bridge").touch()
    monkeypatch.setattr(node, "CGROUP_ROOT", tmp_path / "cgroup")
    with pytest.raises(NodeError, match=r"no cgroup v1 'cpu' hierarchy"):
        check_host()


def test_missing_node_binaries_name_make_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node.shutil, "which", lambda command: "/x")
    monkeypatch.setattr(node, "CNI_PLUGINS", tmp_path)
    (tmp_path / "bridge").touch()
    cgroups = tmp_path / "cgroup"
    for hierarchy in ("cpu", "memory", "pids", "cpuset"):
        (cgroups / hierarchy).mkdir(parents=True)
        (cgroups / hierarchy / "cgroup.procs").touch()
    monkeypatch.setattr(node, "CGROUP_ROOT", cgroups)
    monkeypatch.setattr(node, "node_binaries_dir", lambda: tmp_path / "empty")
    with pytest.raises(NodeError, match=r"kubelet, kube-controller-manager, kube-scheduler, kube-proxy not found.*"
                                        r"'make node'"):
        check_host()
