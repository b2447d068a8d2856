"""More of `opframe run` on the real control plane: event handlers, async handlers, timers,
daemons, filters, modules, JSON logs, graceful shutdown, other objects flowing during retries."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from operator_journal import CONFIGMAPS, Journal, configmap, journal, operator_factory, wait_gone

from opframe.kube import KubeClient
from opframe.testing import ControlPlane
from opframe.testing.operator import OperatorProcess

__all__ = ["journal", "operator_factory"]  # fixtures

pytestmark = pytest.mark.e2e


def test_event_handlers_see_every_event_and_errors_do_not_retry(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    kube_client.create(CONFIGMAPS, configmap(namespace, "early"))
    operator_factory('''
    @on.event("configmaps", labels={"app": "test"})
    def every(type, name, event, **_):
        note(handler="event", type=type, name=name, rv=event["object"]["metadata"]["resourceVersion"])
        if name == "raises":
            raise RuntimeError("event handlers are never retried")
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "e", v="1"))
    kube_client.patch(CONFIGMAPS, "e", {"data": {"v": "2"}}, namespace=namespace)
    kube_client.delete(CONFIGMAPS, "e", namespace=namespace)
    events = journal.wait_count(3, handler="event", name="e")
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    # kopf's rule: an object of the initial listing comes with type None (and so does event["type"]).
    # (A relist, after a watch the loaded API server let stall, lists it again: with type None again.)
    early = journal.entries(handler="event", name="early")
    assert early and {e["type"] for e in early} == {None}
    kube_client.create(CONFIGMAPS, configmap(namespace, "raises"))
    journal.wait_count(1, handler="event", name="raises")
    time.sleep(1.0)
    assert len(journal.entries(handler="event", name="raises")) == 1


def test_async_handlers_run_like_sync_ones(kube_client: KubeClient, namespace: str, journal: Journal,
                                           operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    import asyncio

    @on.create("configmaps", labels={"app": "test"})
    async def created(name, retry, **_):
        await asyncio.sleep(0.1)
        note(handler="async", name=name, retry=retry)
        if retry == 0:
            raise opframe.TemporaryError("once more", delay=0.2)
        return {"async": True}
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "a"))
    calls = journal.wait_count(2, handler="async", name="a")
    assert [c["retry"] for c in calls] == [0, 1]


def test_timers_repeat_through_the_queue_and_stop_with_the_object(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @opframe.timer("configmaps", interval=0.5, labels={"app": "test"})
    def tick(name, **_):
        note(handler="tick", name=name, at=time.time())
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "t"))
    ticks = journal.wait_count(4, handler="tick", name="t")
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(ticks)]
    assert all(0.4 <= gap <= 2.0 for gap in gaps), gaps
    assert "opframe.dev/finalizer" in kube_client.get(CONFIGMAPS, "t", namespace=namespace)["metadata"]["finalizers"]
    kube_client.delete(CONFIGMAPS, "t", namespace=namespace)
    wait_gone(kube_client, "t", namespace)
    count = len(journal.entries(handler="tick"))
    time.sleep(1.5)
    assert len(journal.entries(handler="tick")) <= count + 1


def test_daemons_stop_on_filter_mismatch_and_on_deletion(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @opframe.daemon("configmaps", labels={"app": "test"}, annotations={"daemon": opframe.PRESENT})
    def worker(name, stopped, **_):
        note(handler="daemon-start", name=name)
        while not stopped.wait(0.1):
            pass
        note(handler="daemon-stop", name=name)
    ''', "-n", namespace).start().wait_started()
    body = configmap(namespace, "d1")
    body["metadata"]["annotations"] = {"daemon": "yes"}
    kube_client.create(CONFIGMAPS, body)
    journal.wait_count(1, handler="daemon-start", name="d1")
    kube_client.patch(CONFIGMAPS, "d1", {"metadata": {"annotations": {"daemon": None}}}, namespace=namespace)
    journal.wait_count(1, handler="daemon-stop", name="d1")
    body = configmap(namespace, "d2")
    body["metadata"]["annotations"] = {"daemon": "yes"}
    kube_client.create(CONFIGMAPS, body)
    journal.wait_count(1, handler="daemon-start", name="d2")
    kube_client.delete(CONFIGMAPS, "d2", namespace=namespace)
    journal.wait_count(1, handler="daemon-stop", name="d2")
    wait_gone(kube_client, "d2", namespace)


def test_annotation_value_and_when_filters(kube_client: KubeClient, namespace: str, journal: Journal,
                                           operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @on.create("configmaps", annotations={"team": "blue"}, when=lambda body, **_: body["data"].get("go") == "yes")
    def chosen(name, **_):
        note(handler="chosen", name=name)

    @on.update("configmaps", field="data.size", value=lambda v: v is not None and int(v) > 10)
    def big(name, new, **_):
        note(handler="big", name=name, size=new)
    ''', "-n", namespace).start().wait_started()
    for name, team, go in (("match", "blue", "yes"), ("wrong-team", "red", "yes"), ("wrong-when", "blue", "no")):
        body = configmap(namespace, name, go=go, size="1")
        body["metadata"]["annotations"] = {"team": team}
        kube_client.create(CONFIGMAPS, body)
    journal.wait_count(1, handler="chosen", name="match")
    kube_client.patch(CONFIGMAPS, "match", {"data": {"size": "5"}}, namespace=namespace)
    kube_client.patch(CONFIGMAPS, "match", {"data": {"size": "50"}}, namespace=namespace)
    big = journal.wait_count(1, handler="big", name="match")
    time.sleep(1.0)
    assert [e["name"] for e in journal.entries(handler="chosen")] == ["match"]
    assert [e["size"] for e in journal.entries(handler="big")] == ["50"] == [b["size"] for b in big]


def test_a_retrying_object_does_not_hold_up_others(kube_client: KubeClient, namespace: str, journal: Journal,
                                                   operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def created(name, **_):
        note(handler="create", name=name, at=time.time())
        if name == "stuck":
            raise opframe.TemporaryError("stuck", delay=30)
    ''', "-n", namespace, "--workers", "1").start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "stuck"))
    journal.wait_count(1, handler="create", name="stuck")
    started = time.time()
    for i in range(5):
        kube_client.create(CONFIGMAPS, configmap(namespace, f"free-{i}"))
    for i in range(5):
        journal.wait_count(1, handler="create", name=f"free-{i}", timeout=10)
    assert max(e["at"] for e in journal.entries(handler="create") if e["name"].startswith("free")) - started < 5


def test_graceful_shutdown_lets_a_running_handler_finish_and_persists_it(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def slow(name, **_):
        note(handler="slow-start", name=name)
        time.sleep(2)
        note(handler="slow-end", name=name)
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "g"))
    journal.wait_count(1, handler="slow-start", name="g")
    assert operator.stop() == 0
    assert journal.entries(handler="slow-end", name="g")
    annotations = kube_client.get(CONFIGMAPS, "g", namespace=namespace)["metadata"].get("annotations", {})
    assert "opframe.dev/last-handled-configuration" in annotations


def test_module_operator_and_json_logs(control_plane: ControlPlane, kube_client: KubeClient, namespace: str,
                                       tmp_path: Path, journal: Journal) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text(
        "import json, os\nfrom opframe import on\n\n"
        "@on.create('configmaps', labels={'app': 'test'})\n"
        "def created(name, logger, **_):\n"
        "    logger.info('hello from a module')\n"
        "    open(os.environ['JOURNAL'], 'a').write(json.dumps({'handler': 'module', 'name': name}) + '\\n')\n")
    with OperatorProcess([], kubeconfig=control_plane.kubeconfig,
                         args=["-m", "mypkg.ops", "-n", namespace, "--log-format", "json"],
                         env={"JOURNAL": str(journal.path), "PYTHONPATH": str(tmp_path)}) as operator:
        operator.wait_started()
        kube_client.create(CONFIGMAPS, configmap(namespace, "m"))
        journal.wait_count(1, handler="module", name="m")
        operator.wait_for_output("hello from a module")
        assert operator.stop() == 0
        records = [json.loads(line) for line in operator.output().splitlines() if line.startswith("{")]
        hello = next(r for r in records if "hello from a module" in r["message"])
        assert hello["level"] == "INFO" and hello["object"] == f"{namespace}/m"


def test_startup_and_cleanup_handlers_run_once_around_the_operator(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
    @on.startup()
    def begin(memo, **_):
        memo.greeting = "hello"
        note(handler="startup")

    @on.create("configmaps", labels={"app": "test"})
    def created(name, memo, **_):
        note(handler="create", name=name, greeting=memo.greeting)

    @on.cleanup()
    def end(memo, **_):
        note(handler="cleanup", greeting=memo.greeting)
    ''', "-n", namespace).start().wait_started()
    assert len(journal.entries(handler="startup")) == 1
    kube_client.create(CONFIGMAPS, configmap(namespace, "s"))
    assert journal.wait_count(1, handler="create", name="s")[0]["greeting"] == "hello"
    assert operator.stop() == 0
    assert [e["greeting"] for e in journal.entries(handler="cleanup")] == ["hello"]


def test_idle_timer_waits_until_the_object_is_quiet(kube_client: KubeClient, namespace: str, journal: Journal,
                                                   operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @opframe.timer("configmaps", interval=0.3, idle=2.0, labels={"app": "test"})
    def quiet(name, **_):
        note(handler="quiet", name=name, at=time.time())
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "q", n="0"))
    journal.wait_count(1, handler="quiet", name="q")
    busy_until = time.time() + 2.0
    n = 0
    while time.time() < busy_until:  # keep changing it: the timer must hold off
        n += 1
        kube_client.patch(CONFIGMAPS, "q", {"data": {"n": str(n)}}, namespace=namespace)
        time.sleep(0.2)
    last_change = time.time()
    during = [e for e in journal.entries(handler="quiet") if busy_until - 1.5 < e["at"] < last_change]
    assert during == [], during
    after = journal.wait_count(len(journal.entries(handler="quiet")) + 1, handler="quiet", name="q")
    assert after[-1]["at"] - last_change >= 1.5


def test_async_daemon_is_cancelled_after_its_cancellation_timeout(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    import asyncio

    @opframe.daemon("configmaps", labels={"app": "test"}, cancellation_timeout=0.5)
    async def stubborn(name, **_):
        note(handler="daemon-start", name=name)
        try:
            await asyncio.sleep(3600)  # ignores `stopped`
        except asyncio.CancelledError:
            note(handler="daemon-cancelled", name=name)
            raise
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "c"))
    journal.wait_count(1, handler="daemon-start", name="c")
    kube_client.delete(CONFIGMAPS, "c", namespace=namespace)
    journal.wait_count(1, handler="daemon-cancelled", name="c", timeout=10)
    wait_gone(kube_client, "c", namespace)


def test_two_names_for_one_resource_share_an_informer_that_serves_both(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def labelled(name, **_):
        note(handler="labelled", name=name)

    @on.create("", "v1", "configmaps")
    def everything(name, **_):
        note(handler="everything", name=name)
    ''', "-n", namespace).start().wait_started()
    assert "configmaps (2 handlers)" in operator.output()
    kube_client.create(CONFIGMAPS, configmap(namespace, "with-label"))
    plain = configmap(namespace, "without-label")
    plain["metadata"]["labels"] = {}
    kube_client.create(CONFIGMAPS, plain)
    journal.wait_count(1, handler="everything", name="without-label")
    journal.wait_count(1, handler="everything", name="with-label")
    journal.wait_count(1, handler="labelled", name="with-label")
    time.sleep(0.5)
    assert journal.entries(handler="labelled", name="without-label") == []


def test_without_namespace_flags_every_namespace_is_served_with_a_warning_as_kopf_does(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    from operator_journal import NAMESPACES

    other = f"{namespace[:50]}-other"
    kube_client.create(NAMESPACES, {"metadata": {"name": other}})
    try:
        label = {"app": f"everywhere-{namespace[-8:]}"}
        operator = operator_factory(f'''
        @on.create("configmaps", labels={label!r})
        def created(name, namespace, **_):
            note(handler="created", name=name, namespace=namespace)
        ''')  # neither -n nor -A
        operator.start().wait_started()
        kube_client.create(CONFIGMAPS, configmap(namespace, "here", labels=label))
        kube_client.create(CONFIGMAPS, configmap(other, "there", labels=label))
        seen = journal.wait_count(2, handler="created")
        assert {(e["namespace"], e["name"]) for e in seen} == {(namespace, "here"), (other, "there")}
        assert "neither -n nor -A given: serving every namespace (cluster-wide), as kopf does" in operator.output()
    finally:
        kube_client.delete(NAMESPACES, other)
