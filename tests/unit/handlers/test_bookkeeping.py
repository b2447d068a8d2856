"""Bookkeeping (opframe.handlers.bookkeeping): the annotation keys, the progress and diff-base read back from an object,
our finalizer.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import pytest

from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.progress import HandlerRecord, Progress

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)


# -- annotation keys -----------------------------------------------------------------------------


def test_default_annotation_keys() -> None:
    annotations = Bookkeeping()
    assert (annotations.last_handled, annotations.progress, annotations.own_prefix) == (
        "opframe.dev/last-handled-configuration", "opframe.dev/progress", "opframe.dev/")


def test_annotation_keys_follow_the_prefix() -> None:
    annotations = Bookkeeping("ops.example.com")
    assert (annotations.last_handled, annotations.progress, annotations.own_prefix) == (
        "ops.example.com/last-handled-configuration", "ops.example.com/progress", "ops.example.com/")


def test_progress_is_read_back_from_the_object() -> None:
    progress = Progress(cause="create", digest="d1", handlers={"h": HandlerRecord(retries=1, started=T0)})
    body = {"metadata": {"annotations": {Bookkeeping().progress: progress.to_annotation()}}}
    assert Bookkeeping().read_progress(body) == progress


def test_diff_base_is_read_back_from_the_object() -> None:
    base = {"spec": {"a": 1}, "metadata": {"labels": {"x": "y"}}}
    body = {"metadata": {"annotations": {Bookkeeping().last_handled: orjson.dumps(base).decode()}}}
    assert Bookkeeping().read_diff_base(body) == base


@pytest.mark.parametrize("text", [None, "", "{bad", "[1, 2]", "3"], ids=["none", "empty", "not-json", "list", "int"])
def test_malformed_diff_base_is_none(text: str | None) -> None:
    annotations = {} if text is None else {Bookkeeping().last_handled: text}
    assert Bookkeeping().read_diff_base({"metadata": {"annotations": annotations}}) is None


@pytest.mark.parametrize("body", [{}, {"metadata": None}, {"metadata": {"annotations": None}}],
                         ids=["no-metadata", "null-metadata", "null-annotations"])
def test_objects_without_annotations_have_no_progress_or_diff_base(body: dict[str, Any]) -> None:
    assert Bookkeeping().read_progress(body) is None
    assert Bookkeeping().read_diff_base(body) is None


FINALIZER = "opframe.dev/finalizer"


# -- has_finalizer -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    ({"metadata": {"finalizers": [FINALIZER]}}, True),
    ({"metadata": {"finalizers": ["other"]}}, False),
    ({"metadata": {"finalizers": None}}, False),
    ({"metadata": {}}, False),
    ({}, False),
], ids=["ours", "foreign", "null", "missing", "no-metadata"])
def test_has_finalizer(body: dict[str, Any], expected: bool) -> None:
    assert Bookkeeping(finalizer=FINALIZER).holds_finalizer(body) is expected
