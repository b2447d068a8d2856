"""kopf compatibility: owner references, and adopt().

Mirrors kopf 1.45.2's ``tests/hierarchies/test_owner_referencing.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes.client as k8s
import pytest

from opframe.kopf import hierarchies
from opframe.kopf.hierarchies import (
    adopt,
    append_owner_reference,
    build_owner_reference,
    remove_owner_reference,
)
from opframe.objects.bodies import Body

from .children import FakePykube, make, meta_of, owner

# -- build_owner_reference / build_object_reference ----------------------------------------------


def test_owner_reference_has_the_owner_identity_and_both_flags() -> None:
    assert build_owner_reference(owner()) == {
        "controller": True, "blockOwnerDeletion": True, "apiVersion": "example.com/v1",
        "kind": "Parent", "name": "parent", "uid": "uid-parent",
    }


def test_owner_reference_keeps_false_flags_but_leaves_out_none_fields() -> None:
    ref = build_owner_reference(owner(uid=None), controller=False, block_owner_deletion=None)
    assert ref == {"controller": False, "apiVersion": "example.com/v1", "kind": "Parent", "name": "parent"}


# -- append_owner_reference / remove_owner_reference ---------------------------------------------


def test_appending_creates_metadata_and_one_reference(flavour: str) -> None:
    child = make(flavour)
    append_owner_reference(child, owner=owner(), controller=False, block_owner_deletion=False)
    assert meta_of(child)["ownerReferences"] == [{
        "apiVersion": "example.com/v1", "kind": "Parent", "name": "parent", "uid": "uid-parent",
        "controller": False, "blockOwnerDeletion": False,
    }]


def test_appended_reference_is_a_controller_blocking_deletion_by_default(flavour: str) -> None:
    child = make(flavour, {})
    append_owner_reference(child, owner())
    (ref,) = meta_of(child)["ownerReferences"]
    assert ref["controller"] is True and ref["blockOwnerDeletion"] is True


def test_a_models_reference_is_a_model_too() -> None:
    pod = make("kubernetes")
    append_owner_reference(pod, owner())
    (ref,) = pod.metadata.owner_references
    assert isinstance(pod.metadata, k8s.V1ObjectMeta) and isinstance(ref, k8s.V1OwnerReference)
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == ("example.com/v1", "Parent", "parent", "uid-parent")


def test_appending_to_many_objects(container: Callable[[list[Any]], Any]) -> None:
    children: list[dict[str, Any]] = [{}, {"metadata": {}}, {}]
    append_owner_reference(container(children), owner())
    for child in children:
        assert [ref["uid"] for ref in child["metadata"]["ownerReferences"]] == ["uid-parent"]
    # Each child gets its own reference dict: changing one does not change the others.
    children[0]["metadata"]["ownerReferences"][0]["name"] = "changed"
    assert children[1]["metadata"]["ownerReferences"][0]["name"] == "parent"


def test_appending_is_idempotent_by_uid_alone(flavour: str) -> None:
    child = make(flavour)
    append_owner_reference(child, owner())
    append_owner_reference(child, owner(name="renamed"), controller=False)
    append_owner_reference(child, Body({**owner(), "kind": "OtherKind"}))
    (ref,) = meta_of(child)["ownerReferences"]
    assert (ref["name"], ref["kind"], ref["controller"]) == ("parent", "Parent", True)


def test_appending_owners_that_differ_only_by_uid(flavour: str) -> None:
    child = make(flavour)
    append_owner_reference(child, owner(uid="uid-a"))
    append_owner_reference(child, owner(uid="uid-b"))
    assert [ref["uid"] for ref in meta_of(child)["ownerReferences"]] == ["uid-a", "uid-b"]


def test_removal_leaves_an_empty_list(flavour: str) -> None:
    child = make(flavour)
    append_owner_reference(child, owner())
    remove_owner_reference(child, owner())
    assert meta_of(child)["ownerReferences"] == []


def test_removal_of_an_absent_owner_still_creates_the_list(flavour: str) -> None:
    child = make(flavour)
    remove_owner_reference(child, owner())
    assert meta_of(child)["ownerReferences"] == []


def test_removal_from_many_objects(container: Callable[[list[Any]], Any]) -> None:
    children: list[dict[str, Any]] = [{}, {}]
    append_owner_reference(children, owner())
    remove_owner_reference(container(children), owner())
    assert [child["metadata"]["ownerReferences"] for child in children] == [[], []]


def test_removal_drops_every_reference_with_the_uid_whatever_the_other_fields(flavour: str) -> None:
    child = make(flavour, {})
    refs = [{"apiVersion": "v1", "kind": kind, "name": name, "uid": "uid-0"}
            for kind, name in [("A", "a"), ("A", "b"), ("B", "b")]]
    refs.append({"apiVersion": "v1", "kind": "A", "name": "a", "uid": "uid-1"})
    if flavour == "kubernetes":
        child.metadata.owner_references = [
            k8s.V1OwnerReference(api_version=r["apiVersion"], kind=r["kind"], name=r["name"], uid=r["uid"])
            for r in refs
        ]
    else:
        meta_of(child)["ownerReferences"] = refs
    remove_owner_reference(child, owner(uid="uid-0"))
    assert [ref["uid"] for ref in meta_of(child)["ownerReferences"]] == ["uid-1"]


def test_removal_keeps_the_same_list_object() -> None:
    child: dict[str, Any] = {}
    append_owner_reference(child, owner(uid="uid-a"))
    append_owner_reference(child, owner(uid="uid-b"))
    refs = child["metadata"]["ownerReferences"]
    remove_owner_reference(child, owner(uid="uid-a"))
    assert child["metadata"]["ownerReferences"] is refs and [ref["uid"] for ref in refs] == ["uid-b"]


# -- adopt ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [None, "spec.template", ["spec.template"], ("spec.template",), {"spec.template"}])
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("forced", [True, False])
def test_adopt_delegates_to_the_four_helpers(
    monkeypatch: pytest.MonkeyPatch, forced: bool, strict: bool, nested: Any,
) -> None:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for name in ["append_owner_reference", "harmonize_naming", "adjust_namespace", "label"]:
        def record(*args: Any, _name: str = name, **kwargs: Any) -> None:
            calls.append((_name, args, kwargs))
        monkeypatch.setattr(hierarchies, name, record)
    child: dict[str, Any] = {}
    the_owner = owner()
    adopt(child, owner=the_owner, forced=forced, strict=strict, nested=nested)
    assert calls == [
        ("append_owner_reference", (child,), {"owner": the_owner}),
        ("harmonize_naming", (child,), {"name": "parent", "forced": forced, "strict": strict}),
        ("adjust_namespace", (child,), {"namespace": "parent-ns", "forced": forced}),
        ("label", (child,), {"labels": {"team": "blue", "tier": "db"}, "nested": nested, "forced": forced}),
    ]


def test_adopting_objects_of_every_kind_at_once() -> None:
    raw: dict[str, Any] = {"spec": {"template": {}}}
    pykube = FakePykube({"metadata": {"name": "own", "labels": {"team": "red"}}})
    pod: Any = k8s.V1Pod()
    adopt([raw, pykube, pod], owner(), nested="spec.template")

    for meta in [raw["metadata"], pykube.obj["metadata"], meta_of(pod)]:
        assert meta["namespace"] == "parent-ns"
        assert [ref["uid"] for ref in meta["ownerReferences"]] == ["uid-parent"]
    assert raw["metadata"]["generateName"] == "parent-" and "name" not in raw["metadata"]
    assert pykube.obj["metadata"]["name"] == "own" and "generateName" not in pykube.obj["metadata"]
    assert raw["metadata"]["labels"] == raw["spec"]["template"]["metadata"]["labels"] == {"team": "blue", "tier": "db"}
    assert pykube.obj["metadata"]["labels"] == {"team": "red", "tier": "db"}
    assert pod.metadata.generate_name == "parent-" and pod.metadata.labels == {"team": "blue", "tier": "db"}


def test_forced_strict_adoption_overrides_everything() -> None:
    child = {"metadata": {"name": "own", "namespace": "own-ns", "labels": {"team": "red"}}}
    adopt(child, owner(), forced=True, strict=True)
    assert child["metadata"]["name"] == "parent" and child["metadata"]["namespace"] == "parent-ns"
    assert child["metadata"]["labels"] == {"team": "blue", "tier": "db"}


def test_children_of_a_cluster_scoped_owner_get_no_namespace() -> None:
    child: dict[str, Any] = {}
    adopt(child, owner(namespace=None))
    assert child["metadata"]["namespace"] is None


def test_adopt_consumes_a_one_shot_iterator_in_its_first_step() -> None:
    child: dict[str, Any] = {}
    adopt(iter([child]), owner())  # as in kopf: only the owner reference gets in
    assert set(child["metadata"]) == {"ownerReferences"}
