"""kopf's meanings that operators ported from kopf rely on (issue 12), on the real control plane."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from operator_journal import CONFIGMAPS, Journal, configmap, journal, operator_factory

from opframe.kube import KubeClient
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e
__all__ = ["journal", "operator_factory"]  # fixtures


def test_filter_callbacks_get_the_value_and_the_handlers_kwargs(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf calls label, annotation and value callbacks as fn(value, **kwargs)."""
    operator = operator_factory('''
def wanted(value, name, body, **_):
    return value == "test" and name.startswith("yes") and body["metadata"]["name"] == name

@on.create("configmaps", labels={"app": wanted}, annotations={"team": lambda value, **_: value is None})
def created(name, **_):
    note(handler="create", name=name)

@on.create("configmaps", field="data.size", value=lambda value, namespace, **_: value == "big" and bool(namespace))
def sized(name, **_):
    note(handler="sized", name=name)
''', "-n", namespace).start()
    operator.wait_started()
    for name, data in (("yes-1", {"size": "big"}), ("no-1", {"size": "small"}), ("yes-2", {})):
        kube_client.create(CONFIGMAPS, configmap(namespace, name, **data))
    journal.wait_count(2, handler="create")
    journal.wait_count(1, handler="sized")
    operator.wait_for_output("opframe started")
    time.sleep(1.0)
    assert sorted(e["name"] for e in journal.entries(handler="create")) == ["yes-1", "yes-2"]
    assert [e["name"] for e in journal.entries(handler="sized")] == ["yes-1"]
    assert "Traceback" not in operator.output()
