"""Throwaway PKI for a local control plane, as envtest makes it.

Three independent trust roots, so that no key can stand in for another:

* the serving CA signs kube-apiserver's serving certificate (localhost, 127.0.0.1);
* the client CA signs client certificates; kube-apiserver trusts it through
  ``--client-ca-file``, and the admin certificate (CN=admin, O=system:masters)
  is signed by it;
* the service-account key pair signs and verifies ServiceAccount tokens.

The keys and certificates come from kube/pki.py (ECDSA P-256).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from opframe.kube.pki import KeyPair, issue, key_pem, new_ca, new_key

__all__ = ["KeyPair", "issue", "new_ca", "write_control_plane_pki"]

#: The one node of ``ControlPlane(node=True)``: its name (the kubelet's client
#: certificate is system:node:<name>, as the Node authorizer wants), and the address
#: kube-apiserver is reached at inside the node's network namespace.
NODE_NAME = "opframe-node"
NODE_ADDRESS = "172.30.0.2"
#: kube-apiserver's --service-cluster-ip-range, and its first address (the kubernetes Service).
SERVICE_CIDR = "10.0.0.0/24"
KUBERNETES_SERVICE_IP = "10.0.0.1"


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
    sa_key = new_key()
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
        pki.sa_signing_key: key_pem(sa_key),
        pki.node_cert: node.cert_pem,
        pki.node_key: node.key_pem,
    }
    for path, data in contents.items():
        path.write_bytes(data)
        path.chmod(0o600)
    return pki
