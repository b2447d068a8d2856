"""Login (opframe.kube.credentials): kopf's ConnectionInfo and the client's configuration (no sockets)."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest

import opframe
from opframe.kube.credentials import ConnectionInfo, client_configuration


def test_connection_info_becomes_the_clients_configuration(tmp_path: Path) -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n"
    info = ConnectionInfo(server="https://127.0.0.1:6443", ca_data=base64.b64encode(pem).decode(), token="t0k",
                          default_namespace="team")
    configuration = client_configuration(info)
    assert configuration.host == "https://127.0.0.1:6443" and configuration.verify_ssl
    assert Path(configuration.ssl_ca_cert).read_bytes() == pem
    assert configuration.api_key == {"authorization": "Bearer t0k"}
    basic = ConnectionInfo(server="https://x", username="u", password="p", insecure=True)
    assert client_configuration(basic).api_key == {"authorization": "Basic dTpw"}
    assert not client_configuration(basic).verify_ssl
    with pytest.raises(ValueError, match="both ca_path and ca_data"):
        ConnectionInfo(server="https://x", ca_path="/a", ca_data="b")


def test_login_via_client_keeps_exec_plugin_credentials_refreshable(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An exec plugin's token expires: the client built from login_via_client() asks the plugin again
    (kopf re-logs in; a token copied at login time would go stale)."""
    counter = tmp_path / "count"
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"""#!/bin/sh
n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 ))
echo $n > {counter}
echo '{{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
  "status": {{"token": "t'$n'", "expirationTimestamp": "2000-01-01T00:00:00Z"}}}}'
""")
    plugin.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: {plugin},
  interactiveMode: Never}}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: team}}}}]
current-context: x
""")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    info = opframe.login_via_client()
    assert info is not None and info.default_namespace == "team" and info.token is not None
    configuration = client_configuration(info)

    def token() -> str:
        return str(configuration.auth_settings()["BearerToken"]["value"])

    first, second = token(), token()
    assert first != second and first.startswith("Bearer t") and second.startswith("Bearer t")
    static = client_configuration(dataclasses.replace(info, token="fixed"))
    assert static is not configuration and static.api_key == {"authorization": "Bearer fixed"}
