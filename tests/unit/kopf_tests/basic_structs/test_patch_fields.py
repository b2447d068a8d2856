"""kopf compatibility: the views of a ``Patch`` a handler fills in.

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch_fields.py`` (rewritten, not copied): the ``spec``,
``status``, ``metadata``/``meta``, ``labels`` and ``annotations`` views of opframe's
``Patch`` (``opframe.objects.patches``), with opframe's own additions: reading a view
adds nothing to the patch, mapping methods on the views.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from opframe.objects.bodies import RawBody
from opframe.objects.patches import Patch

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


def noop(body: RawBody) -> None:
    pass


# -- views (kopf: test_patch_fields.py) ------------------------------------------------------------

View = Callable[[Patch], Any]


VIEWS: list[tuple[tuple[str, ...], View]] = [
    (("spec",), lambda patch: patch.spec),
    (("status",), lambda patch: patch.status),
    (("metadata",), lambda patch: patch.metadata),
    (("metadata",), lambda patch: patch.meta),
    (("metadata", "labels"), lambda patch: patch.meta.labels),
    (("metadata", "annotations"), lambda patch: patch.metadata.annotations),
]


VIEW_IDS = ["spec", "status", "metadata", "meta", "labels", "annotations"]


def nested(path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_reading_a_view_adds_nothing_to_the_patch(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    assert (dict(section), len(section), list(section), "k" in section) == ({}, 0, [], False)
    assert (section.get("k"), section.get("k", 42), list(section.keys()), list(section.items())) == (None, 42, [], [])
    with pytest.raises(KeyError):
        section["k"]
    assert section == {}
    assert patch == {}
    assert not patch
    assert orjson.dumps(patch) == b"{}"


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_section_appears_once_a_key_is_written(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    view(patch)["k"] = "v"
    assert patch == nested(path, {"k": "v"})
    assert view(patch)["k"] == "v"


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_view_reads_the_changes_the_patch_was_made_with(path: tuple[str, ...], view: View) -> None:
    patch = Patch(nested(path, {"k": "v"}))
    assert (view(patch)["k"], view(patch).get("k", "default"), dict(view(patch))) == ("v", "v", {"k": "v"})


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_a_view_is_live_and_the_same_object_each_time(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    assert view(patch) is section
    patch.update(nested(path, {"late": 1}))
    assert section["late"] == 1


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=VIEW_IDS)
def test_mapping_methods_of_a_view_change_the_patch(path: tuple[str, ...], view: View) -> None:
    patch = Patch()
    section = view(patch)
    section.update({"a": "1", "b": "2"})
    assert section.setdefault("a", "x") == "1"
    assert section.pop("b") == "2"
    assert (sorted(section.keys()), list(section.values()), repr(section)) == (["a"], ["1"], "{'a': '1'}")
    del section["a"]
    assert patch == nested(path, {})  # kopf keeps the emptied section
    with pytest.raises(KeyError):
        del section["a"]


def test_deleting_from_a_missing_section_adds_nothing() -> None:
    patch = Patch()
    with pytest.raises(KeyError):
        del patch.status["x"]
    assert patch.status.pop("x", None) is None
    assert patch == {}


def test_meta_is_metadata() -> None:
    patch = Patch()
    assert patch.meta is patch.metadata
    assert patch.meta.labels is patch.metadata.labels
    assert patch.meta.annotations is patch.metadata.annotations


def test_none_stays_in_a_view_to_delete_the_field() -> None:
    patch = Patch()
    patch.meta.labels["app"] = None
    patch.spec["obsolete"] = None
    assert patch == {"metadata": {"labels": {"app": None}}, "spec": {"obsolete": None}}


def test_all_views_write_into_one_patch() -> None:
    patch = Patch()
    patch.meta["name"] = "obj"
    patch.meta.labels["app"] = "foo"
    patch.metadata.annotations["note"] = "bar"
    patch.spec["replicas"] = 3
    patch.status["ready"] = True
    assert patch == {
        "metadata": {"name": "obj", "labels": {"app": "foo"}, "annotations": {"note": "bar"}},
        "spec": {"replicas": 3},
        "status": {"ready": True},
    }


def test_writing_into_a_section_that_is_not_a_mapping_is_an_error() -> None:
    patch = Patch({"metadata": {"labels": "broken"}, "status": None})
    with pytest.raises(TypeError, match=r"patch\['metadata'\]\['labels'\] is not a mapping"):
        _ = patch.meta.labels
    assert dict(patch.status) == {}  # a whole section being deleted reads as empty
    with pytest.raises(TypeError, match=r"patch\['status'\] is not a mapping"):
        patch.status["x"] = 1


def test_copies_have_views_of_their_own() -> None:
    patch = Patch({"spec": {"x": 1}}, fns=[noop])
    for clone in (copy.copy(patch), copy.deepcopy(patch), pickle.loads(pickle.dumps(Patch(patch, fns=[])))):
        clone.status["y"] = 2
        assert clone == {"spec": {"x": 1}, "status": {"y": 2}}
        assert clone.status is clone.status
    assert patch == {"spec": {"x": 1}}
    assert copy.copy(patch).fns == [noop]
