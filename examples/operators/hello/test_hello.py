"""The getting-started operator, tested as docs/getting-started.md shows: a real local control plane
(the pytest plugin's), the operator run in-process by KopfRunner, outcomes read from the API server."""

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from opframe.testing import KopfRunner, eventually, install_crd

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


def test_a_greeting_gets_its_configmap(kube_api_client, namespace):
    greetings = install_crd(kube_api_client, yaml.safe_load((HERE / "crd.yaml").read_text()))
    custom = client.CustomObjectsApi(kube_api_client)
    core = client.CoreV1Api(kube_api_client)
    with KopfRunner(["run", "-n", namespace, str(HERE / "operator.py")], timeout=60) as runner:
        custom.create_namespaced_custom_object(greetings.group, greetings.version, namespace, greetings.plural, {
            "apiVersion": "hello.example.com/v1", "kind": "Greeting",
            "metadata": {"name": "world"}, "spec": {"text": "hello, world"}})
        made = eventually(lambda: core.read_namespaced_config_map("greeting-world", namespace),
                          what="the Greeting's ConfigMap")
        assert made.data == {"text": "hello, world"}
        assert made.metadata.owner_references[0].name == "world"

        custom.patch_namespaced_custom_object(greetings.group, greetings.version, namespace, greetings.plural,
                                              "world", {"spec": {"text": "hi"}})
        eventually(lambda: core.read_namespaced_config_map("greeting-world", namespace).data == {"text": "hi"},
                   what="the ConfigMap to follow the text")
        greeting = custom.get_namespaced_custom_object(greetings.group, greetings.version, namespace,
                                                       greetings.plural, "world")
        assert greeting["status"]["create_fn"] == {"configmap": "greeting-world"}
    # A handler with field= gets the field in its id, as in kopf.
    assert runner.handlers(f"{namespace}/world") == ["create_fn", "text_changed/spec.text"]
