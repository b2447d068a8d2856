"""kopf compatibility: harmonize_naming().

Mirrors kopf 1.45.2's ``tests/hierarchies/test_name_harmonizing.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opframe.kopf.hierarchies import harmonize_naming

from .children import ANY_FORCED, NOT_FORCED, make, meta_of

# -- harmonize_naming ----------------------------------------------------------------------------

WITH_NAMES = [
    pytest.param({"name": "own"}, id="name"),
    pytest.param({"generateName": "own-"}, id="generateName"),
    pytest.param({"name": "own", "generateName": "own-"}, id="both"),
]


WITHOUT_NAMES = [pytest.param(None, id="no-metadata"), pytest.param({}, id="empty-metadata")]


ANY_STRICT = [pytest.param({"strict": True}, id="strict"), pytest.param({"strict": False}, id="not-strict"),
              pytest.param({}, id="strict-default")]


NOT_STRICT = ANY_STRICT[1:]


@pytest.mark.parametrize("strictness", ANY_STRICT)
@pytest.mark.parametrize("forcedness", NOT_FORCED)
@pytest.mark.parametrize("meta", WITH_NAMES)
def test_existing_names_are_kept_unless_forced(
    flavour: str, meta: dict[str, Any], forcedness: dict[str, Any], strictness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    harmonize_naming(child, name="given", **forcedness, **strictness)
    assert {key: meta_of(child).get(key) for key in meta} == meta
    assert set(meta_of(child)) & {"name", "generateName"} == set(meta)


@pytest.mark.parametrize("meta", WITH_NAMES + WITHOUT_NAMES)
def test_forced_strict_naming_sets_the_name_and_drops_generate_name(flavour: str, meta: dict[str, Any] | None) -> None:
    child = make(flavour, meta)
    harmonize_naming(child, name="given", forced=True, strict=True)
    assert meta_of(child).get("name") == "given"
    assert "generateName" not in meta_of(child)


@pytest.mark.parametrize("strictness", NOT_STRICT)
@pytest.mark.parametrize("meta", WITH_NAMES + WITHOUT_NAMES)
def test_forced_relaxed_naming_sets_a_prefix_and_drops_the_name(
    flavour: str, meta: dict[str, Any] | None, strictness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    harmonize_naming(child, name="given", forced=True, **strictness)
    assert meta_of(child).get("generateName") == "given-"
    assert "name" not in meta_of(child)


@pytest.mark.parametrize("forcedness", ANY_FORCED)
@pytest.mark.parametrize("meta", WITHOUT_NAMES)
def test_unnamed_objects_get_a_strict_name_in_any_forced_mode(
    flavour: str, meta: dict[str, Any] | None, forcedness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    harmonize_naming(child, name="given", strict=True, **forcedness)
    assert meta_of(child).get("name") == "given" and "generateName" not in meta_of(child)


@pytest.mark.parametrize("strictness", NOT_STRICT)
@pytest.mark.parametrize("forcedness", ANY_FORCED)
@pytest.mark.parametrize("meta", WITHOUT_NAMES)
def test_unnamed_objects_get_a_prefix_in_any_forced_mode(
    flavour: str, meta: dict[str, Any] | None, forcedness: dict[str, Any], strictness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    harmonize_naming(child, name="given", **forcedness, **strictness)
    assert meta_of(child).get("generateName") == "given-" and "name" not in meta_of(child)


@pytest.mark.parametrize("strict", [True, False])
def test_naming_many_objects_each_on_its_own(container: Callable[[list[Any]], Any], strict: bool) -> None:
    named: dict[str, Any] = {"metadata": {"name": "own"}}
    unnamed: dict[str, Any] = {}
    harmonize_naming(container([named, unnamed]), name="given", strict=strict)
    assert named["metadata"] == {"name": "own"}
    assert unnamed["metadata"] == ({"name": "given"} if strict else {"generateName": "given-"})


def test_a_dicts_name_key_counts_even_when_none() -> None:
    child: dict[str, Any] = {"metadata": {"name": None}}
    harmonize_naming(child, name="given")
    assert child["metadata"] == {"name": None}


def test_an_explicit_none_name_is_an_error() -> None:
    with pytest.raises(LookupError, match="Name must be set explicitly"):
        harmonize_naming({}, name=None)
