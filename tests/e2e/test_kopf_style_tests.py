"""A kopf-style test, as kopf's docs write one: ``KopfRunner(["run", ..., "operator.py"])`` with no
kubeconfig, a CRD installed through the ``kubernetes`` client the plugin hands out, and a startup
handler that logs in with ``kubernetes.config.load_kube_config()``. Inside the plugin's session all
of it reaches the session's control plane, never a kubeconfig the machine happens to have."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import Resource
from opframe.testing import KopfRunner, eventually, install_crd

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "greetings.kopfstyle.example.com"},
    "spec": {"group": "kopfstyle.example.com", "scope": "Namespaced",
             "names": {"plural": "greetings", "singular": "greeting", "kind": "Greeting"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}
OPERATOR = '''
import kubernetes
import opframe as kopf


@kopf.on.startup()
def login(**_):
    kubernetes.config.load_kube_config()  # what many kopf operators do first


@kopf.on.create("greetings.kopfstyle.example.com")
def greet(namespace, name, spec, **_):
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, {
        "metadata": {"name": f"greeting-{name}"}, "data": {"text": spec["text"]}})
'''


def test_a_kopf_style_test_runs_against_the_session_cluster(
        kube_api_client: Any, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import kubernetes

    default_before = kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    # As an earlier `-q` run in the same process leaves the root logger: the runner's notice must still be said.
    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    # The machine's own kubeconfig (here: one that does not exist) is never what the runner uses.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "the-users-own-kubeconfig"))
    greetings = install_crd(kube_api_client, CRD)
    operator = tmp_path / "operator.py"
    operator.write_text(OPERATOR)
    custom = kubernetes.client.CustomObjectsApi(kube_api_client)
    with KopfRunner(["run", "-n", namespace, "--standalone", str(operator)], timeout=60) as runner:
        assert runner.wait_ready(60), runner.log
        custom.create_namespaced_custom_object(greetings.group, greetings.version, namespace, greetings.plural, {
            "apiVersion": "kopfstyle.example.com/v1", "kind": "Greeting",
            "metadata": {"name": "hello"}, "spec": {"text": "hello, world"}})
        made = eventually(lambda: kubernetes.client.CoreV1Api(kube_api_client).read_namespaced_config_map(
            "greeting-hello", namespace), what="the handler's ConfigMap", timeout=30)
        assert made.data == {"text": "hello, world"}
    assert runner.exit_code == 0 and runner.exception is None
    assert runner.handlers(f"{namespace}/hello") == ["greet"]
    assert "runs against the test session's control plane" in runner.log
    # What the run exported for its handlers is undone: the test's environment is as it was.
    assert os.environ["KUBECONFIG"] == str(tmp_path / "the-users-own-kubeconfig")
    assert default_before == kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION
