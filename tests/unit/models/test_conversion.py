"""Conversion between versions declared as models (models.conversion): through the hub, lossless both
ways when the versions hold what the others need, metadata and status extras kept, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from opframe.models.conversion import Conversion, ConversionError

TLS = "convert.opframe.test/tls"


class SpecV2(BaseModel):
    domain: str
    replicas: int = 1
    tls: bool = False


class SpecV1(BaseModel):
    host: str
    replicas: int = 1


class Status(BaseModel):
    url: str | None = None


def declare() -> tuple[type[Any], type[Any]]:
    from opframe.models.resource import CustomResource

    class SiteV2(CustomResource, group="convert.opframe.test", version="v2", kind="Site", hub=True):
        spec: SpecV2
        status: Status = Field(default_factory=Status)

    class SiteV1(CustomResource, group="convert.opframe.test", version="v1", kind="Site", storage=False):
        spec: SpecV1
        status: Status = Field(default_factory=Status)

        def to_hub(self) -> SiteV2:
            annotations = self.metadata.get("annotations") or {}
            return SiteV2(metadata=self.metadata, status=self.status, spec=SpecV2(
                domain=self.spec.host, replicas=self.spec.replicas, tls=annotations.get(TLS) == "true"))

        @classmethod
        def from_hub(cls, hub: SiteV2) -> SiteV1:
            annotations = {**(hub.metadata.get("annotations") or {}), TLS: str(hub.spec.tls).lower()}
            return cls(metadata={**hub.metadata, "annotations": annotations}, status=hub.status,
                       spec=SpecV1(host=hub.spec.domain, replicas=hub.spec.replicas))

    return SiteV1, SiteV2


def v2(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "convert.opframe.test/v2", "kind": "Site",
            "metadata": {"name": "s", "namespace": "n", "uid": "u-1", "resourceVersion": "7"},
            "spec": {"domain": "a.example", "replicas": 2, "tls": True, **spec},
            "status": {"url": "https://a.example/", "publish": {"result": 1}}}


def test_both_ways_through_the_hub_and_back_without_loss() -> None:
    conversion = Conversion(declare())
    down = conversion.convert(v2(), "convert.opframe.test/v1")
    assert down["apiVersion"] == "convert.opframe.test/v1" and down["kind"] == "Site"
    assert down["spec"] == {"host": "a.example", "replicas": 2}
    assert down["metadata"]["annotations"] == {TLS: "true"} and down["metadata"]["uid"] == "u-1"
    assert down["status"] == {"url": "https://a.example/", "publish": {"result": 1}}  # a handler's result kept
    back = conversion.convert(down, "convert.opframe.test/v2")
    assert back["spec"] == v2()["spec"] and back["status"] == v2()["status"]


def test_a_review_is_all_or_nothing_and_names_the_object() -> None:
    conversion = Conversion(declare())
    review = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {
        "uid": "r-1", "desiredAPIVersion": "convert.opframe.test/v1", "objects": [v2(), v2(domain=None)]}}
    answer = conversion.review(review)
    assert answer["apiVersion"] == "apiextensions.k8s.io/v1" and answer["kind"] == "ConversionReview"
    response = answer["response"]
    assert response["uid"] == "r-1" and response["convertedObjects"] == []
    assert response["result"]["status"] == "Failure"
    assert response["result"]["message"].startswith("n/s: does not fit SiteV2: spec.domain: ")
    review["request"]["objects"] = [v2()]
    assert conversion.review(review)["response"]["result"] == {"status": "Success"}


def test_a_conversion_that_raises_or_changes_identity_is_refused() -> None:
    site_v1, site_v2 = declare()

    def renaming(self: Any) -> Any:
        return site_v2(metadata={**self.metadata, "name": "other"}, spec=SpecV2(domain=self.spec.host))

    site_v1.to_hub = renaming
    conversion = Conversion((site_v1, site_v2))
    v1 = conversion.convert(v2(), "convert.opframe.test/v1")
    with pytest.raises(ConversionError, match=r"n/s: converting to SiteV2 changed metadata.name \('s' to 'other'\)"):
        conversion.convert(v1, "convert.opframe.test/v2")

    def failing(self: Any) -> Any:
        raise RuntimeError("no way")

    site_v1.to_hub = failing
    with pytest.raises(ConversionError, match="n/s: converting SiteV1 to SiteV2 raised RuntimeError: no way"):
        conversion.convert(v1, "convert.opframe.test/v2")
    with pytest.raises(ConversionError, match=r"v9 is not a version of sites\.convert\.opframe\.test"):
        conversion.convert(v1, "convert.opframe.test/v9")


def test_versions_need_one_hub_and_the_spokes_methods() -> None:
    from opframe.models.resource import CustomResource

    class LoneV1(CustomResource, group="lone.opframe.test", version="v1", kind="Lone", storage=False):
        spec: SpecV1

    class LoneV2(CustomResource, group="lone.opframe.test", version="v2", kind="Lone", hub=True):
        spec: SpecV2

    with pytest.raises(TypeError, match="LoneV1: a version that is not the hub defines to_hub"):
        Conversion((LoneV1, LoneV2))
    with pytest.raises(TypeError, match="mark exactly one of its versions hub=True"):
        Conversion((LoneV1,))
