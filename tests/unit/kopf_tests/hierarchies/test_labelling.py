"""kopf compatibility: label().

Mirrors kopf 1.45.2's ``tests/hierarchies/test_labelling.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes.client as k8s
import pytest

from opframe.kopf.hierarchies import label

from .children import FakePykube, make, meta_of

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
