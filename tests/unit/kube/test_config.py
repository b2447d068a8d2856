"""Publishing opframe's cluster configuration to the official clients (opframe.kube.config.publish_default),
as kopf's default login does: ``kubernetes.client.CoreV1Api()`` and ``pykube.KubeConfig.from_env()`` in a
handler reach the operator's cluster with no set-up of their own, and a user's own configuration wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pykube
import pytest
import yaml

from opframe.kube import config
from opframe.kube.config import load_configuration, publish_default

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "first",
    "clusters": [{"name": "one", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": "ca.crt"}},
                 {"name": "two", "cluster": {"server": "https://127.0.0.2:7443", "certificate-authority": "ca.crt"}}],
    "users": [{"name": "u", "user": {"token": "secret-token"}}],
    "contexts": [{"name": "first", "context": {"cluster": "one", "user": "u"}},
                 {"name": "second", "context": {"cluster": "two", "user": "u", "namespace": "there"}}],
}


@pytest.fixture(autouse=True)
def pristine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a fresh process: no kubernetes default, nothing published, no $KUBECONFIG."""
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", None)
    monkeypatch.setitem(config._published, "kubernetes", None)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    yield


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    (tmp_path / "ca.crt").write_text("not really a certificate")
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    return path


def _default_host() -> str:
    return str(kubernetes.client.CoreV1Api().api_client.configuration.host)


def test_the_kubernetes_default_is_the_operators_configuration(kubeconfig: Path) -> None:
    assert _default_host() in ("", "http://localhost")  # what a handler got before: "No host specified"
    assert publish_default(load_configuration(kubeconfig), kubeconfig=kubeconfig)
    client = kubernetes.client.CoreV1Api().api_client.configuration
    assert client.host == "https://127.0.0.1:6443"
    assert client.auth_settings()["BearerToken"]["value"] == "Bearer secret-token"


def test_a_users_own_load_call_before_start_up_wins(kubeconfig: Path) -> None:
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), context="second")  # the user's own call
    assert not publish_default(load_configuration(kubeconfig), kubeconfig=kubeconfig)
    assert _default_host() == "https://127.0.0.2:7443"


def test_a_default_created_unconfigured_by_an_early_client_is_replaced(kubeconfig: Path) -> None:
    kubernetes.client.Configuration.get_default()  # e.g. an ApiClient() built at import time
    assert publish_default(load_configuration(kubeconfig), kubeconfig=kubeconfig)
    assert _default_host() == "https://127.0.0.1:6443"


def test_opframe_replaces_what_it_published_itself(kubeconfig: Path) -> None:
    assert publish_default(load_configuration(kubeconfig), kubeconfig=kubeconfig)
    assert publish_default(load_configuration(kubeconfig, context="second"), kubeconfig=kubeconfig, context="second")
    assert _default_host() == "https://127.0.0.2:7443"


def test_pykube_and_load_kube_config_read_the_kubeconfig_given_by_flag(kubeconfig: Path) -> None:
    publish_default(load_configuration(kubeconfig), kubeconfig=kubeconfig)
    assert pykube.KubeConfig.from_env().cluster["server"] == "https://127.0.0.1:6443"


def test_pykube_follows_the_context_flag_through_a_private_copy(kubeconfig: Path) -> None:
    publish_default(load_configuration(kubeconfig, context="second"), kubeconfig=kubeconfig, context="second")
    found = pykube.KubeConfig.from_env()
    assert found.current_context == "second" and found.cluster["server"] == "https://127.0.0.2:7443"
    assert found.namespace == "there"
    copy = Path(found.filepath)
    assert copy != kubeconfig and copy.stat().st_mode & 0o077 == 0  # only this user reads the credentials
    assert found.cluster["certificate-authority"].filename() == str(kubeconfig.parent / "ca.crt")


def test_no_flags_leave_the_environment_alone(kubeconfig: Path) -> None:
    publish_default(load_configuration(kubeconfig))
    assert "KUBECONFIG" not in __import__("os").environ
