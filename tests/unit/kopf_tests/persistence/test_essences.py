"""kopf compatibility: the essence of an object (what its diffs are calculated from).

Mirrors kopf 1.45.2's ``tests/persistence/test_essences.py`` (rewritten), run against
opframe's ``essence()``. kopf builds an essence with either of its diff-base storages;
opframe has one function, run here with opframe's own prefix and with kopf's, and
``include`` in the role of kopf's ``extra_fields``.

Left out: kopf's ``ignored_fields`` of diff-base storages (opframe has no such option).
"""

from __future__ import annotations

from typing import Any

import pytest

from opframe.handlers.bookkeeping import Bookkeeping
from opframe.objects.diffs import essence

PREFIXES = [Bookkeeping().own_prefix, "kopf.zalando.org/"]
SYSTEM_FIELDS = ["uid", "name", "namespace", "selfLink", "generation", "finalizers", "resourceVersion",
                 "creationTimestamp", "deletionTimestamp", "any-unexpected-field"]
KUBECTL = "kubectl.kubernetes.io/last-applied-configuration"

pytestmark = pytest.mark.parametrize("own_prefix", PREFIXES, ids=["opframe-prefix", "kopf-prefix"])


def _annotated(**annotations: str) -> dict[str, Any]:
    return {"metadata": {"annotations": dict(annotations)}}


def test_api_version_and_kind_are_not_part_of_it(own_prefix: str) -> None:
    assert essence({"apiVersion": "group/version", "kind": "Kind"}, own_prefix=own_prefix) == {}


@pytest.mark.parametrize("field", SYSTEM_FIELDS)
def test_system_metadata_is_dropped_with_the_emptied_metadata(own_prefix: str, field: str) -> None:
    assert essence({"metadata": {field: "x"}}, own_prefix=own_prefix) == {}


@pytest.mark.parametrize("field", SYSTEM_FIELDS)
def test_an_included_metadata_field_stays_without_the_system_ones(own_prefix: str, field: str) -> None:
    body = {"metadata": {field: "x", "other": "y"}}
    assert essence(body, own_prefix=own_prefix, include=(("metadata", "other"),)) == {"metadata": {"other": "y"}}


def test_an_included_metadata_field_stays_next_to_labels_and_annotations(own_prefix: str) -> None:
    body = {"metadata": {"name": "x", "other": "y", "labels": {"a": "b"}, "annotations": {"c": "d"}}}
    assert essence(body, own_prefix=own_prefix, include=(("metadata", "other"),)) == {
        "metadata": {"other": "y", "labels": {"a": "b"}, "annotations": {"c": "d"}}}


def test_kubectls_last_applied_configuration_is_dropped_with_the_emptied_metadata(own_prefix: str) -> None:
    assert essence(_annotated(**{KUBECTL: "x"}), own_prefix=own_prefix) == {}


def test_kubectls_last_applied_configuration_is_dropped_and_other_annotations_stay(own_prefix: str) -> None:
    assert essence(_annotated(**{KUBECTL: "x", "other": "y"}), own_prefix=own_prefix) == _annotated(other="y")


@pytest.mark.parametrize("domain", [
    "kopf-domain.tld", "kopf.domain.tld", "domain.tld.kopf", "domain.tld-kopf",
    "domain.kopf.tld", "domain.kopf-tld", "domain-kopf.tld", "domain-kopf-tld",
])
def test_annotations_that_merely_mention_kopf_stay(own_prefix: str, domain: str) -> None:
    body = _annotated(**{f"{domain}/to-be-kept": "x"})
    assert essence(body, own_prefix=own_prefix) == _annotated(**{f"{domain}/to-be-kept": "x"})


@pytest.mark.parametrize("domain", ["kopf.zalando.org", "sub.kopf.zalando.org", "sub.sub.kopf.zalando.org"])
def test_annotations_under_kopfs_domain_and_its_subdomains_are_dropped(own_prefix: str, domain: str) -> None:
    body = _annotated(**{f"{domain}/to-be-removed": "x", "other": "y"})
    assert essence(body, own_prefix=own_prefix) == _annotated(other="y")


def test_annotations_under_a_prefix_marked_kopf_managed_are_dropped(own_prefix: str) -> None:
    body = _annotated(**{"domain.tld/to-be-removed": "x", "domain.tld/kopf-managed": "yes", "other": "y"})
    assert essence(body, own_prefix=own_prefix) == _annotated(other="y")


def test_the_status_is_not_part_of_it(own_prefix: str) -> None:
    body = {"status": {"kopf": {"progress": "x", "anything": "y"}, "other": "z"}}
    assert essence(body, own_prefix=own_prefix) == {}


def test_an_included_status_field_stays_alone_in_the_status(own_prefix: str) -> None:
    body = {"status": {"kopf": {"progress": "x", "anything": "y"}, "other": "z"}}
    assert essence(body, own_prefix=own_prefix, include=(("status", "other"),)) == {"status": {"other": "z"}}


def test_it_is_a_deep_copy_of_the_body(own_prefix: str) -> None:
    body = {"spec": {"depth": {"field": "x"}}}
    result = essence(body, own_prefix=own_prefix)
    body["spec"]["depth"]["field"] = "y"
    assert result is not body
    assert result["spec"] is not body["spec"]
    assert result["spec"]["depth"] is not body["spec"]["depth"]
    assert result["spec"]["depth"]["field"] == "x"


def test_the_operators_own_diff_base_annotation_is_not_part_of_it(own_prefix: str) -> None:
    body = _annotated(**{f"{own_prefix}last-handled-configuration": "{}", "other": "y"})
    assert essence(body, own_prefix=own_prefix) == _annotated(other="y")
