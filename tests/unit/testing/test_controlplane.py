"""The control plane's pure parts (opframe.testing.controlplane): binary discovery, and the build
script's errors. No sockets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opframe.testing import ControlPlaneError, find_binaries
from opframe.testing.controlplane import KUBERNETES_VERSION


def test_missing_binaries_name_the_build_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("OPFRAME_CACHE_DIR", str(tmp_path))
    with pytest.raises(ControlPlaneError) as error:
        find_binaries()
    message = str(error.value)
    assert "kube-apiserver and etcd not found" in message
    assert str(tmp_path / "controlplane" / KUBERNETES_VERSION) in message
    assert "run 'make controlplane'" in message


def test_kubebuilder_assets_wins_and_a_missing_binary_is_named(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    etcd = tmp_path / "etcd"
    etcd.write_text("#!/bin/sh\n")
    etcd.chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(ControlPlaneError) as error:
        find_binaries()
    assert str(error.value).startswith(f"kube-apiserver not found in {tmp_path} (KUBEBUILDER_ASSETS)")
    apiserver = tmp_path / "kube-apiserver"
    apiserver.write_text("#!/bin/sh\n")
    apiserver.chmod(0o755)
    assert find_binaries().kube_apiserver == apiserver


def test_build_script_without_go_names_the_cause_and_the_fix(tmp_path: Path) -> None:
    import shutil
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "sed", "mkdir", "mktemp", "rm", "mv", "chmod"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    script = Path(__file__).resolve().parents[3] / "controlplane" / "build.sh"
    result = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, check=False,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path), "OPFRAME_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "controlplane: no Go toolchain on PATH; install Go >= 1.26 (https://go.dev/doc/install, or "
        "Debian's golang package) and run 'make controlplane' again")
    assert not (tmp_path / "cache" / "controlplane").exists() or not any(
        (tmp_path / "cache" / "controlplane").rglob("*-apiserver*"))


def test_failed_build_names_the_cause_and_leaves_no_binary(tmp_path: Path) -> None:
    import os
    import subprocess

    script = Path(__file__).resolve().parents[3] / "controlplane" / "build.sh"
    cache = tmp_path / "cache"
    env = {**os.environ, "OPFRAME_CACHE_DIR": str(cache), "GOPROXY": "off", "GOFLAGS": "-mod=mod",
           "GOMODCACHE": str(tmp_path / "empty-modcache"), "GOCACHE": str(tmp_path / "gocache")}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False, env=env,
                            timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("controlplane: building etcd failed (see the Go errors above); check that the Go "
                           "module proxy is reachable")
    assert last.endswith("then run 'make controlplane' again")
    built = cache / "controlplane"
    assert [p.name for p in built.rglob("*") if p.is_file()] == []
