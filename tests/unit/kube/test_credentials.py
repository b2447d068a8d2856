"""Login (opframe.kube.credentials): kopf's ConnectionInfo and the client's configuration (no sockets)."""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import datetime
from pathlib import Path
from typing import Any

import pytest

import opframe
from opframe.kube.credentials import ConnectionInfo, Credentials, LoginError, client_configuration


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


# -- Credentials: logging in again on a 401 or at expiration, as kopf's vault does ------------------------

def _logins(*tokens: str, expiration: datetime.datetime | None = None) -> tuple[list[str], Any]:
    """A login that hands over ``tokens`` one per call (the last one again once they run out)."""
    calls: list[str] = []

    def login() -> ConnectionInfo:
        token = tokens[min(len(calls), len(tokens) - 1)]
        calls.append(token)
        return ConnectionInfo(server="https://x", token=token, expiration=expiration)

    return calls, login


def _token(configuration: Any) -> str:
    return str(configuration.api_key["authorization"])


def test_a_rejected_token_is_replaced_by_logging_in_again() -> None:
    calls, login = _logins("new")
    renewed: list[str] = []
    credentials = Credentials(ConnectionInfo(server="https://x", token="old"), login,
                              renewed=lambda configuration: renewed.append(_token(configuration)))
    first = credentials.configuration
    assert _token(credentials.rejected(first)) == "Bearer new"
    assert calls == ["new"] and renewed == ["Bearer new"] and credentials.renewals == 1
    # Another request that failed with the old credentials meanwhile: no second login.
    assert _token(credentials.rejected(first)) == "Bearer new" and calls == ["new"]


def test_one_login_for_many_requests_rejected_at_once() -> None:
    calls, login = _logins("new")
    credentials = Credentials(ConnectionInfo(server="https://x", token="old"), login)
    failed = credentials.configuration
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _token(credentials.rejected(failed)), range(16)))
    assert results == ["Bearer new"] * 16 and calls == ["new"]


@pytest.mark.parametrize(("tokens", "outcome"), [
    (("old",), "LoginError"),                  # the login hands the rejected token back
    (("new", "old"), "LoginError"),            # ... or one rejected before
    (("new", "newer"), "Bearer newer"),        # each login gives a fresh one
])
def test_rejected_credentials_are_not_taken_back(tokens: tuple[str, ...], outcome: str) -> None:
    _, login = _logins(*tokens)
    credentials = Credentials(ConnectionInfo(server="https://x", token="old"), login)
    try:
        credentials.rejected(credentials.configuration)
        result = _token(credentials.rejected(credentials.configuration))
    except LoginError as exc:
        assert "logging in again gave the same credentials" in str(exc)
        result = "LoginError"
    assert result == outcome


def test_a_failed_login_changes_nothing_and_the_next_401_tries_again() -> None:
    attempts: list[int] = []

    def login() -> ConnectionInfo:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the vault is sealed")
        return ConnectionInfo(server="https://x", token="new")

    credentials = Credentials(ConnectionInfo(server="https://x", token="old"), login)
    old = credentials.configuration
    with pytest.raises(LoginError, match="logging in again failed: the vault is sealed"):
        credentials.rejected(old)
    assert credentials.configuration is old
    assert _token(credentials.rejected(old)) == "Bearer new" and len(attempts) == 2


def test_expired_credentials_are_renewed_before_the_next_request() -> None:
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    calls, login = _logins("fresh", expiration=future)
    credentials = Credentials(ConnectionInfo(server="https://x", token="stale", expiration=past), login)
    assert _token(credentials.current()) == "Bearer fresh" and calls == ["fresh"]
    assert _token(credentials.current()) == "Bearer fresh" and calls == ["fresh"]  # valid now: no login
    _, expired_again = _logins("also-stale", expiration=past)
    stale = Credentials(ConnectionInfo(server="https://x", token="stale", expiration=past), expired_again)
    with pytest.raises(LoginError):
        stale.current()
