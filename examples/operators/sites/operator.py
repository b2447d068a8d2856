"""Sites: a resource declared as pydantic models in two versions, v2 the hub (and the storage
version) and v1 a spoke that converts through it. The operator serves the CRD's conversion webhook;
its handler watches v1 and gets v1 objects, converted by the API server through that webhook.

    opframe crd examples/operators/sites/operator.py --chart examples/operators/sites/chart
    helm install sites examples/operators/sites/chart --set-file opframe.operator.code=operator.py ...
"""
from pydantic import BaseModel, Field

import opframe
from opframe import on

TLS = "sites.opframe.dev/tls"


class SpecV2(BaseModel):
    domain: str
    replicas: int = 1
    tls: bool = False


class SpecV1(BaseModel):
    host: str
    replicas: int = 1


class Status(BaseModel):
    seen_as: str | None = Field(None, alias="seenAs")


class SiteV2(opframe.CustomResource, group="sites.opframe.dev", version="v2", kind="Site", hub=True):
    spec: SpecV2
    status: Status = Field(default_factory=Status)


class SiteV1(opframe.CustomResource, group="sites.opframe.dev", version="v1", kind="Site", storage=False):
    spec: SpecV1
    status: Status = Field(default_factory=Status)

    def to_hub(self) -> SiteV2:
        if self.spec.host == "explode.example":
            raise ValueError("this host cannot be converted")
        annotations = self.metadata.get("annotations") or {}
        return SiteV2(metadata=self.metadata, status=self.status, spec=SpecV2(
            domain=self.spec.host, replicas=self.spec.replicas, tls=annotations.get(TLS) == "true"))

    @classmethod
    def from_hub(cls, hub: SiteV2) -> "SiteV1":
        annotations = {**(hub.metadata.get("annotations") or {}), TLS: str(hub.spec.tls).lower()}
        return cls(metadata={**hub.metadata, "annotations": annotations}, status=hub.status,
                   spec=SpecV1(host=hub.spec.domain, replicas=hub.spec.replicas))


@on.create(SiteV1)
def seen(site: SiteV1, status: Status, **_):
    """Typed: the whole object as SiteV1 (the version this handler watches), its status as the model."""
    status.seen_as = site.api_version
