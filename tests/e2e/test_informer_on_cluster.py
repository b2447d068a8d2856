"""The informer machinery against the real API server, through a proxy that breaks connections."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opframe.cache.fifo import DeletedFinalStateUnknown, DeltaObject
from opframe.cache.informer import SharedIndexInformer
from opframe.cache.listwatch import ResourceListerWatcher
from opframe.cache.store import object_key
from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
from opframe.testing import ControlPlane
from opframe.testing.proxy import ChaosProxy

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
FAST = ClientSettings(qps=1000, burst=2000, retry_budget=5)


class Recorder:
    """Records every notification; ``wait_for`` blocks until a predicate over them holds."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self._cond = threading.Condition()

    def _record(self, kind: str, key: str, payload: Any) -> None:
        with self._cond:
            self.events.append((kind, key, payload))
            self._cond.notify_all()

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        self._record("add", object_key(obj), obj["metadata"]["resourceVersion"])

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._record("update", object_key(new), new["metadata"]["resourceVersion"])

    def on_delete(self, obj: DeltaObject) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self._record("delete-tombstone", obj.key, None)
        else:
            self._record("delete", object_key(obj), obj["metadata"]["resourceVersion"])

    def keys(self, kind: str) -> set[str]:
        with self._cond:
            return {key for k, key, _ in self.events if k == kind}

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout} s; last events: "
                                         f"{self.events[-5:]}")
                self._cond.wait(min(remaining, 0.2))


def _client(control_plane: ControlPlane, host: str | None = None) -> KubeClient:
    configuration = load_configuration(control_plane.kubeconfig)
    if host is not None:
        configuration.host = host
    return KubeClient(configuration, FAST)


@pytest.fixture
def proxy(control_plane: ControlPlane) -> Iterator[ChaosProxy]:
    assert control_plane.ports is not None
    with ChaosProxy("127.0.0.1", control_plane.ports.apiserver) as chaos:
        yield chaos


def _configmap(namespace: str, name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data}


def _start(informer: SharedIndexInformer, recorder: Recorder) -> SharedIndexInformer:
    informer.add_event_handler(recorder)
    informer.start()
    assert informer.wait_for_sync(timeout=60)
    return informer


def test_informer_over_5000_configmaps_syncs_and_equals_a_fresh_list(control_plane: ControlPlane,
                                                                     kube_client: KubeClient,
                                                                     namespace: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(
            lambda i: kube_client.create(CONFIGMAPS, _configmap(namespace, f"cm-{i:05d}", i=str(i))),
            range(5000)))
    recorder = Recorder()
    with _client(control_plane) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace))
        try:
            _start(informer, recorder)
            fresh = kube_client.list_all(CONFIGMAPS, namespace=namespace)
            cached = {object_key(o): o["metadata"]["resourceVersion"] for o in informer.indexer.list()}
            listed = {object_key(o): o["metadata"]["resourceVersion"] for o in fresh.items}
            assert len(listed) == 5000
            assert cached == listed
            assert informer.indexer.index_keys("namespace", namespace) == sorted(listed)
            assert all("managedFields" not in o["metadata"] for o in informer.indexer.list())
            recorder.wait_for(lambda: len(recorder.keys("add")) == 5000)
        finally:
            informer.stop()


def test_cut_watch_resumes_from_last_resource_version_without_relist(
        control_plane: ControlPlane, kube_client: KubeClient, proxy: ChaosProxy, namespace: str) -> None:
    recorder = Recorder()
    with _client(control_plane, proxy.url) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace))
        try:
            _start(informer, recorder)
            stats = informer.reflector.stats
            writer = threading.Thread(target=lambda: [
                kube_client.create(CONFIGMAPS, _configmap(namespace, f"flow-{i:03d}")) for i in range(200)])
            writer.start()
            cuts = 0
            while writer.is_alive():  # cut the stream again and again while events flow
                time.sleep(0.15)
                cuts += proxy.cut()
            writer.join()
            expected = {f"{namespace}/flow-{i:03d}" for i in range(200)}
            recorder.wait_for(lambda: expected <= recorder.keys("add"))
            assert cuts >= 2
            assert stats.lists == 1, "a cut watch must resume, not relist"
            assert stats.watches >= 2
            assert len([e for e in recorder.events if e[0] == "add"]) == 200  # each exactly once
        finally:
            informer.stop()


def test_stalled_watch_hits_the_inactivity_timeout_and_resumes(control_plane: ControlPlane,
                                                               kube_client: KubeClient,
                                                               proxy: ChaosProxy, namespace: str) -> None:
    recorder = Recorder()
    with _client(control_plane, proxy.url) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace),
                                       inactivity_timeout=2.0)
        try:
            _start(informer, recorder)
            kube_client.create(CONFIGMAPS, _configmap(namespace, "before"))
            recorder.wait_for(lambda: f"{namespace}/before" in recorder.keys("add"))
            assert proxy.stall() >= 1
            stalled_at = time.monotonic()
            kube_client.create(CONFIGMAPS, _configmap(namespace, "during"))
            recorder.wait_for(lambda: f"{namespace}/during" in recorder.keys("add"), timeout=30)
            assert time.monotonic() - stalled_at >= 1.5
            assert informer.reflector.stats.stalls >= 1
            assert informer.reflector.stats.lists == 1
        finally:
            proxy.resume()
            informer.stop()


@pytest.mark.parametrize("watch_list", [False, True], ids=["list", "watch-list"])
def test_compacted_resource_version_relists_and_delivers_tombstones(
        control_plane: ControlPlane, kube_client: KubeClient, proxy: ChaosProxy, namespace: str,
        watch_list: bool) -> None:
    """With streaming lists on (the operator's default), the relist streams too: no LIST at all."""
    for name in ("keep", "gone-1", "gone-2"):
        kube_client.create(CONFIGMAPS, _configmap(namespace, name))
    recorder = Recorder()
    with _client(control_plane, proxy.url) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace),
                                       use_watch_list=watch_list)
        try:
            _start(informer, recorder)
            proxy.refuse()  # the operator is cut off ...
            for name in ("gone-1", "gone-2"):
                kube_client.delete(CONFIGMAPS, name, namespace=namespace)
            kube_client.create(CONFIGMAPS, _configmap(namespace, "new"))
            kube_client.patch(CONFIGMAPS, "keep", {"data": {"v": "2"}}, namespace=namespace)
            # ... while its resourceVersion is compacted away, and kube-apiserver restarts
            # with a watch cache that starts after it.
            control_plane.compact_etcd()
            control_plane.stop_apiserver()
            control_plane.start_apiserver()
            proxy.accept()
            recorder.wait_for(lambda: {f"{namespace}/gone-1", f"{namespace}/gone-2"}
                              <= recorder.keys("delete-tombstone"), timeout=60)
            recorder.wait_for(lambda: f"{namespace}/new" in recorder.keys("add"))
            recorder.wait_for(lambda: f"{namespace}/keep" in recorder.keys("update"))
            stats = informer.reflector.stats
            assert stats.relists >= 1
            assert stats.lists == (0 if watch_list else 1 + stats.relists), stats
            assert informer.reflector.use_watch_list is watch_list
            assert sorted(informer.indexer.list_keys()) == [f"{namespace}/keep", f"{namespace}/new"]
        finally:
            informer.stop()


def test_api_server_restart_is_recovered_with_backoff(control_plane: ControlPlane, kube_client: KubeClient,
                                                      namespace: str) -> None:
    recorder = Recorder()
    with _client(control_plane) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace))
        try:
            _start(informer, recorder)
            stats = informer.reflector.stats
            control_plane.stop_apiserver()
            attempts_before = stats.watches + stats.errors
            time.sleep(6)
            attempts_while_down = stats.watches + stats.errors - attempts_before
            control_plane.start_apiserver()
            kube_client.create(CONFIGMAPS, _configmap(namespace, "after-restart"))
            recorder.wait_for(lambda: f"{namespace}/after-restart" in recorder.keys("add"), timeout=90)
            # 0.8 s doubling with jitter: at most a handful of attempts in 6 s, never a tight loop.
            assert 1 <= attempts_while_down <= 8
            assert stats.errors >= 1
        finally:
            informer.stop()


def test_streaming_watch_list_syncs_without_a_list_and_keeps_the_stream(control_plane: ControlPlane,
                                                                        kube_client: KubeClient,
                                                                        namespace: str) -> None:
    for i in range(30):
        kube_client.create(CONFIGMAPS, _configmap(namespace, f"initial-{i:02d}"))
    recorder = Recorder()
    with _client(control_plane) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace),
                                       use_watch_list=True)
        try:
            _start(informer, recorder)
            stats = informer.reflector.stats
            assert len(informer.indexer) == 30
            assert stats.lists == 0 and stats.watches == 1
            assert informer.reflector.use_watch_list
            kube_client.create(CONFIGMAPS, _configmap(namespace, "later"))
            recorder.wait_for(lambda: f"{namespace}/later" in recorder.keys("add"))
            assert stats.watches == 1  # the same stream carried the initial events and the change
        finally:
            informer.stop()
