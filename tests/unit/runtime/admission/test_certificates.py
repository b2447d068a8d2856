"""The webhook server's certificates (opframe.runtime.admission.certificates): what a bad file says, and
what the API server is told to trust. No sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from opframe.kube.pki import issue, new_ca
from opframe.runtime.admission.certificates import CertificateError, ServingCertificates


def test_a_missing_or_broken_certificate_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match=f"{tmp_path}/missing.crt: no such file"):
        ServingCertificates(cert_file=str(tmp_path / "missing.crt"), key_file=str(tmp_path / "missing.key"))
    (tmp_path / "broken.crt").write_text("not a certificate")
    (tmp_path / "broken.key").write_text("not a key")
    with pytest.raises(CertificateError, match="not a PEM certificate and its private key"):
        ServingCertificates(cert_file=str(tmp_path / "broken.crt"), key_file=str(tmp_path / "broken.key"))
    with pytest.raises(CertificateError, match="give both a certificate file and its key file"):
        ServingCertificates(cert_file=str(tmp_path / "broken.crt"))


def test_the_ca_bundle_is_the_ca_file_else_the_certificate_else_the_generated_ca(tmp_path: Path) -> None:
    ca_pair, ca_key, ca_cert = new_ca("test-ca")
    pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name="server", server_names=("127.0.0.1",))
    (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
    (tmp_path / "tls.key").write_bytes(pair.key_pem)
    (tmp_path / "ca.crt").write_bytes(ca_pair.cert_pem)
    files = {"cert_file": str(tmp_path / "tls.crt"), "key_file": str(tmp_path / "tls.key")}
    assert ServingCertificates(**files, ca_file=str(tmp_path / "ca.crt")).ca_bundle == ca_pair.cert_pem
    assert ServingCertificates(**files).ca_bundle == pair.cert_pem  # kopf's rule: the certificate itself
    generated = ServingCertificates(hosts=["127.0.0.1", "localhost"])
    assert generated.ca_bundle.startswith(b"-----BEGIN CERTIFICATE-----") and generated.ca_bundle != pair.cert_pem



def test_a_changed_ca_file_changes_the_bundle_with_the_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opframe.runtime.admission.certificates.FILE_CHECK_SECONDS", 0.0)
    ca_pair, ca_key, ca_cert = new_ca("first")
    pair = issue(ca_key=ca_key, ca_cert=ca_cert, common_name="server", server_names=("127.0.0.1",))
    for name, pem in (("tls.crt", pair.cert_pem), ("tls.key", pair.key_pem), ("ca.crt", ca_pair.cert_pem)):
        (tmp_path / name).write_bytes(pem)
    certificates = ServingCertificates(cert_file=str(tmp_path / "tls.crt"), key_file=str(tmp_path / "tls.key"),
                                       ca_file=str(tmp_path / "ca.crt"))
    assert certificates.ca_bundle == ca_pair.cert_pem
    both = ca_pair.cert_pem + new_ca("second")[0].cert_pem  # cert-manager's CA rotation: both trusted a while
    (tmp_path / "ca.crt").write_bytes(both)
    certificates.context()
    assert certificates.ca_bundle == both
