"""kopf's OperatorSettings mapped onto opframe's Settings, kopf's resource selectors, lifecycles,
embedding's namespaces, login's ConnectionInfo and the run command's kopf flags (no sockets)."""

from __future__ import annotations

import base64
import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import opframe
from opframe import cli
from opframe.kopf import lifecycles
from opframe.kopf.embedding import settings_for
from opframe.kopf.settings import OperatorSettings
from opframe.kube.credentials import ConnectionInfo, client_configuration
from opframe.on import selector
from opframe.settings import Settings


def test_untouched_kopf_settings_change_nothing() -> None:
    settings = Settings(workers=3, prefix="example.com")
    applied, warned = OperatorSettings().applied_to(settings)
    assert applied is settings and warned == []


def test_mapped_kopf_settings_take_effect_with_kopfs_meaning() -> None:
    kopf = OperatorSettings()
    kopf.execution.default_backoff = 5
    kopf.persistence.finalizer = "example.com/cleanup"
    kopf.persistence.progress_storage = opframe.AnnotationsProgressStorage(prefix="example.com")
    kopf.watching.server_timeout = 10
    kopf.watching.inactivity_timeout = 30
    kopf.queueing.worker_limit = 4
    kopf.posting.enabled = False
    kopf.posting.reporting_component = "mine"
    kopf.peering.standalone = True
    applied, warned = kopf.applied_to(Settings(leader_election=True))
    assert warned == []
    assert (applied.default_backoff, applied.finalizer_name, applied.prefix, applied.watch_timeout,
            applied.inactivity_timeout, applied.workers, applied.post_events, applied.event_component,
            applied.leader_election) == (5, "example.com/cleanup", "example.com", 10, 30, 4, False, "mine", False)


def test_each_kopf_setting_opframe_cannot_honour_is_named_once_with_what_to_use() -> None:
    kopf = OperatorSettings()
    kopf.peering.priority = 100
    kopf.watching.field_selectors = {"pods": "status.phase=Running"}
    kopf.persistence.progress_storage = opframe.StatusProgressStorage()
    applied, warned = kopf.applied_to(Settings())
    assert applied == Settings()
    assert len(warned) == 3
    assert any(w.startswith("settings.peering.priority = 100 has no effect in opframe: peering priorities")
               for w in warned)
    assert any("settings.watching.field_selectors" in w and "when=" in w for w in warned)
    assert any("settings.persistence.progress_storage" in w and "AnnotationsProgressStorage(prefix=" in w
               for w in warned)


def test_kopf_settings_groups_and_aliases() -> None:
    kopf = OperatorSettings()
    assert kopf.batching is kopf.queueing
    kopf.peering.namespaced = False
    assert kopf.peering.clusterwide


@pytest.mark.parametrize(("args", "kwargs", "names"), [
    (("pods",), {}, ("pods",)),
    (("websites.example.com",), {}, ("websites.example.com",)),
    (("v1", "pods"), {}, ("", "v1", "pods")),
    (("pods.v1",), {}, ("", "v1", "pods")),
    (("deployments.v1.apps",), {}, ("apps", "v1", "deployments")),
    (("apps/v1", "deployments"), {}, ("apps/v1", "deployments")),
    (("example.com", "websites"), {}, ("example.com", "websites")),
    (("example.com", "v1", "websites"), {}, ("example.com", "v1", "websites")),
    ((), {"plural": "pods"}, ("pods",)),
    ((), {"kind": "Pod", "group": ""}, ("", "v1", "Pod")),
    ((), {"group": "kopf.dev", "version": "v1", "plural": "kopfexamples"}, ("kopf.dev", "v1", "kopfexamples")),
    ((), {"shortcut": "kex", "group": "kopf.dev"}, ("kopf.dev", "kex")),
    (("kopfexamples",), {"group": "kopf.dev", "version": "v1"}, ("kopf.dev", "v1", "kopfexamples")),
])
def test_kopfs_resource_selectors(args: tuple[str, ...], kwargs: dict[str, Any], names: tuple[str, ...]) -> None:
    assert selector(args, **kwargs) == names


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((opframe.EVERYTHING,), {}, "EVERYTHING"),
    ((lambda resource: True,), {}, "callable resource selector"),
    ((), {"category": "all"}, "category="),
    (("pods",), {"kind": "Pod"}, "ambiguous"),
    ((), {"kind": "Pod", "plural": "pods"}, "ambiguous"),
    ((), {}, "needs a resource"),
    (("a", "b", "c", "d"), {}, "at most 3"),
])
def test_selectors_opframe_cannot_serve_are_refused_with_what_to_write(
        args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        selector(args, **kwargs)


class _Record:
    def __init__(self, retries: int) -> None:
        self.retries = retries


class _Handler:
    def __init__(self, id: str) -> None:
        self.id = id


def test_lifecycles_choose_as_kopfs_do() -> None:
    handlers = [_Handler("a"), _Handler("b"), _Handler("c")]
    state = {"a": _Record(2), "b": _Record(0), "c": _Record(1)}
    assert [h.id for h in lifecycles.all_at_once(handlers)] == ["a", "b", "c"]
    assert [h.id for h in lifecycles.one_by_one(handlers)] == ["a"]
    assert [h.id for h in lifecycles.asap(handlers, state=state)] == ["b"]
    assert sorted(h.id for h in lifecycles.shuffled(handlers)) == ["a", "b", "c"]
    assert len(lifecycles.randomized(handlers)) == 1
    before = lifecycles.get_default_lifecycle()
    try:
        lifecycles.set_default_lifecycle(lifecycles.asap)
        assert opframe.get_default_lifecycle() is lifecycles.asap
        lifecycles.set_default_lifecycle(None)
        assert opframe.get_default_lifecycle() is lifecycles.all_at_once
    finally:
        lifecycles.set_default_lifecycle(before)


def test_embedding_serves_kopfs_namespaces() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        everything = settings_for(clusterwide=False, namespaces=(), namespace=None, standalone=None,
                                  peering_name=None, priority=None, liveness_endpoint=None)
    assert everything.all_namespaces and any(issubclass(w.category, FutureWarning) for w in caught)
    named = settings_for(clusterwide=False, namespaces=["a", "b-*"], namespace=None, standalone=None,
                         peering_name="mine", priority=None, liveness_endpoint="http://0.0.0.0:8080/healthz")
    assert (named.namespaces, named.all_namespaces, named.leader_election, named.lease_name,
            named.liveness_endpoint) == (["a", "b-*"], False, True, "mine", "http://0.0.0.0:8080/healthz")


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


def test_run_accepts_kopfs_flags_and_names_them_in_help() -> None:
    result = CliRunner().invoke(cli.main, ["run", "--help"])
    assert result.exit_code == 0
    for flag in ("--standalone", "--peering", "--priority", "--dev", "--liveness", "--debug", "--log-prefix",
                 "--log-refkey", "--adopt-kopf", "plain", "full"):
        assert flag in result.output


def test_run_with_kopfs_flags_reaches_the_operator_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every kopf flag parses; a missing file then stops it with opframe's one-line error."""
    result = CliRunner().invoke(cli.main, [
        "run", "--standalone", "--dev", "-p", "10", "-L", "http://0.0.0.0:8080/healthz", "-d", "--log-prefix",
        "--log-refkey", "ref", "--log-format", "full", "-n", "a,b", str(tmp_path / "missing.py")])
    assert result.exit_code == 1
    assert f"error: operator file {tmp_path / 'missing.py'} does not exist" in result.output
    logging.getLogger().handlers.clear()


def test_opframes_own_settings_are_set_and_read_through_kopfs_object() -> None:
    kopf = OperatorSettings()
    kopf.bind(Settings(workers=7))
    assert kopf.workers == 7
    kopf.success_events = True
    applied, warned = kopf.applied_to(Settings(workers=7))
    assert (applied.success_events, applied.workers, warned) == (True, 7, [])
    with pytest.raises(AttributeError, match="OperatorSettings has no setting 'sucess_events'"):
        kopf.sucess_events = True  # type: ignore[attr-defined]


def test_opframe_settings_read_before_startup_are_warned_about_not_silently_dropped() -> None:
    kopf = OperatorSettings()
    kopf.bind(Settings(namespaces=["a"]))
    kopf.namespaces = ["b"]
    kopf.qps = 10.0
    kopf.workers = 2
    applied, warned = kopf.applied_to(Settings(namespaces=["a"]))
    assert (applied.namespaces, applied.qps, applied.workers) == (["a"], Settings().qps, 2)
    assert warned == [
        "settings.namespaces = ['b'] has no effect: it is read before startup handlers run; set it with "
        "-n/--namespace or OPFRAME_NAMESPACES",
        "settings.qps = 10.0 has no effect: it is read before startup handlers run; set it with OPFRAME_QPS"]


def test_settings_a_startup_handler_sets_are_validated() -> None:
    kopf = OperatorSettings()
    kopf.workers = 0
    with pytest.raises(ValueError, match=r"a startup handler set invalid settings \(workers: Input should be greater "
                                         r"than or equal to 1\); fix the values it sets"):
        kopf.applied_to(Settings())
    kopf = OperatorSettings()
    kopf.execution.default_backoff = -1
    with pytest.raises(ValueError, match="default_backoff"):
        kopf.applied_to(Settings())


@pytest.mark.parametrize("command", ["freeze", "resume"])
def test_kopfs_peering_commands_say_what_to_use_instead(command: str) -> None:
    result = CliRunner().invoke(cli.main, [command, "--lifetime", "60", "--priority", "100"])
    assert result.exit_code == 1
    assert "opframe has no peering" in result.output and "--leader-election" in result.output
