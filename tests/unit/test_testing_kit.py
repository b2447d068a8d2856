"""The test kit's pure parts: binary discovery, certificates, namespace names, eventually. No sockets."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opframe.kube import errors
from opframe.testing import ControlPlaneError, eventually, find_binaries
from opframe.testing.certs import write_control_plane_pki
from opframe.testing.controlplane import KUBERNETES_VERSION
from opframe.testing.pytest_plugin import _namespace_name


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


def test_admin_certificate_is_in_system_masters_and_signed_by_the_client_ca(tmp_path: Path) -> None:
    pki = write_control_plane_pki(tmp_path)
    admin = x509.load_pem_x509_certificate(pki.admin_cert.read_bytes())
    client_ca = x509.load_pem_x509_certificate(pki.client_ca.read_bytes())
    serving_ca = x509.load_pem_x509_certificate(pki.serving_ca.read_bytes())
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    public_key = client_ca.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    admin.verify_directly_issued_by(client_ca)
    with pytest.raises(ValueError):
        admin.verify_directly_issued_by(serving_ca)
    assert oct(pki.admin_key.stat().st_mode & 0o777) == "0o600"


def test_serving_certificate_covers_loopback_names(tmp_path: Path) -> None:
    pki = write_control_plane_pki(tmp_path)
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    # Loopback for the host; the node's address and the kubernetes Service's IP for a node's
    # kubelet and pods (ControlPlane(node=True)).
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "172.30.0.2", "10.0.0.1"]


@pytest.mark.parametrize("test_name", [
    "test_simple", "test_with[param-Upper_CASE]", "x" * 200, "[]",
])
def test_namespace_names_are_dns_labels(test_name: str) -> None:
    name = _namespace_name(test_name)
    assert len(name) <= 63
    assert name == name.lower()
    assert name[0].isalnum() and name[-1].isalnum()
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_build_script_without_go_names_the_cause_and_the_fix(tmp_path: Path) -> None:
    import shutil
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "sed", "mkdir", "mktemp", "rm", "mv", "chmod"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    script = Path(__file__).resolve().parents[2] / "controlplane" / "build.sh"
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

    script = Path(__file__).resolve().parents[2] / "controlplane" / "build.sh"
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


# -- eventually ------------------------------------------------------------------------------------


def test_eventually_returns_the_first_truthy_result_and_treats_not_found_as_not_yet() -> None:
    answers = iter([errors.NotFound(404, "not yet"), None, 0, {"ready": True}])

    def check() -> object:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert eventually(check, what="readiness", interval=0) == {"ready": True}


def test_eventually_times_out_naming_what_it_waited_for_at_the_time_of_failure() -> None:
    calls: list[int] = []
    with pytest.raises(AssertionError) as failure:
        eventually(lambda: calls.append(1), what=lambda: f"the copy (seen {len(calls)} times)",
                   timeout=0.02, interval=0.005)
    assert str(failure.value) == f"timed out after 0 s waiting for the copy (seen {len(calls)} times)"
    assert len(calls) >= 2


def test_eventually_raises_the_given_error_type_and_lets_other_errors_through() -> None:
    class StepFailed(AssertionError):
        pass

    with pytest.raises(StepFailed):
        eventually(lambda: False, what="never", timeout=0, error=StepFailed)
    def forbidden() -> bool:
        raise errors.Forbidden(403, "no")

    with pytest.raises(errors.Forbidden):
        eventually(forbidden, what="anything", timeout=1)


def test_kopf_runner_reraises_a_failed_run_and_keeps_its_output(tmp_path: Path) -> None:
    """kopf's KopfRunner: leaving the block re-raises a failed run's SystemExit (reraise=True), and the
    run's output is there as text and bytes."""
    from opframe.testing import KopfRunner

    missing = tmp_path / "missing.py"
    with pytest.raises(SystemExit) as raised, KopfRunner(["run", str(missing)], timeout=30) as runner:
        pass
    assert raised.value.code == 1 and runner.exit_code == 1
    assert runner.stderr_bytes.decode() == runner.stderr
    assert f"operator file {missing} does not exist" in runner.stderr
    assert isinstance(runner.stdout_bytes, bytes)
    with KopfRunner(["run", str(missing)], timeout=30, reraise=False) as quiet:
        pass
    assert quiet.exit_code == 1 and isinstance(quiet.exception, SystemExit)
