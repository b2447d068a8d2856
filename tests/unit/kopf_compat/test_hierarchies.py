"""Kopf's hierarchy helpers as opframe implements them (opframe/handlers/hierarchies.py).

Mirrors kopf 1.45.2's tests/hierarchies/ (test_owner_referencing.py, test_labelling.py,
test_name_harmonizing.py, test_namespace_adjusting.py, test_contextual_owner.py,
test_type_validation.py, conftest.py) and the build_object_reference() facts used in
tests/k8s/test_events.py; rewritten, not copied. Every behaviour is checked on the three
kinds of objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is
not a dependency) and real ``kubernetes`` client models.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes.client as k8s
import pytest

from opframe.handlers.bodies import Body
from opframe.handlers.owners import current_owner
from opframe.kopf import hierarchies
from opframe.kopf.hierarchies import (
    adjust_namespace,
    adopt,
    append_owner_reference,
    build_object_reference,
    build_owner_reference,
    harmonize_naming,
    label,
    owner_or_current,
    remove_owner_reference,
)

OWNER_RAW: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Parent",
    "metadata": {"namespace": "parent-ns", "name": "parent", "uid": "uid-parent",
                 "labels": {"team": "blue", "tier": "db"}},
}


def owner(**meta: Any) -> Body:
    """The owner, with some metadata fields replaced (None removes one)."""
    raw = copy.deepcopy(OWNER_RAW)
    raw["metadata"].update(meta)
    raw["metadata"] = {key: value for key, value in raw["metadata"].items() if value is not None}
    return Body(raw)


class FakePykube:
    """What the helpers see of a pykube-ng APIObject: the raw dict in ``.obj``."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj


class Bag:
    """An iterable that is neither a list nor a tuple."""

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[Any]:
        yield from self._items


FLAVOURS = ["dict", "pykube", "kubernetes"]


def make(flavour: str, meta: dict[str, Any] | None = None) -> Any:
    """A child object of the flavour; ``meta`` is camelCase raw metadata, None for no metadata at all."""
    raw: dict[str, Any] = {} if meta is None else {"metadata": copy.deepcopy(meta)}
    if flavour == "dict":
        return raw
    if flavour == "pykube":
        return FakePykube(raw)
    model_meta = None if meta is None else k8s.V1ObjectMeta(
        name=meta.get("name"), generate_name=meta.get("generateName"),
        namespace=meta.get("namespace"), labels=copy.deepcopy(meta.get("labels")),
    )
    return k8s.V1Pod(metadata=model_meta)


def meta_of(obj: Any) -> dict[str, Any]:
    """The child's metadata as a camelCase dict (for models: with None fields left out)."""
    if isinstance(obj, dict):
        return obj["metadata"]  # type: ignore[no-any-return]
    if isinstance(obj, FakePykube):
        return obj.obj["metadata"]  # type: ignore[no-any-return]
    assert obj.metadata is not None
    return k8s.ApiClient().sanitize_for_serialization(obj.metadata)  # type: ignore[no-any-return,no-untyped-call]


CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {
    "list": list,
    "tuple": tuple,
    "custom-iterable": Bag,
    "generator": lambda items: (item for item in items),
    "nested-lists": lambda items: [[items[0]], [[item] for item in items[1:]]],
}


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=list(CONTAINERS))
def container(request: pytest.FixtureRequest) -> Callable[[list[Any]], Any]:
    return CONTAINERS[request.param]


@pytest.fixture()
def handling() -> Iterator[Callable[[Body], None]]:
    """Pretend a handler of the given body runs: set ``current_owner``, reset it afterwards."""
    tokens = []

    def enter(body: Body) -> None:
        tokens.append(current_owner.set(body))

    yield enter
    for token in reversed(tokens):
        current_owner.reset(token)


# -- build_owner_reference / build_object_reference ----------------------------------------------


def test_owner_reference_has_the_owner_identity_and_both_flags() -> None:
    assert build_owner_reference(owner()) == {
        "controller": True, "blockOwnerDeletion": True, "apiVersion": "example.com/v1",
        "kind": "Parent", "name": "parent", "uid": "uid-parent",
    }


def test_owner_reference_keeps_false_flags_but_leaves_out_none_fields() -> None:
    ref = build_owner_reference(owner(uid=None), controller=False, block_owner_deletion=None)
    assert ref == {"controller": False, "apiVersion": "example.com/v1", "kind": "Parent", "name": "parent"}


def test_object_reference_for_a_namespaced_object() -> None:
    assert build_object_reference(owner()) == {
        "apiVersion": "example.com/v1", "kind": "Parent", "name": "parent", "uid": "uid-parent",
        "namespace": "parent-ns",
    }


def test_object_reference_leaves_out_empty_fields() -> None:
    cluster_scoped = {"kind": "Node", "apiVersion": "", "metadata": {"name": "n1", "namespace": None}}
    assert build_object_reference(cluster_scoped) == {"kind": "Node", "name": "n1"}
    assert build_object_reference({}) == {}


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


# -- label ---------------------------------------------------------------------------------------


def test_labelling_an_object_without_metadata(flavour: str) -> None:
    child = make(flavour)
    label(child, {"team": "red", "app": "web"})
    assert meta_of(child)["labels"] == {"team": "red", "app": "web"}


def test_labelling_many_objects(container: Callable[[list[Any]], Any]) -> None:
    children: list[dict[str, Any]] = [{}, {"metadata": {"labels": {"own": "x"}}}]
    label(container(children), {"app": "web"})
    assert [child["metadata"]["labels"] for child in children] == [{"app": "web"}, {"own": "x", "app": "web"}]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"forced": True}, "new"),
    ({"forced": False}, "old"),
    ({}, "old"),
], ids=["forced", "not-forced", "default"])
def test_existing_labels_are_overwritten_only_when_forced(flavour: str, kwargs: dict[str, Any], expected: str) -> None:
    child = make(flavour, {"labels": {"app": "old", "own": "x"}})
    label(child, {"app": "new", "extra": "y"}, **kwargs)
    assert meta_of(child)["labels"] == {"app": expected, "own": "x", "extra": "y"}


@pytest.mark.parametrize(("force", "expected"), [(True, "new"), (False, "old")])
def test_deprecated_force_still_works_with_a_warning(force: bool, expected: str) -> None:
    child = {"metadata": {"labels": {"app": "old"}}}
    with pytest.deprecated_call(match=r"use forced="):
        label(child, {"app": "new"}, forced=not force, force=force)
    assert child["metadata"]["labels"]["app"] == expected


NESTED_FORMS = [
    pytest.param("spec.jobTemplate", id="string"),
    pytest.param(["spec.jobTemplate", "spec.absent"], id="list"),
    pytest.param(("spec.jobTemplate", "spec.absent"), id="tuple"),
    pytest.param({"spec.jobTemplate", "spec.absent"}, id="set"),
    pytest.param([["spec", "jobTemplate"], ("spec", "absent")], id="paths-as-sequences"),
]


@pytest.mark.parametrize("nested", NESTED_FORMS)
@pytest.mark.parametrize("forced", [True, False])
@pytest.mark.parametrize("kind", ["dict", "pykube"])
def test_nested_labelling_of_raw_objects(kind: str, forced: bool, nested: Any) -> None:
    raw: dict[str, Any] = {"metadata": {"labels": {"app": "old"}}, "spec": {"jobTemplate": {}}}
    child = raw if kind == "dict" else FakePykube(raw)
    label(child, {"app": "new"}, nested=nested, forced=forced)
    assert raw["metadata"]["labels"] == {"app": "new" if forced else "old"}
    assert raw["spec"]["jobTemplate"]["metadata"]["labels"] == {"app": "new"}
    assert set(raw["spec"]) == {"jobTemplate"}  # absent sub-objects are not created


@pytest.mark.parametrize("nested", NESTED_FORMS)
@pytest.mark.parametrize("forced", [True, False])
def test_nested_labelling_of_models_follows_the_api_field_names(forced: bool, nested: Any) -> None:
    cronjob: Any = k8s.V1CronJob(
        metadata=k8s.V1ObjectMeta(labels={"app": "old"}),
        spec=k8s.V1CronJobSpec(schedule="* * * * *", job_template=k8s.V1JobTemplateSpec()),
    )
    label(cronjob, {"app": "new"}, nested=nested, forced=forced)
    assert cronjob.metadata.labels == {"app": "new" if forced else "old"}
    assert isinstance(cronjob.spec.job_template.metadata, k8s.V1ObjectMeta)
    assert cronjob.spec.job_template.metadata.labels == {"app": "new"}
    assert not hasattr(cronjob.spec, "absent")


def test_nested_labelling_of_a_pod_template_by_attribute_name() -> None:
    deployment: Any = k8s.V1Deployment(spec=k8s.V1DeploymentSpec(
        selector=k8s.V1LabelSelector(), template=k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels={"a": "1"})),
    ))
    label(deployment, {"b": "2"}, nested="spec.template")
    assert deployment.metadata.labels == {"b": "2"}
    assert deployment.spec.template.metadata.labels == {"a": "1", "b": "2"}


def test_nested_labelling_through_a_non_dict_fails_as_in_kopf() -> None:
    with pytest.raises(TypeError, match="not a dict"):
        label({"spec": "text"}, {"a": "b"}, nested="spec.template")


def test_nested_field_of_a_wrong_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="Field must be either a str, or a list/tuple"):
        label({}, {"a": "b"}, nested=[123])  # type: ignore[list-item]


# -- harmonize_naming ----------------------------------------------------------------------------

WITH_NAMES = [
    pytest.param({"name": "own"}, id="name"),
    pytest.param({"generateName": "own-"}, id="generateName"),
    pytest.param({"name": "own", "generateName": "own-"}, id="both"),
]
WITHOUT_NAMES = [pytest.param(None, id="no-metadata"), pytest.param({}, id="empty-metadata")]
NOT_FORCED = [pytest.param({"forced": False}, id="not-forced"), pytest.param({}, id="forced-default")]
ANY_FORCED = [pytest.param({"forced": True}, id="forced"), *NOT_FORCED]
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


# -- adjust_namespace ----------------------------------------------------------------------------


@pytest.mark.parametrize(("forcedness", "expected"), [
    pytest.param({"forced": True}, "given", id="forced"),
    pytest.param({"forced": False}, "own", id="not-forced"),
    pytest.param({}, "own", id="forced-default"),
])
def test_existing_namespaces_are_overwritten_only_when_forced(
    flavour: str, forcedness: dict[str, Any], expected: str,
) -> None:
    child = make(flavour, {"namespace": "own"})
    adjust_namespace(child, namespace="given", **forcedness)
    assert meta_of(child)["namespace"] == expected


@pytest.mark.parametrize("forcedness", ANY_FORCED)
@pytest.mark.parametrize("meta", [pytest.param(None, id="no-metadata"), pytest.param({}, id="empty-metadata"),
                                  pytest.param({"namespace": None}, id="none-namespace")])
def test_objects_without_a_namespace_get_one_in_any_forced_mode(
    flavour: str, meta: dict[str, Any] | None, forcedness: dict[str, Any],
) -> None:
    child = make(flavour, meta)
    adjust_namespace(child, namespace="given", **forcedness)
    assert meta_of(child)["namespace"] == "given"


def test_namespacing_many_objects(container: Callable[[list[Any]], Any]) -> None:
    children: list[dict[str, Any]] = [{}, {"metadata": {"namespace": "own"}}]
    adjust_namespace(container(children), namespace="given")
    assert [child["metadata"]["namespace"] for child in children] == ["given", "own"]


def test_an_explicit_none_namespace_is_written_as_such() -> None:
    child: dict[str, Any] = {}
    adjust_namespace(child, namespace=None)
    assert child == {"metadata": {"namespace": None}}
    pod: Any = k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="own"))
    adjust_namespace(pod, namespace=None, forced=True)
    assert pod.metadata.namespace is None


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


# -- the owner of the running handler (current_owner) --------------------------------------------

WITHOUT_OWNER: dict[str, Callable[[], None]] = {
    "append_owner_reference": lambda: append_owner_reference([]),
    "remove_owner_reference": lambda: remove_owner_reference([]),
    "harmonize_naming": lambda: harmonize_naming([]),
    "adjust_namespace": lambda: adjust_namespace([]),
    "label": lambda: label([]),
    "adopt": lambda: adopt([]),
}


@pytest.mark.parametrize("call", list(WITHOUT_OWNER.values()), ids=list(WITHOUT_OWNER))
def test_no_owner_outside_of_a_handler_is_an_error(call: Callable[[], None]) -> None:
    with pytest.raises(LookupError, match=r"Owner must be set explicitly.*works only inside a handler"):
        call()


def test_the_error_of_adopt_tells_what_to_do() -> None:
    with pytest.raises(LookupError, match=r"adopt\(\) without owner= works only inside a handler; pass owner=body"):
        adopt({})
    with pytest.raises(LookupError, match=r"pass owner=body"):
        owner_or_current(None)


def test_owner_or_current_prefers_the_given_owner(handling: Callable[[Body], None]) -> None:
    given, current = owner(name="given"), owner(name="current")
    handling(current)
    assert owner_or_current(given) is given
    assert owner_or_current(None) is current
    empty = Body({})
    assert owner_or_current(empty) is empty  # an empty owner is still an owner: only None means "none given"


def test_the_current_owner_names_namespaces_owns_and_labels(handling: Callable[[Body], None]) -> None:
    handling(owner())
    child: dict[str, Any] = {}
    harmonize_naming(child)
    adjust_namespace(child)
    append_owner_reference(child)
    label(child)
    assert child["metadata"]["generateName"] == "parent-" and child["metadata"]["namespace"] == "parent-ns"
    assert [ref["uid"] for ref in child["metadata"]["ownerReferences"]] == ["uid-parent"]
    assert child["metadata"]["labels"] == {"team": "blue", "tier": "db"}
    remove_owner_reference(child)
    assert child["metadata"]["ownerReferences"] == []


def test_the_current_owner_adopts(handling: Callable[[Body], None]) -> None:
    handling(owner())
    child: dict[str, Any] = {}
    adopt(child, strict=True)
    assert child["metadata"]["name"] == "parent" and child["metadata"]["ownerReferences"][0]["name"] == "parent"


def test_an_explicit_owner_wins_over_the_current_one(handling: Callable[[Body], None]) -> None:
    handling(owner(name="current", uid="uid-current"))
    child: dict[str, Any] = {}
    adopt(child, owner=owner(name="given", uid="uid-given"))
    assert child["metadata"]["generateName"] == "given-"
    assert [ref["uid"] for ref in child["metadata"]["ownerReferences"]] == ["uid-given"]


def test_an_empty_current_owner(handling: Callable[[Body], None]) -> None:
    handling(Body({}))
    with pytest.raises(LookupError, match="Name must be set explicitly"):
        harmonize_naming([])
    child: dict[str, Any] = {}
    adjust_namespace(child)  # no namespace: a cluster-scoped owner, a valid case
    assert child["metadata"]["namespace"] is None
    with pytest.raises(LookupError):
        adopt([])


def test_current_owner_is_unset_by_default() -> None:
    assert current_owner.get() is None


# -- type validation -----------------------------------------------------------------------------

UNSUPPORTED_OBJECT: Any = object()
UNSUPPORTED = [
    pytest.param(object(), id="object"),
    pytest.param("a-string", id="str"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param(types.MappingProxyType({}), id="read-only-mapping"),
    pytest.param(FakePykube("not-a-dict"), id="pykube-without-dict"),  # type: ignore[arg-type]
]
WITH_AN_OBJECT: dict[str, Callable[[Any], None]] = {
    "append_owner_reference": lambda objs: append_owner_reference(objs, Body({})),
    "remove_owner_reference": lambda objs: remove_owner_reference(objs, Body({})),
    "harmonize_naming": lambda objs: harmonize_naming(objs, "x"),
    "adjust_namespace": lambda objs: adjust_namespace(objs, "x"),
    "label": lambda objs: label(objs, {}),
    "adopt": lambda objs: adopt(objs, owner()),
}


@pytest.mark.parametrize("obj", UNSUPPORTED)
@pytest.mark.parametrize("call", list(WITH_AN_OBJECT.values()), ids=list(WITH_AN_OBJECT))
def test_unsupported_objects_are_rejected(call: Callable[[Any], None], obj: Any) -> None:
    with pytest.raises(TypeError, match=r"K8s object class is not supported: <class '"):
        call(obj)


def test_objects_before_an_unsupported_one_are_already_changed() -> None:
    first: dict[str, Any] = {}
    with pytest.raises(TypeError):
        label([first, UNSUPPORTED_OBJECT], {"a": "b"})
    assert first == {"metadata": {"labels": {"a": "b"}}}


def test_none_and_empty_iterables_are_nothing_to_do() -> None:
    nothing: Any = None
    label([nothing, [], ()], {"a": "b"})
    adopt(nothing, owner())


def test_opframe_bodies_work_as_children_and_owners() -> None:
    child = Body({"kind": "ConfigMap", "metadata": {}})
    adopt(child, owner=owner())
    assert child.meta.namespace == "parent-ns" and child.meta.labels == {"team": "blue", "tier": "db"}


def test_the_module_does_not_import_the_client_libraries() -> None:
    code = "import sys, opframe.kopf.hierarchies; print(sorted({'kubernetes', 'pykube'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
