"""Certificates: a self-signed certificate authority and leaf certificates issued by it.

Used wherever opframe must be trusted over TLS by the API server or trust it: the webhook server's
serving certificate (runtime/admission), and the local control plane's PKI (testing/certs.py).
ECDSA P-256 keys throughout: the API server accepts them everywhere, and they are generated in
microseconds where RSA-2048 takes tens of milliseconds each.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress

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
@dataclasses.dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM bytes."""

    cert_pem: bytes
    key_pem: bytes


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
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
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
    validity: datetime.timedelta = VALIDITY,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW_ALLOWANCE)
        .not_valid_after(now + validity)
    )


def new_ca(common_name: str, *, validity: datetime.timedelta = VALIDITY
           ) -> tuple[KeyPair, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed certificate authority."""
    key = new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), validity)
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
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem(key)), key, cert


def issue(
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    organization: str | None = None,
    server_names: tuple[str, ...] = (),
    validity: datetime.timedelta = VALIDITY,
) -> KeyPair:
    """A leaf certificate signed by the given CA: a server certificate when
    ``server_names`` are given (DNS names or IP addresses), else a client certificate."""
    key = new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name, organization), ca_cert.subject, key.public_key(), validity)
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
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem(key))




def load_ca(cert_pem: bytes, key_pem_bytes: bytes) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A certificate authority from its PEMs (as new_ca's KeyPair holds them); ValueError if they are
    not an ECDSA key and a certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem_bytes, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an ECDSA key")
    return key, cert
