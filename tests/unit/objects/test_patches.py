"""Patch (opframe.objects.patches): the sections handlers write into, merged in one plain dict."""

from __future__ import annotations

import orjson
import pytest

from opframe.objects.patches import Patch

# -- Patch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["status", "spec"])
def test_patch_section_is_created_when_touched(section: str) -> None:
    patch = Patch()
    getattr(patch, section)["x"] = 1
    assert patch == {section: {"x": 1}}


def test_untouched_patch_is_empty() -> None:
    assert Patch() == {}


def test_patch_section_is_the_same_dict_each_time() -> None:
    patch = Patch()
    assert patch.status is patch.status


def test_patch_writes_of_two_handlers_merge_in_one_section() -> None:
    patch = Patch()
    patch.status["first"] = {"ok": True}
    patch.status["second"] = 2
    patch.spec["replicas"] = 3
    assert patch == {"status": {"first": {"ok": True}, "second": 2}, "spec": {"replicas": 3}}


def test_patch_later_write_of_the_same_key_wins() -> None:
    patch = Patch()
    patch.status["phase"] = "Pending"
    patch.status["phase"] = "Ready"
    assert patch.status == {"phase": "Ready"}


def test_patch_section_keeps_what_was_set_as_a_dict() -> None:
    patch = Patch({"status": {"a": 1}})
    patch.status["b"] = 2
    assert patch == {"status": {"a": 1, "b": 2}}


def test_patch_none_value_stays_to_delete_the_field() -> None:
    patch = Patch()
    patch.spec["obsolete"] = None
    assert patch == {"spec": {"obsolete": None}}


def test_patch_metadata_labels_and_annotations() -> None:
    patch = Patch()
    patch.metadata.labels["app"] = "web"
    patch.metadata.annotations["note"] = "x"
    patch.metadata.labels["tier"] = None
    assert patch == {"metadata": {"labels": {"app": "web", "tier": None}, "annotations": {"note": "x"}}}


def test_patch_meta_is_an_alias_of_metadata() -> None:
    patch = Patch()
    patch.meta.labels["a"] = "1"
    patch.metadata.labels["b"] = "2"
    assert patch == {"metadata": {"labels": {"a": "1", "b": "2"}}}


def test_patch_metadata_item_access() -> None:
    patch = Patch()
    patch.metadata["finalizers"] = ["f"]
    assert (patch.metadata["finalizers"], patch) == (["f"], {"metadata": {"finalizers": ["f"]}})


def test_patch_section_that_is_not_a_mapping_is_an_error() -> None:
    patch = Patch({"status": "broken"})
    with pytest.raises(TypeError, match="patch\\['status'\\] is not a mapping"):
        _ = patch.status


def test_patch_is_a_plain_serialisable_dict() -> None:
    patch = Patch()
    patch.status["a"] = 1
    patch.metadata.labels["b"] = "c"
    assert orjson.loads(orjson.dumps(patch)) == {"status": {"a": 1}, "metadata": {"labels": {"b": "c"}}}
