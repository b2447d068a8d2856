"""kopf compatibility: the ``patch`` a handler fills in.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch.py`` and
``tests/basic-structs/test_patch_fields.py`` (rewritten), run against opframe's ``Patch``
(``opframe.runtime.execution.calls.Patch``). The constructor, ``.fns``, views, reprs and
``as_json_patch()`` (kopf's ``test_patch_fns.py`` and ``test_patch_json.py``) are covered
by test_patch_kopf.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import opframe
from opframe.handlers.patches import Patch

# -- construction and truth (kopf: test_patch.py) -------------------------------------------------


def test_a_new_patch_is_empty_and_falsy() -> None:
    patch = Patch()
    assert dict(patch) == {}
    assert not patch


def test_a_patch_from_a_dict_holds_it_and_is_truthy() -> None:
    patch = Patch({"a": "b"})
    assert dict(patch) == {"a": "b"}
    assert patch


def test_a_patch_from_a_patch_holds_the_same_changes() -> None:
    source = Patch({"x": "y"})
    assert Patch(source)["x"] == "y"


def test_clearing_a_patch_empties_it() -> None:
    patch = Patch({"a": "b"})
    patch.clear()
    assert dict(patch) == {}
    assert not patch


def test_it_is_kopfs_patch_by_name() -> None:
    assert opframe.Patch is Patch


# -- sections (kopf: test_patch_fields.py) --------------------------------------------------------

Section = Callable[[Patch], Any]

SECTIONS: list[tuple[str, Section]] = [
    ("spec", lambda patch: patch.spec),
    ("status", lambda patch: patch.status),
    ("metadata", lambda patch: patch.metadata),
    ("metadata", lambda patch: patch.meta),
]
SECTION_IDS = ["spec", "status", "metadata", "meta"]


@pytest.mark.parametrize(("name", "section"), SECTIONS, ids=SECTION_IDS)
def test_setting_a_section_key_creates_the_section(name: str, section: Section) -> None:
    patch = Patch()
    section(patch)["key"] = 3
    assert patch == {name: {"key": 3}}


@pytest.mark.parametrize(("name", "section"), SECTIONS, ids=SECTION_IDS)
def test_a_section_key_of_the_source_dict_is_readable(name: str, section: Section) -> None:
    patch = Patch({name: {"key": True}})
    assert section(patch)["key"] is True


@pytest.mark.parametrize("section", [lambda patch: patch.spec, lambda patch: patch.status], ids=["spec", "status"])
def test_a_missing_key_reads_as_the_given_default(section: Section) -> None:
    assert section(Patch()).get("key", 42) == 42


def test_several_spec_keys_go_into_one_spec() -> None:
    patch = Patch()
    patch.spec["replicas"] = 3
    patch.spec["selector"] = {"app": "test"}
    assert patch == {"spec": {"replicas": 3, "selector": {"app": "test"}}}


STANZAS: list[tuple[str, Section]] = [
    ("labels", lambda patch: patch.meta.labels),
    ("annotations", lambda patch: patch.meta.annotations),
]


@pytest.mark.parametrize(("name", "stanza"), STANZAS, ids=["labels", "annotations"])
def test_setting_a_label_or_annotation_creates_metadata_and_the_stanza(name: str, stanza: Section) -> None:
    patch = Patch()
    stanza(patch)["app"] = "foo"
    assert patch == {"metadata": {name: {"app": "foo"}}}


@pytest.mark.parametrize(("name", "stanza"), STANZAS, ids=["labels", "annotations"])
def test_a_label_or_annotation_of_the_source_dict_is_readable(name: str, stanza: Section) -> None:
    patch = Patch({"metadata": {name: {"app": "foo"}}})
    assert stanza(patch)["app"] == "foo"


@pytest.mark.parametrize(("name", "stanza"), STANZAS, ids=["labels", "annotations"])
def test_a_missing_label_or_annotation_reads_as_the_given_default(name: str, stanza: Section) -> None:
    assert stanza(Patch()).get("app", "default") == "default"


@pytest.mark.parametrize(("name", "stanza"), STANZAS, ids=["labels", "annotations"])
def test_several_labels_or_annotations_go_into_one_stanza(name: str, stanza: Section) -> None:
    patch = Patch()
    stanza(patch)["a"] = "1"
    stanza(patch)["b"] = "2"
    assert patch == {"metadata": {name: {"a": "1", "b": "2"}}}


def test_a_label_set_to_none_stays_as_none_to_delete_it() -> None:
    patch = Patch()
    patch.meta.labels["app"] = None
    assert patch == {"metadata": {"labels": {"app": None}}}


def test_spec_and_status_do_not_mix() -> None:
    patch = Patch()
    patch.spec["x"] = 1
    patch.status["y"] = 2
    assert patch == {"spec": {"x": 1}, "status": {"y": 2}}


def test_labels_and_annotations_share_the_metadata() -> None:
    patch = Patch()
    patch.meta.labels["app"] = "foo"
    patch.meta.annotations["note"] = "bar"
    assert patch == {"metadata": {"labels": {"app": "foo"}, "annotations": {"note": "bar"}}}


def test_every_section_at_once() -> None:
    patch = Patch()
    patch.meta["name"] = "obj"
    patch.meta.labels["app"] = "foo"
    patch.spec["replicas"] = 3
    patch.status["ready"] = True
    assert patch == {
        "metadata": {"name": "obj", "labels": {"app": "foo"}},
        "spec": {"replicas": 3},
        "status": {"ready": True},
    }
