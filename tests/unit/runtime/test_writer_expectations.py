"""ObjectWriter's expectations (pure part): writes ending in either order leave the newer one expected."""

from __future__ import annotations

from typing import Any, cast

from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.runtime.reconcile.writer import ObjectWriter


def writer() -> ObjectWriter:
    return ObjectWriter(cast(KubeClient, None), Resource("", "v1", "configmaps", "ConfigMap"), "opframe.dev/finalizer")


def cached(version: str) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": version}}


def test_an_older_write_ending_last_does_not_lower_the_expectation() -> None:
    objects = writer()
    objects.expect("ns/a", "11")  # the reconcile's write
    objects.expect("ns/a", "10")  # a daemon's write that was sent first and answered last
    assert not objects.expectation_met("ns/a", cached("10")), "the cache at 10 misses our write of 11"
    assert objects.expectation_met("ns/a", cached("11"))
    assert objects.tracked() == 0


def test_a_newer_write_raises_the_expectation() -> None:
    objects = writer()
    objects.expect("ns/a", "10")
    objects.expect("ns/a", "12")
    assert not objects.expectation_met("ns/a", cached("11"))
    assert objects.expectation_met("ns/a", cached("13"))
