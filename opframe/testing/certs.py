"""Throwaway PKI for a local control plane, as envtest makes it.

Three independent trust roots, so that no key can stand in for another:

* the serving CA signs kube-apiserver's serving certificate (localhost, 127.0.0.1);
* the client CA signs client certificates; kube-apiserver trusts it through
  ``--client-ca-file``, and the admin certificate (CN=admin, O=system:masters)
  is signed by it;
* the service-account key pair signs and verifies ServiceAccount tokens.

ECDSA P-256 keys throughout: kube-apiserver accepts them everywhere, and they are
generated in microseconds where RSA-2048 takes tens of milliseconds each.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough for any test run or a day of `opframe cluster up`, short enough that
# a leaked key is worthless soon after.
VALIDITY = datetime.timedelta(days=7)
# Certificates are valid from a little before "now", so that a clock that is a bit
# behind in another process does not reject them as not yet valid.
CLOCK_SKEW_ALLOWANCE = datetime.timedelta(minutes=5)
#: The one node of ``ControlPlane(node=True)``: its name (the kubelet's client
#: certificate is system:node:<name>, as the Node authorizer wants), and the address
#: kube-apiserver is reached at inside the node's network namespace.
NODE_NAME = "opframe-node"
NODE_ADDRESS = "172.30.0.2"
#: The first address of kube-apiserver's --service-cluster-ip-range (10.0.0.0/24).
KUBERNETES_SERVICE_IP = "10.0.0.1"


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM bytes."""

    cert_pem: bytes
    key_pem: bytes


@dataclasses.dataclass(frozen=True)
class ControlPlanePKI:
    """Every file the control plane and its admin client need, written under one folder."""

    serving_ca: Path
    serving_cert: Path
    serving_key: Path
    client_ca: Path
    admin_cert: Path
    admin_key: Path
    sa_public_key: Path
    sa_signing_key: Path
    node_cert: Path
    node_key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW_ALLOWANCE)
        .not_valid_after(now + VALIDITY)
    )


def new_ca(common_name: str) -> tuple[KeyPair, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed certificate authority."""
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)), key, cert


def issue(
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    organization: str | None = None,
    server_names: tuple[str, ...] = (),
) -> KeyPair:
    """A leaf certificate signed by the given CA: a server certificate when
    ``server_names`` are given (DNS names or IP addresses), else a client certificate."""
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name, organization), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server_names:
        alternative_names: list[x509.GeneralName] = []
        for server_name in server_names:
            try:
                alternative_names.append(x509.IPAddress(ipaddress.ip_address(server_name)))
            except ValueError:
                alternative_names.append(x509.DNSName(server_name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def write_control_plane_pki(folder: Path) -> ControlPlanePKI:
    """Generate the control plane's PKI and write it under ``folder`` (mode 0600 for keys)."""
    serving_ca, serving_ca_key, serving_ca_cert = new_ca("opframe-serving-ca")
    serving = issue(
        ca_key=serving_ca_key, ca_cert=serving_ca_cert, common_name="kube-apiserver",
        # NODE_ADDRESS and the kubernetes Service's IP: how a node's kubelet and pods reach it.
        server_names=("localhost", "127.0.0.1", "kubernetes", "kubernetes.default",
                      "kubernetes.default.svc", NODE_ADDRESS, KUBERNETES_SERVICE_IP),
    )
    client_ca, client_ca_key, client_ca_cert = new_ca("opframe-client-ca")
    admin = issue(
        ca_key=client_ca_key, ca_cert=client_ca_cert,
        common_name="admin", organization="system:masters",
    )
    node = issue(
        ca_key=client_ca_key, ca_cert=client_ca_cert,
        common_name=f"system:node:{NODE_NAME}", organization="system:nodes",
    )
    sa_key = _new_key()
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pki = ControlPlanePKI(
        serving_ca=folder / "serving-ca.crt",
        serving_cert=folder / "apiserver.crt",
        serving_key=folder / "apiserver.key",
        client_ca=folder / "client-ca.crt",
        admin_cert=folder / "admin.crt",
        admin_key=folder / "admin.key",
        sa_public_key=folder / "sa.pub",
        sa_signing_key=folder / "sa.key",
        node_cert=folder / "node.crt",
        node_key=folder / "node.key",
    )
    contents = {
        pki.serving_ca: serving_ca.cert_pem,
        pki.serving_cert: serving.cert_pem,
        pki.serving_key: serving.key_pem,
        pki.client_ca: client_ca.cert_pem,
        pki.admin_cert: admin.cert_pem,
        pki.admin_key: admin.key_pem,
        pki.sa_public_key: sa_public,
        pki.sa_signing_key: _key_pem(sa_key),
        pki.node_cert: node.cert_pem,
        pki.node_key: node.key_pem,
    }
    for path, data in contents.items():
        path.write_bytes(data)
        path.chmod(0o600)
    return pki
