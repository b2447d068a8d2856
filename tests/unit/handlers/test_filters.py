"""Filters: labels/annotations (match_meta), value=/old=/new= (match_value), the server-side label selector."""

from __future__ import annotations

from typing import Any

import pytest

from opframe.handlers.filters import (
    ABSENT,
    MISSING,
    PRESENT,
    UNSET,
    field_value,
    label_selector,
    match_meta,
    match_value,
)

# -- match_meta ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("actual", "wanted", "expected"), [
    ({"app": "web"}, {"app": "web"}, True),
    ({"app": "db"}, {"app": "web"}, False),
    ({}, {"app": "web"}, False),
    ({"app": "web"}, {"app": PRESENT}, True),
    ({"other": "x"}, {"app": PRESENT}, False),
    ({"app": ""}, {"app": PRESENT}, True),
    ({"other": "x"}, {"app": ABSENT}, True),
    ({"app": "web"}, {"app": ABSENT}, False),
    ({"app": "web"}, {"app": lambda v: v.startswith("w")}, True),
    ({"app": "db"}, {"app": lambda v: v.startswith("w")}, False),
], ids=["value-equal", "value-differs", "value-missing", "present", "present-missing", "present-empty-value",
        "absent", "absent-but-there", "callable-true", "callable-false"])
def test_match_meta_single_key(actual: dict[str, str], wanted: dict[str, Any], expected: bool) -> None:
    assert match_meta(actual, wanted) is expected


def test_match_meta_callable_gets_none_for_a_missing_key() -> None:
    seen: list[Any] = []
    assert match_meta({}, {"app": lambda v: seen.append(v) or True})
    assert seen == [None]


def test_match_meta_every_key_must_match() -> None:
    assert not match_meta({"app": "web", "tier": "db"}, {"app": "web", "tier": "front"})


def test_match_meta_all_keys_matching() -> None:
    assert match_meta({"app": "web", "tier": "db"}, {"app": "web", "tier": PRESENT, "x": ABSENT})


@pytest.mark.parametrize("wanted", [None, {}], ids=["none", "empty"])
def test_match_meta_without_filter_matches_anything(wanted: dict[str, Any] | None) -> None:
    assert match_meta(None, wanted)


def test_match_meta_treats_no_labels_as_empty() -> None:
    assert match_meta(None, {"app": ABSENT})
    assert not match_meta(None, {"app": PRESENT})


# -- match_value ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "wanted", "expected"), [
    (3, UNSET, True),
    (None, UNSET, True),
    (3, 3, True),
    (3, 4, False),
    (None, None, True),
    (0, None, False),
    (3, PRESENT, True),
    (0, PRESENT, True),
    (None, PRESENT, True),  # kopf: PRESENT/ABSENT are about the key; a null value is there
    (MISSING, PRESENT, False),
    (MISSING, ABSENT, True),
    (None, ABSENT, False),
    (3, ABSENT, False),
    (MISSING, None, False),
    (MISSING, lambda v: v is None, True),  # a callable gets None for a missing field
    (3, lambda v: v > 2, True),
    (1, lambda v: v > 2, False),
    ({"a": 1}, {"a": 1}, True),
], ids=["unset", "unset-none", "literal-equal", "literal-differs", "none-literal", "falsy-vs-none",
        "present", "present-falsy", "present-null", "present-missing", "absent-missing", "absent-null",
        "absent-but-set", "missing-vs-literal-none", "callable-on-missing", "callable-true", "callable-false",
        "dict-literal"])
def test_match_value(value: Any, wanted: Any, expected: bool) -> None:
    assert match_value(value, wanted) is expected


def test_unset_is_not_none() -> None:
    assert UNSET is not None


# -- field_value ---------------------------------------------------------------------------------


def test_field_value_resolves_a_path() -> None:
    assert field_value({"spec": {"replicas": 2}}, ("spec", "replicas")) == 2


@pytest.mark.parametrize("body", [None, {}, {"spec": "not-a-dict"}], ids=["no-body", "missing", "not-a-mapping"])
def test_field_value_is_missing_when_unresolvable(body: dict[str, Any] | None) -> None:
    assert field_value(body, ("spec", "replicas")) is MISSING


def test_field_value_of_an_explicit_null_is_none() -> None:
    assert field_value({"spec": {"replicas": None}}, ("spec", "replicas")) is None


# -- label_selector ------------------------------------------------------------------------------


def test_label_selector_from_one_handler() -> None:
    assert label_selector([{"app": "web", "tier": PRESENT, "legacy": ABSENT}]) == "!legacy,app=web,tier"


def test_label_selector_keeps_requirements_common_to_every_handler() -> None:
    assert label_selector([{"app": "web", "tier": "db"}, {"app": "web", "tier": "front"}]) == "app=web"


def test_label_selector_is_none_when_nothing_is_common() -> None:
    assert label_selector([{"app": "web"}, {"app": "db"}]) is None


@pytest.mark.parametrize("no_filter", [None, {}], ids=["none", "empty"])
def test_label_selector_is_none_if_any_handler_takes_all_objects(no_filter: dict[str, Any] | None) -> None:
    assert label_selector([{"app": "web"}, no_filter]) is None


def test_label_selector_is_none_without_handlers() -> None:
    assert label_selector([]) is None


def test_label_selector_leaves_callables_client_side() -> None:
    assert label_selector([{"app": "web", "tier": lambda v: v != "db"}]) == "app=web"


def test_label_selector_is_none_with_only_callables() -> None:
    assert label_selector([{"tier": lambda v: True}]) is None


def test_label_selector_present_and_value_of_same_key_are_different_requirements() -> None:
    assert label_selector([{"app": PRESENT}, {"app": "web"}]) is None
