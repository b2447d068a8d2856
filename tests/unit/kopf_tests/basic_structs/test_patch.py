"""kopf compatibility: ``Patch`` as kopf 1.45.2's ``kopf.Patch`` — constructor, truth, repr, fns, clear().

Mirrors kopf 1.45.2's ``tests/basic-structs/test_patch.py`` (rewritten, not copied), run against
opframe's ``Patch`` (``opframe.objects.patches``), with opframe's own additions: the
patch stays a plain serialisable dict of only what was written, copies.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import orjson
import pytest

import opframe
from opframe.objects.bodies import Body, RawBody
from opframe.objects.patches import Patch

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


def noop(body: RawBody) -> None:
    pass


def other_noop(body: RawBody) -> None:
    pass


# -- the constructor (kopf: test_patch.py) ---------------------------------------------------------


@pytest.mark.parametrize("make", [Patch, lambda: Patch(None), lambda: Patch(body=Body({"a": 1}))],
                         ids=["no-args", "none", "body-only"])
def test_a_patch_made_without_changes_is_empty_with_no_fns(make: Callable[[], Patch]) -> None:
    patch = make()
    assert dict(patch) == {}
    assert patch.fns == []
    assert not patch


def test_the_body_given_is_the_reference_of_the_json_patch() -> None:
    patch = Patch(body=Body({"abc": 456}))
    patch["abc"] = 789
    assert patch.as_json_patch() == [{"op": "replace", "path": "/abc", "value": 789}]


def test_any_mapping_is_copied_into_the_patch() -> None:
    source = {"spec": {"x": 1}}
    patch = Patch(types.MappingProxyType(source))
    patch["status"] = {"y": 2}
    assert dict(patch) == {"spec": {"x": 1}, "status": {"y": 2}}
    assert source == {"spec": {"x": 1}}


def test_fns_are_kept_in_their_order() -> None:
    assert Patch(fns=[noop, other_noop]).fns == [noop, other_noop]
    assert Patch(fns=iter([other_noop])).fns == [other_noop]


def test_a_patch_from_a_patch_has_its_changes_and_fns_then_its_own_fns() -> None:
    first = Patch({"x": "y"}, fns=[noop])
    second = Patch(first, fns=[other_noop])
    assert (dict(second), second.fns) == ({"x": "y"}, [noop, other_noop])
    second.fns.append(noop)
    second["z"] = 1
    assert (dict(first), first.fns) == ({"x": "y"}, [noop])


def test_a_patch_from_a_dict_has_no_fns() -> None:
    assert Patch({"a": "b"}).fns == []


def test_fns_can_be_added_later() -> None:
    patch = Patch()
    patch.fns.append(noop)
    assert patch.fns == [noop]
    assert patch


# -- truth, repr, clear (kopf: test_patch.py) -----------------------------------------------------


@pytest.mark.parametrize(("patch", "truth"), [
    (Patch(), False),
    (Patch({"a": "b"}), True),
    (Patch(fns=[noop]), True),
    (Patch({"a": "b"}, fns=[noop]), True),
], ids=["empty", "changes", "fns", "both"])
def test_a_patch_is_true_with_changes_or_fns(patch: Patch, truth: bool) -> None:
    assert bool(patch) is truth


def test_repr_shows_the_changes_and_the_fns() -> None:
    assert repr(Patch()) == "Patch()"
    assert repr(Patch({"a": "b"})) == "Patch({'a': 'b'})"
    assert repr(Patch(fns=[noop])) == f"Patch(fns=[{noop!r}])"
    assert repr(Patch({"a": "b"}, fns=[noop])) == f"Patch({{'a': 'b'}}, fns=[{noop!r}])"


def test_clear_drops_the_changes_and_the_fns() -> None:
    patch = Patch({"a": "b"}, fns=[noop])
    patch.clear()
    assert (dict(patch), patch.fns, bool(patch)) == ({}, [], False)


# -- a plain dict of only what was written ---------------------------------------------------------


def test_only_the_written_changes_serialise() -> None:
    patch = Patch(fns=[noop])
    patch.status["a"] = 1
    _ = patch.spec, patch.meta.labels
    assert isinstance(patch, dict)
    assert dict(patch) == {"status": {"a": 1}}
    assert orjson.loads(orjson.dumps(patch)) == {"status": {"a": 1}}
