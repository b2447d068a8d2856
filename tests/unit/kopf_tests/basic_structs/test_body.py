"""kopf compatibility: the ``body`` a handler gets and its sections.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_body.py`` (rewritten), run against
opframe's ``Body`` (``opframe.objects.bodies``).

Left out: kopf's "live views" (a Body and its sections reflecting later changes of the
dict it was made from). opframe's Body is a dict of its own, a handler's private copy of
the object, by design; it does not follow the dict it was built from.
"""

from __future__ import annotations

from typing import Any

import pytest

from opframe.objects.bodies import Body, Meta, Spec, Status

# -- sections -------------------------------------------------------------------------------------


def test_metadata_holds_the_objects_metadata() -> None:
    body = Body({"metadata": {"name": "obj", "uid": "123"}})
    assert dict(body.metadata) == {"name": "obj", "uid": "123"}
    assert isinstance(body.metadata, Meta)


def test_meta_is_the_same_as_metadata() -> None:
    body = Body({"metadata": {"name": "obj"}})
    assert body.meta is body.metadata


@pytest.mark.parametrize(("name", "kind"), [("spec", Spec), ("status", Status)])
def test_spec_and_status_hold_the_objects_sections(name: str, kind: type) -> None:
    body = Body({name: {"field": "value"}})
    section = getattr(body, name)
    assert dict(section) == {"field": "value"}
    assert isinstance(section, kind)


@pytest.mark.parametrize("name", ["metadata", "meta", "spec", "status"])
def test_a_missing_section_reads_as_empty_and_is_not_added(name: str) -> None:
    body = Body({})
    assert dict(getattr(body, name)) == {}
    assert body == {}


# -- metadata fields ------------------------------------------------------------------------------

META_FIELDS = [
    ("name", "name", "obj"),
    ("uid", "uid", "uid-123"),
    ("namespace", "namespace", "ns"),
    ("creation_timestamp", "creationTimestamp", "2020-01-01T00:00:00Z"),
    ("deletion_timestamp", "deletionTimestamp", "2020-01-01T00:00:00Z"),
]
META_IDS = [attribute for attribute, _, _ in META_FIELDS]


@pytest.mark.parametrize(("attribute", "key", "value"), META_FIELDS, ids=META_IDS)
def test_a_metadata_field_reads_as_an_attribute(attribute: str, key: str, value: str) -> None:
    body = Body({"metadata": {key: value}})
    assert getattr(body.metadata, attribute) == value


@pytest.mark.parametrize(("attribute", "key", "value"), META_FIELDS, ids=META_IDS)
@pytest.mark.parametrize("raw", [{"metadata": {}}, {}], ids=["no-field", "no-metadata"])
def test_a_missing_metadata_field_reads_as_none_and_is_not_added(
        raw: dict[str, Any], attribute: str, key: str, value: str) -> None:
    body = Body(raw)
    assert getattr(body.metadata, attribute) is None
    assert body == raw


@pytest.mark.parametrize(("name", "value"), [
    ("labels", {"app": "test", "env": "dev"}),
    ("annotations", {"key": "val"}),
])
def test_labels_and_annotations_read_as_mappings(name: str, value: dict[str, str]) -> None:
    body = Body({"metadata": {name: value}})
    assert dict(getattr(body.metadata, name)) == value


@pytest.mark.parametrize("name", ["labels", "annotations"])
@pytest.mark.parametrize("raw", [{"metadata": {}}, {}], ids=["no-field", "no-metadata"])
def test_missing_labels_and_annotations_read_as_empty_and_are_not_added(raw: dict[str, Any], name: str) -> None:
    body = Body(raw)
    assert dict(getattr(body.metadata, name)) == {}
    assert body == raw
