"""kopf's meanings that operators ported from kopf rely on (issue 12), on the real control plane."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from operator_journal import CONFIGMAPS, Journal, configmap, journal, operator_factory

from opframe.kube import KubeClient
from opframe.testing import eventually
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


def test_patch_fns_change_the_object_as_a_json_patch(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf's patch.fns: functions of the raw body, sent as a JSON patch after the merge patch."""
    operator = operator_factory('''
def mark_seen(body):
    body["metadata"]["labels"]["seen"] = "yes"
    body["metadata"]["annotations"] = {**(body["metadata"].get("annotations") or {}), "by": "fn"}

@on.create("configmaps")
def created(patch, name, **_):
    patch.metadata.labels["merged"] = "yes"
    patch.fns.append(mark_seen)
    note(handler="create", name=name)
''', "-n", namespace).start()
    operator.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "fn"))
    journal.wait_count(1, handler="create")

    def done() -> dict[str, str] | None:
        metadata = kube_client.get(CONFIGMAPS, "fn", namespace=namespace)["metadata"]
        return metadata if metadata.get("labels", {}).get("seen") == "yes" else None

    metadata = eventually(done, what="the fn's change on the object")
    assert metadata["labels"]["merged"] == "yes"  # the merge patch was written too
    assert metadata["annotations"]["by"] == "fn"
    assert "Traceback" not in operator.output()


def test_kopfs_cause_rules_field_presence_resume_mixing_and_when_kwargs(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf's rules: field= without value= needs the field; resume handlers join the first update
    after a restart; when= gets the cause's reason and diff."""
    code = '''
@on.create("configmaps", field="data.x")
def needs_x(name, **_):
    note(handler="needs_x", name=name)

@on.resume("configmaps")
def resumed(name, **_):
    note(handler="resume", name=name)

@on.update("configmaps", when=lambda reason, diff, **_: reason == "update" and len(diff) == 1)
def updated(name, diff, **_):
    note(handler="update", name=name, field=list(diff[0].field))
'''
    first = operator_factory(code, "-n", namespace).start()
    first.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "with-x", x="1"))
    kube_client.create(CONFIGMAPS, configmap(namespace, "without-x", y="1"))
    journal.wait_count(1, handler="needs_x")

    def handled(name: str) -> bool:
        annotations = kube_client.get(CONFIGMAPS, name, namespace=namespace)["metadata"].get("annotations") or {}
        return "opframe.dev/last-handled-configuration" in annotations

    eventually(lambda: handled("with-x") and handled("without-x"), what="both handled")
    first.stop()
    assert [e["name"] for e in journal.entries(handler="needs_x")] == ["with-x"]
    kube_client.patch(CONFIGMAPS, "with-x", {"data": {"x": "2"}}, namespace=namespace)
    operator_factory(code, "-n", namespace).start().wait_started()
    journal.wait_count(2, handler="resume")
    journal.wait_count(1, handler="update")
    time.sleep(1.0)
    assert sorted(e["name"] for e in journal.entries(handler="resume")) == ["with-x", "without-x"]
    assert [(e["name"], e["field"]) for e in journal.entries(handler="update")] == [("with-x", ["data", "x"])]


def test_a_failing_timer_is_retried_with_its_count_before_the_next_interval(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf retries a timer that raised (errors=, backoff=) and gives it retry and stopped."""
    operator_factory('''
@opframe.timer("configmaps", interval=60, backoff=0.5)
def ticking(name, retry, stopped, started, **_):
    note(handler="timer", name=name, retry=retry, stopped=bool(stopped), started=str(started))
    if retry < 2:
        raise RuntimeError("again")
''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "t"))
    entries = journal.wait_count(3, timeout=20, handler="timer")
    assert [e["retry"] for e in entries] == [0, 1, 2]  # well before the 60 s interval
    assert not any(e["stopped"] for e in entries)
    assert len({e["started"] for e in entries}) == 1  # the first attempt's time, kept across retries
    time.sleep(1.5)
    assert len(journal.entries(handler="timer")) == 3  # then the interval


def test_a_daemons_body_is_live_as_in_kopf(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf's daemons read the object's latest state through the body/spec/meta they were given."""
    operator_factory('''
@opframe.daemon("configmaps")
def watcher(stopped, name, body, meta, labels, **_):
    seen = None
    while not stopped.wait(0.1):
        now = (body["data"]["v"], labels.get("l"), meta["labels"].get("l"))
        if now != seen:
            note(handler="daemon", name=name, v=now[0], l=now[1], meta_l=now[2])
            seen = now
''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "d", labels={"app": "test", "l": "1"}, v="1"))
    journal.wait_count(1, handler="daemon")
    kube_client.patch(CONFIGMAPS, "d", {"data": {"v": "2"}, "metadata": {"labels": {"l": "2"}}}, namespace=namespace)
    entries = journal.wait_count(2, handler="daemon")
    assert [(e["v"], e["l"], e["meta_l"]) for e in entries[:2]] in (
        [("1", "1", "1"), ("2", "2", "2")], [("1", "1", "1"), ("2", "1", "1")])
    eventually(lambda: (journal.entries(handler="daemon")[-1]["v"], journal.entries(handler="daemon")[-1]["l"])
               == ("2", "2"), what="the daemon to see the new state")


def test_optional_delete_handlers_run_once(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """Held by a mandatory delete handler, an optional one runs in the deletion (kopf's rule) and not
    again when the object is gone; an object deleted at once gets it from its last body."""
    operator_factory('''
@on.delete("configmaps", labels={"kind": "held"})
def mandatory(name, **_):
    note(handler="mandatory", name=name)

@on.delete("configmaps", optional=True)
def optional(name, **_):
    note(handler="optional", name=name)
''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "held", labels={"app": "test", "kind": "held"}))
    kube_client.create(CONFIGMAPS, configmap(namespace, "free"))
    eventually(lambda: "opframe.dev/finalizer" in (kube_client.get(CONFIGMAPS, "held", namespace=namespace)
                                                   ["metadata"].get("finalizers") or []), what="the finalizer")
    kube_client.delete(CONFIGMAPS, "held", namespace=namespace)
    kube_client.delete(CONFIGMAPS, "free", namespace=namespace)
    journal.wait_count(2, handler="optional")
    journal.wait_count(1, handler="mandatory")
    time.sleep(1.5)
    assert sorted(e["name"] for e in journal.entries(handler="optional")) == ["free", "held"]
    assert [e["name"] for e in journal.entries(handler="mandatory")] == ["held"]
