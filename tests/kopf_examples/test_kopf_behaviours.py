"""kopf behaviours beyond its examples, on kopf's example CRD (it has a status subresource), with
operators written as a kopf user writes them and run in-process by KopfRunner."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kopf_ports import DIFF_BASE, FINALIZER, NAME, get, gone

from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.testing import ControlPlane, KopfRunner, eventually, install_crd

pytestmark = pytest.mark.e2e


def test_timers_daemons_and_sub_handlers_as_kopf_runs_them(example: Callable[..., KopfRunner],
                                                           kube_client: KubeClient, kex: Resource, namespace: str,
                                                           obj: dict[str, Any]) -> None:
    """An async timer awaits its ``stopped``; an idle-only timer runs once per quiet period; a daemon
    adopts a child without ``owner=``; sub-handlers' results land in status under ``parent/sub``."""
    example(source='''
        import opframe as kopf

        runs = {"quiet": 0}

        @kopf.timer("kopfexamples", interval=0.5)
        async def ticking(stopped, **_):
            return {"stopped_is_awaitable": (await stopped.wait(0.01)) is False}

        @kopf.timer("kopfexamples", idle=1.5)
        def quiet(**_):
            runs["quiet"] += 1
            return runs["quiet"]

        @kopf.daemon("kopfexamples")
        def adopting(stopped, **_):
            child = {"metadata": {}}
            kopf.adopt(child)
            return child["metadata"]["ownerReferences"][0]["uid"]

        @kopf.on.create("kopfexamples")
        def create_fn(spec, **_):
            for item in spec.get("items", []):
                @kopf.subhandler(id=item)
                def create_item(item=item, **_):
                    return {"item": item}
            return "parent"
        ''')
    uid = kube_client.create(kex, obj, namespace=namespace)["metadata"]["uid"]

    def status() -> dict[str, Any]:
        return get(kube_client, kex, namespace).get("status") or {}

    eventually(lambda: status().get("ticking") == {"stopped_is_awaitable": True}, what="the async timer's result")
    eventually(lambda: status().get("adopting") == uid, what="the daemon adopting without owner=")
    body_status = eventually(lambda: status() if "create_fn" in status() else None, what="the create handler")
    assert body_status["create_fn"] == "parent"
    assert body_status["create_fn/item1"] == {"item": "item1"}
    assert body_status["create_fn/item2"] == {"item": "item2"}
    eventually(lambda: status().get("quiet") == 1, what="the idle timer's first run", timeout=10)
    time.sleep(3.5)  # more than two idle periods of quiet: kopf runs it once, not again
    assert status().get("quiet") == 1
    kube_client.patch(kex, NAME, {"spec": {"field": "changed"}}, namespace=namespace)
    eventually(lambda: status().get("quiet") == 2, what="the idle timer after the next change", timeout=10)


def test_a_deleted_objects_finalizer_waits_for_its_daemon_to_exit(example: Callable[..., KopfRunner],
                                                                  kube_client: KubeClient, kex: Resource,
                                                                  namespace: str, obj: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    """kopf's rule: on deletion the daemon is stopped, and the object keeps our finalizer until the
    daemon has exited (here it takes 2 s to wind down); the delete handler runs once meanwhile."""
    exited, deletions = tmp_path / "exited", tmp_path / "deletions"
    example(source=f'''
        import time
        import opframe as kopf

        @kopf.daemon("kopfexamples")
        def slow_to_stop(stopped, **_):
            stopped.wait()
            time.sleep(2.0)
            with open({str(exited)!r}, "w") as marker:
                marker.write(str(stopped.reason))

        @kopf.on.delete("kopfexamples")
        def deleted(**_):
            with open({str(deletions)!r}, "a") as journal:
                journal.write("deleted\\n")
        ''')
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: FINALIZER in (get(kube_client, kex, namespace)["metadata"].get("finalizers") or []),
               what="our finalizer")
    time.sleep(0.5)  # the daemon has started
    kube_client.delete(kex, NAME, namespace=namespace)
    time.sleep(1.0)
    held = get(kube_client, kex, namespace)["metadata"]
    assert held.get("deletionTimestamp") and FINALIZER in held["finalizers"], "released before the daemon exited"
    assert not exited.exists()
    eventually(lambda: gone(kube_client, kex, namespace), what="the object released after the daemon", timeout=15)
    assert "RESOURCE_DELETED" in exited.read_text()
    assert deletions.read_text() == "deleted\n", "the delete handler ran once, not again on the release"


def test_an_embedded_operator_cancelled_while_starting_leaves_nothing_running(
        control_plane: ControlPlane, kex: Resource, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """kopf.operator() cancelled during its startup handlers: the stop waits for the start to end, so
    no informer or worker started after the cancellation is left behind (a stop beside the start was)."""
    import opframe as kopf
    from opframe.handlers.registry import Registry

    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    registry = Registry()
    entered = threading.Event()

    @kopf.on.startup(registry=registry)
    def slow_startup(**_: Any) -> None:
        entered.set()
        time.sleep(1.5)

    @kopf.on.create("kopfexamples", registry=registry)
    def created(**_: Any) -> None:
        pass

    before = set(threading.enumerate())

    async def main() -> None:
        task = asyncio.create_task(kopf.operator(registry=registry, namespaces=[namespace], standalone=True))
        while not entered.is_set():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())

    def leftover() -> list[str]:
        return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]

    eventually(lambda: not leftover(), what=lambda: f"threads the operator left running: {leftover()}", timeout=5)


def test_handlers_get_kopfs_settings_with_what_startup_handlers_set(example: Callable[..., KopfRunner],
                                                                   kube_client: KubeClient, kex: Resource,
                                                                   namespace: str, obj: dict[str, Any]) -> None:
    """A resource handler's ``settings`` is kopf's OperatorSettings, showing what the startup handlers
    changed (kopf's fields and opframe's); a setting read before them is warned about, not dropped."""
    runner = example(source='''
        import opframe as kopf

        @kopf.on.startup()
        def configure(settings, **_):
            settings.execution.default_backoff = 5
            settings.success_events = True
            settings.namespaces = ["elsewhere"]

        @kopf.on.create("kopfexamples")
        def create_fn(settings, **_):
            return {"type": type(settings).__name__, "backoff": settings.execution.default_backoff,
                    "opframe_backoff": settings.default_backoff, "success_events": settings.success_events,
                    "namespaces": settings.namespaces}
        ''')
    kube_client.create(kex, obj, namespace=namespace)
    seen = eventually(lambda: (get(kube_client, kex, namespace).get("status") or {}).get("create_fn"),
                      what="the handler's view of its settings")
    assert seen == {"type": "OperatorSettings", "backoff": 5, "opframe_backoff": 5, "success_events": True,
                    "namespaces": [namespace]}  # the namespaces in force, not the ignored change
    assert ("settings.namespaces = ['elsewhere'] has no effect: it is read before startup handlers run; set it "
            "with -n/--namespace or OPFRAME_NAMESPACES") in runner.log


def test_an_invalid_setting_from_a_startup_handler_stops_the_start_with_the_reason(
        control_plane: ControlPlane, namespace: str, tmp_path: Path, kex: Resource) -> None:
    operator = tmp_path / "operator.py"
    operator.write_text('''
import opframe as kopf

@kopf.on.startup()
def configure(settings, **_):
    settings.execution.max_workers = -2

@kopf.on.create("kopfexamples")
def create_fn(**_):
    pass
''')
    with KopfRunner(["run", "-n", namespace, "--standalone", "--kubeconfig", str(control_plane.kubeconfig),
                     str(operator)], timeout=60, reraise=False) as runner:
        runner.future.result(60)
    assert runner.exit_code == 1
    assert "a startup handler set invalid settings (workers: Input should be greater than or equal to 1)" \
        in runner.output


def test_results_the_status_schema_refuses_cost_the_results_only(example: Callable[..., KopfRunner],
                                                                  kube_client: KubeClient, namespace: str) -> None:
    """A status write that no retry can cure (422 from the schema; 403 without <plural>/status) loses
    the results, not the bookkeeping: the cause is recorded as handled, and the handler runs once."""
    strict = install_crd(kube_client, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "strictthings.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "strictthings", "singular": "strictthing", "kind": "StrictThing"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                   "status": {"type": "object", "properties": {
                                       "create_fn": {"type": "integer"}}}}}}}]}})
    runner = example(source='''
        import opframe as kopf

        @kopf.on.create("strictthings.example.com")
        def create_fn(**_):
            return "not an integer"
        ''')
    kube_client.create(strict, {"apiVersion": "example.com/v1", "kind": "StrictThing",
                                "metadata": {"name": "s", "namespace": namespace}, "spec": {"a": 1}})
    eventually(lambda: DIFF_BASE in (kube_client.get(strict, "s", namespace=namespace)["metadata"]
                                     .get("annotations") or {}), what="the creation recorded as handled")
    time.sleep(1.0)
    assert runner.handlers(f"{namespace}/s") == ["create_fn"]
    assert "the handlers' results could not be written to status" in runner.log
