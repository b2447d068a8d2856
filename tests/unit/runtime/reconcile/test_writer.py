"""ObjectWriter (opframe.runtime.reconcile.writer), its pure parts: the expectations of writes ending in either order,
pruned() patches and newer() resourceVersions.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.runtime.reconcile.writer import ObjectWriter, pruned_status
from opframe.runtime.reconcile.writer import newer as _newer
from opframe.runtime.reconcile.writer import pruned as _pruned


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


# -- pruned() and newer() --------------------------------------------------------------------------


@pytest.mark.parametrize(("patch", "pruned"), [
    ({}, {}),
    ({"status": {}}, {}),
    ({"metadata": {"labels": {}, "annotations": {}}}, {}),
    ({"metadata": {"labels": {}, "annotations": {"a": "1"}}}, {"metadata": {"annotations": {"a": "1"}}}),
    ({"spec": {"gone": None}}, {"spec": {"gone": None}}),
    ({"metadata": {"finalizers": []}}, {"metadata": {"finalizers": []}}),
    ({"status": {"a": {"b": {}}}, "spec": {"x": 0}}, {"spec": {"x": 0}}),
], ids=["empty", "empty-section", "empty-nested", "partly-empty", "none-deletes", "empty-list-kept", "deep-empty"])
def test_pruned(patch: dict[str, Any], pruned: dict[str, Any]) -> None:
    assert _pruned(patch) == pruned


def test_pruned_does_not_change_its_input() -> None:
    patch = {"metadata": {"labels": {}}, "spec": {"a": 1}}
    _pruned(patch)
    assert patch == {"metadata": {"labels": {}}, "spec": {"a": 1}}


@pytest.mark.parametrize(("candidate", "reference", "newer"), [
    ("11", "10", True),
    ("10", "10", False),
    ("9", "10", False),
    ("100", "99", True),
    ("abc", "10", False),
    ("10", "abc", False),
    ("", "10", False),
], ids=["greater", "equal", "smaller", "numeric-not-lexical", "opaque-candidate", "opaque-reference", "empty"])
def test_newer(candidate: str, reference: str, newer: bool) -> None:
    assert _newer(candidate, reference) is newer


@pytest.mark.parametrize(("sent", "written", "dropped"), [
    ({"create_fn": {"message": "hi"}}, {"status": {"create_fn": {"message": "hi"}}}, []),
    ({"create_fn": {"message": "hi"}}, {"metadata": {}}, ["create_fn"]),  # no status at all: pruned whole
    ({"create_fn": 1, "kopf": {"progress": {}}}, {"status": {"kopf": {"progress": {}}}}, ["create_fn"]),
    ({"create_fn": None}, {"status": {}}, []),  # a removal is no loss
])
def test_pruned_status(sent: dict[str, Any], written: dict[str, Any], dropped: list[str]) -> None:
    """What the kind's schema dropped from the status we wrote (the writer warns once per kind)."""
    assert pruned_status(sent, written) == dropped
