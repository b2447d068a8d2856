"""A quiet kind watched with the default inactivity timeout, against the real API server.

kube-apiserver bookmarks a watch about once a minute, but only once its watch cache has
moved past the watch's resourceVersion (docs/controlplane.md: on a fresh control plane the
first bookmark of a quiet kind came after 60 s in one run, 120 s in another). A watch
silent for the Reflector's default inactivity timeout (90 s) is closed and re-opened from
its resourceVersion; one kept alive by bookmarks is left alone. Either way, this test
watches a quiet kind for longer than that and checks that it never relisted and still
delivers a change at once.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from opframe.cache.informer import SharedIndexInformer
from opframe.cache.listwatch import ResourceListerWatcher
from opframe.cache.reflector import DEFAULT_INACTIVITY_TIMEOUT
from opframe.kube import ClientSettings, KubeClient, Resource, load_configuration
from opframe.testing import ControlPlane

pytestmark = pytest.mark.e2e

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
#: Long enough for one full default inactivity timeout and most of a second one.
QUIET_SECONDS = 150.0
#: "At once" for a change on a healthy watch of a local API server.
DELIVERY_SECONDS = 1.0


def _configmap(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}


def test_quiet_watch_with_the_default_inactivity_timeout_never_relists_and_still_delivers(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str) -> None:
    assert QUIET_SECONDS > DEFAULT_INACTIVITY_TIMEOUT
    settings = ClientSettings(qps=1000, burst=2000)
    with KubeClient(load_configuration(control_plane.kubeconfig), settings) as client:
        informer = SharedIndexInformer(ResourceListerWatcher(client, CONFIGMAPS, namespace=namespace))
        assert informer.reflector.inactivity_timeout is None  # the default applies
        informer.start()
        try:
            assert informer.wait_for_sync(timeout=60)
            stats = informer.reflector.stats
            time.sleep(QUIET_SECONDS)
            # Silent past 90 s, the watch was re-opened from its resourceVersion (a stall), unless
            # writes elsewhere moved the watch cache and a bookmark kept it alive.
            assert stats.stalls + stats.bookmarks >= 1, stats
            assert not informer.wedged(DEFAULT_INACTIVITY_TIMEOUT + 60.0)
            kube_client.create(CONFIGMAPS, _configmap(namespace, "after-the-quiet"))
            created = time.monotonic()
            key = f"{namespace}/after-the-quiet"
            while informer.indexer.get_by_key(key) is None:
                assert time.monotonic() - created < DELIVERY_SECONDS, f"not in the cache within 1 s: {stats}"
                time.sleep(0.01)
            assert (stats.lists, stats.relists, stats.errors) == (1, 0, 0), stats
        finally:
            informer.stop()
