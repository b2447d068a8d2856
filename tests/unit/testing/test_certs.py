"""The control plane's certificates (opframe.testing.certs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opframe.testing.certs import write_control_plane_pki


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
