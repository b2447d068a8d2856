"""Regression tests for the controller defects of issue 10, on the real control plane.

Each test names the defect it proves fixed. Operators run as their own processes
where the behaviour is seen from outside, and in-process where the test must look at
the operator's own state (its cache, its per-key maps).
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from operator_journal import CONFIGMAPS, PRELUDE, Journal, configmap, journal, operator_factory, wait_gone

from opframe.handlers.handler import Kind
from opframe.handlers.registry import Registry, make
from opframe.kube import KubeClient, Resource, errors
from opframe.runtime.operator.operator import Operator
from opframe.settings import Settings
from opframe.testing import ControlPlane, eventually
from opframe.testing.controlplane import free_port
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e
__all__ = ["journal", "operator_factory"]  # fixtures

FINALIZER = "opframe.dev/finalizer"
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASE = {"OPFRAME_LEASE_DURATION": "4", "OPFRAME_RENEW_DEADLINE": "3", "OPFRAME_RETRY_PERIOD": "0.5"}


def _finalizers(client: KubeClient, namespace: str, name: str) -> list[str]:
    return list(client.get(CONFIGMAPS, name, namespace=namespace)["metadata"].get("finalizers") or [])


# -- 1. filters must not strand finalizers ----------------------------------------------------------


@pytest.mark.parametrize("filter_", ['labels={"app": "guarded"}',
                                     'when=lambda labels, **_: labels.get("app") == "guarded"'],
                         ids=["server-side-label-selector", "client-side-when"])
def test_an_object_that_stops_matching_loses_the_finalizer_and_can_be_deleted(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess], filter_: str) -> None:
    operator = operator_factory(f'''
@on.create("configmaps", {filter_})
def created(name, **_):
    note(handler="create", name=name)

@on.delete("configmaps", {filter_})
def deleted(name, **_):
    note(handler="delete", name=name)
''', "-n", namespace).start()
    operator.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "site", labels={"app": "guarded"}))
    journal.wait_count(1, handler="create", name="site")
    eventually(lambda: FINALIZER in _finalizers(kube_client, namespace, "site"), what="our finalizer")
    kube_client.patch(CONFIGMAPS, "site", {"metadata": {"labels": {"app": "elsewhere"}}}, namespace=namespace)
    eventually(lambda: FINALIZER not in _finalizers(kube_client, namespace, "site"),
               what="the finalizer released when the label went")
    kube_client.delete(CONFIGMAPS, "site", namespace=namespace)
    wait_gone(kube_client, "site", namespace, timeout=10)
    assert journal.entries(handler="delete") == []  # it no longer matched the delete handler


# -- 2. two operators on the same objects must not feed each other ------------------------------------


def test_two_operators_with_different_prefixes_handle_one_update_once_each(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    code = '''
@on.update("configmaps")
def updated(name, **_):
    note(handler="update", name=name, prefix=os.environ.get("OPFRAME_PREFIX", "opframe.dev"))

@on.create("configmaps")
def created(name, **_):
    note(handler="create", name=name, prefix=os.environ.get("OPFRAME_PREFIX", "opframe.dev"))
'''
    first = operator_factory(code, "-n", namespace)
    second = operator_factory(code, "-n", namespace)
    second.env["OPFRAME_PREFIX"] = "second.example"
    first.start().wait_started()
    second.start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "shared", k="1"))
    journal.wait_count(2, handler="create", name="shared")
    time.sleep(1.0)  # both wrote their bookkeeping: neither must see the other's as an update
    assert journal.entries(handler="update") == []
    kube_client.patch(CONFIGMAPS, "shared", {"data": {"k": "2"}}, namespace=namespace)
    journal.wait_count(2, handler="update", name="shared")
    time.sleep(3.0)  # a ping-pong would show up here as more updates
    updates = journal.entries(handler="update")
    assert sorted(e["prefix"] for e in updates) == ["opframe.dev", "second.example"], updates
    annotations = kube_client.get(CONFIGMAPS, "shared", namespace=namespace)["metadata"]["annotations"]
    assert annotations["opframe.dev/kopf-managed"] == "yes"
    assert annotations["second.example/kopf-managed"] == "yes"


def test_kopfs_bookkeeping_writes_are_no_change(kube_client: KubeClient, namespace: str, journal: Journal,
                                               operator_factory: Callable[..., OperatorProcess]) -> None:
    """What a kopf operator writes after handling (its diff-base and progress under its
    default prefix, or under its own prefix with the marker) is not an update for us."""
    operator = operator_factory('''
@on.update("configmaps")
def updated(name, **_):
    note(handler="update", name=name)
''', "-n", namespace).start()
    operator.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "beside-kopf", k="1"))
    eventually(lambda: "opframe.dev/last-handled-configuration" in kube_client.get(
        CONFIGMAPS, "beside-kopf", namespace=namespace)["metadata"].get("annotations", {}), what="our diff-base")
    kube_client.patch(CONFIGMAPS, "beside-kopf", {"metadata": {"annotations": {
        "kopf.zalando.org/last-handled-configuration": '{"data": {"k": "1"}}',
        "kopf.zalando.org/touch-dummy": "2026-12-01T00:00:00"}}}, namespace=namespace)
    kube_client.patch(CONFIGMAPS, "beside-kopf", {"metadata": {"annotations": {
        "team-op.example/kopf-managed": "yes", "team-op.example/create_fn": '{"started": "x"}'}}},
        namespace=namespace)
    kube_client.patch(CONFIGMAPS, "beside-kopf", {"data": {"k": "2"}}, namespace=namespace)
    journal.wait_count(1, handler="update")
    time.sleep(1.0)
    assert len(journal.entries(handler="update")) == 1


# -- 3. standbys run no user code and queue nothing ---------------------------------------------------


def test_a_standby_runs_no_event_handler_and_no_index_function(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, journal: Journal,
        tmp_path: Path) -> None:
    source = tmp_path / "elected.py"
    source.write_text(PRELUDE + '''
@on.event("configmaps")
def seen(name, type, **_):
    note(handler="event", name=name, pid=os.getpid())

@opframe.index("configmaps")
def by_name(name, **_):
    note(handler="index", name=name, pid=os.getpid())
    return {name: True}

@on.create("configmaps")
def created(name, by_name, **_):
    note(handler="create", name=name, pid=os.getpid(), indexed=name in by_name)
''')
    replicas: list[OperatorProcess] = []
    standby_port = free_port()
    try:
        for health in ([], ["--health-port", str(standby_port)]):
            replicas.append(OperatorProcess(
                [source], kubeconfig=control_plane.kubeconfig,
                args=["-n", namespace, "--leader-election", "--lease-name", "defects", "--lease-namespace",
                      namespace, *health], env={"JOURNAL": str(journal.path), **LEASE}).start())
            if len(replicas) == 1:
                replicas[0].wait_started()
        replicas[1].wait_for_output("waiting to lead lease")
        for i in range(5):
            kube_client.create(CONFIGMAPS, configmap(namespace, f"watched-{i}"))
        journal.wait_count(5, handler="create")
        time.sleep(1.0)
        leader = replicas[0].pid
        assert {e["pid"] for e in journal.entries(handler="event")} == {leader}
        assert {e["pid"] for e in journal.entries(handler="index")} == {leader}
        assert all(e["indexed"] for e in journal.entries(handler="create"))
        with urllib.request.urlopen(f"http://127.0.0.1:{standby_port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        adds = [line for line in metrics.splitlines() if line.startswith('workqueue_adds_total{name="configmaps"}')]
        assert adds == ['workqueue_adds_total{name="configmaps"} 0.0'], adds  # the standby queued nothing
        replicas[0].stop()  # graceful: the standby takes over at once, its index built before it handles
        replicas[1].wait_started(timeout=20)
        kube_client.create(CONFIGMAPS, configmap(namespace, "after-takeover"))
        handled = journal.wait_count(1, handler="create", name="after-takeover")[0]
        assert handled["pid"] == replicas[1].pid and handled["indexed"]
        index_runs = {e["name"] for e in journal.entries(handler="index", pid=replicas[1].pid)}
        assert {f"watched-{i}" for i in range(5)} <= index_runs  # rebuilt from the warm cache on takeover
    finally:
        for replica in replicas:
            replica.stop()
            replica.cleanup()


# -- 4. explicit namespaces work with Roles in just those namespaces -----------------------------------


ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")


@pytest.fixture
def two_namespaces(kube_client: KubeClient, namespace: str) -> Iterator[tuple[str, str]]:
    other = f"b-{namespace[:55]}"
    kube_client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    yield namespace, other
    with contextlib.suppress(errors.NotFound):
        kube_client.delete(NAMESPACES, other)


def _namespaced_account(kube_client: KubeClient, control_plane: ControlPlane, home: str, namespaces: tuple[str, ...],
                        tmp_path: Path) -> Path:
    kube_client.create(ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "scoped", "namespace": home}})
    for ns in namespaces:
        kube_client.create(ROLES, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                   "metadata": {"name": "scoped", "namespace": ns},
                                   "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                              "verbs": ["get", "list", "watch", "patch"]},
                                             {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]})
        kube_client.create(ROLE_BINDINGS, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                           "metadata": {"name": "scoped", "namespace": ns},
                                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                       "name": "scoped"},
                                           "subjects": [{"kind": "ServiceAccount", "name": "scoped",
                                                         "namespace": home}]})
    token = kube_client.create(ACCOUNTS, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                          "spec": {"expirationSeconds": 600}},
                               namespace=home, name="scoped", subresource="token")["status"]["token"]
    return control_plane.token_kubeconfig(tmp_path / "scoped", token, namespace=home)


def test_explicit_namespaces_need_only_roles_in_them(
        control_plane: ControlPlane, kube_client: KubeClient, two_namespaces: tuple[str, str], journal: Journal,
        tmp_path: Path) -> None:
    first, second = two_namespaces
    kubeconfig = _namespaced_account(kube_client, control_plane, first, two_namespaces, tmp_path)
    source = tmp_path / "scoped.py"
    source.write_text(PRELUDE + '''
@on.create("configmaps", labels={"app": "test"})
def created(name, namespace, **_):
    note(handler="create", name=name, namespace=namespace)
''')
    with OperatorProcess([source], kubeconfig=kubeconfig, args=["-n", first, "-n", second],
                         env={"JOURNAL": str(journal.path)}) as operator:
        operator.wait_started()
        for ns in two_namespaces:
            kube_client.create(CONFIGMAPS, configmap(ns, "scoped-object"))
        journal.wait_count(2, handler="create")
        assert {e["namespace"] for e in journal.entries(handler="create")} == set(two_namespaces)
    with OperatorProcess([source], kubeconfig=kubeconfig, args=["-n", f"{first[:20]}*"],
                         env={"JOURNAL": str(journal.path)}) as globbed:
        assert globbed.wait() != 0
        output = globbed.output()
        assert "RBAC forbids the operator to list configmaps cluster-wide; watch configmaps cluster-wide" in output
        assert "ClusterRole and ClusterRoleBinding" in output


# -- 5 and 6: per-key state and the cache's own dicts (in-process: the test reads the operator's state) ------


@pytest.fixture
def in_process(control_plane: ControlPlane) -> Iterator[Callable[[Registry, list[str]], Operator]]:
    operators: list[Operator] = []

    def start(registry: Registry, namespaces: list[str]) -> Operator:
        operator = Operator(Settings(kubeconfig=str(control_plane.kubeconfig), namespaces=namespaces,
                                     shutdown_timeout=5), registry)
        operators.append(operator)
        operator.prepare()
        operator.start()
        return operator

    yield start
    for operator in operators:
        operator.stop()


def test_nothing_per_key_outlives_its_key(kube_client: KubeClient, two_namespaces: tuple[str, str],
                                          in_process: Callable[[Registry, list[str]], Operator]) -> None:
    served, other = two_namespaces
    handled: list[str] = []
    registry = Registry()
    registry.add(make(Kind.CREATE, lambda name, **_: handled.append(name), ("configmaps",), id="created"))
    registry.add(make(Kind.EVENT, lambda **_: None, ("configmaps",), id="seen"))
    operator = in_process(registry, [f"{served}*"])  # a glob: one cluster-wide watch, filtered here
    controller = next(iter(operator.controllers.values()))
    for ns in (served, other):
        for i in range(10):
            kube_client.create(CONFIGMAPS, configmap(ns, f"brief-{i}"))
    eventually(lambda: len(handled) >= 10, what="the served namespace's objects handled")
    for ns in (served, other):
        for i in range(10):
            kube_client.delete(CONFIGMAPS, f"brief-{i}", namespace=ns)
    eventually(lambda: controller.tracked_keys() == 0 and len(controller.queue) == 0,
               what=lambda: f"per-key state released (tracked {controller.tracked_keys()})")
    assert sorted(handled) == sorted(f"brief-{i}" for i in range(10))


def test_user_callables_cannot_corrupt_the_cache(kube_client: KubeClient, namespace: str,
                                                 in_process: Callable[[Registry, list[str]], Operator]) -> None:
    def vandal(body: dict[str, Any], **_: Any) -> bool:
        body["data"]["k"] = "vandalised"
        body["metadata"]["labels"]["app"] = "vandalised"
        return True

    handled: list[dict[str, Any]] = []
    registry = Registry()
    registry.add(make(Kind.EVENT, vandal, ("configmaps",), id="event"))
    registry.add(make(Kind.INDEX, vandal, ("configmaps",), id="index"))
    registry.add(make(Kind.CREATE, lambda body, **_: handled.append(body), ("configmaps",), id="created",
                      when=vandal))
    operator = in_process(registry, [namespace])
    kube_client.create(CONFIGMAPS, configmap(namespace, "pristine", k="original"))
    eventually(lambda: len(handled) == 1, what="the create handler")
    informer = next(iter(operator.informers.values()))
    cached = informer.indexer.get_by_key(f"{namespace}/pristine")
    assert cached is not None
    assert cached["data"] == {"k": "original"} and cached["metadata"]["labels"] == {"app": "test"}
    assert handled[0]["data"] == {"k": "original"}  # the handler's copy is not the filter's either


# -- 9. async handlers run concurrently, a blocking one stalls nothing after it, async daemons await -------


def test_async_handlers_of_different_objects_overlap_beyond_the_worker_count(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
import asyncio

@on.create("configmaps")
async def created(name, **_):
    begun = time.time()
    await asyncio.sleep(1.0)
    note(handler="create", name=name, begun=begun, ended=time.time())
''', "-n", namespace)
    operator.env["OPFRAME_WORKERS"] = "2"
    operator.start().wait_started()
    for i in range(20):
        kube_client.create(CONFIGMAPS, configmap(namespace, f"async-{i}"))
    entries = journal.wait_count(20, handler="create", timeout=60)
    # Most handlers in progress at one instant: with a worker parked per handler it could be at most 2.
    overlap = max(sum(1 for e in entries if e["begun"] <= moment < e["ended"]) for moment in
                  (e["begun"] for e in entries))
    assert overlap > 2, overlap


def test_a_blocking_call_in_an_async_handler_does_not_stall_the_others_and_is_reported(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
import asyncio

@on.create("configmaps")
async def created(name, **_):
    note(handler="begin", name=name, at=time.time())
    if name == "blocker":
        time.sleep(3.0)  # blocking: the mistake this test makes on purpose
    else:
        await asyncio.sleep(0.05)
    note(handler="end", name=name, at=time.time())
''', "-n", namespace).start()
    operator.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "blocker"))
    journal.wait_count(1, handler="begin", name="blocker")
    time.sleep(0.3)
    for i in range(5):
        kube_client.create(CONFIGMAPS, configmap(namespace, f"polite-{i}"))
    blocker_end = journal.wait_count(1, handler="end", name="blocker")[0]["at"]
    ends = journal.wait_count(6, handler="end")
    assert all(e["at"] < blocker_end for e in ends if e["name"] != "blocker"), ends
    operator.wait_for_output("blocked its event loop")
    assert "created blocker" in operator.output() or f"created {namespace}/blocker" in operator.output()


def test_an_async_daemon_awaits_stopped_wait_and_ends_on_deletion(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
@opframe.daemon("configmaps", cancellation_timeout=30)
async def watcher(name, stopped, **_):
    note(handler="daemon-start", name=name)
    while not await stopped.wait(60):
        pass
    note(handler="daemon-stop", name=name, at=time.time())
''', "-n", namespace).start()
    operator.wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "guarded"))
    journal.wait_count(1, handler="daemon-start")
    deleted_at = time.time()
    kube_client.delete(CONFIGMAPS, "guarded", namespace=namespace)
    stopped = journal.wait_count(1, handler="daemon-stop", timeout=20)[0]
    assert stopped["at"] - deleted_at < 20  # woken by the stop, well before its 60 s wait or the cancellation
    wait_gone(kube_client, "guarded", namespace)
