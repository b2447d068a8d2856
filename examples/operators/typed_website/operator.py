"""A website operator whose resource is declared as pydantic models.

The CRD is generated from the models (``opframe crd operator.py``): its schema, the validation the
API server does (a pattern, bounds, a CEL rule), the status subresource and the printer columns.
The handlers get a typed spec and write a typed status, which opframe turns into the usual PATCH.
"""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

import opframe
from opframe import on


class WebsiteSpec(BaseModel):
    """What the site should be."""

    # Python's names in the code, Kubernetes' camelCase in the API (minReplicas).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, json_schema_extra={
        "x-kubernetes-validations": [
            {"rule": "self.minReplicas <= self.replicas", "message": "minReplicas must not exceed replicas"}]})

    domain: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", description="The site's domain name.")
    replicas: int = Field(1, ge=1, le=10, description="How many servers serve it.")
    min_replicas: int = Field(1, ge=1, description="The fewest servers it may scale down to.")


class WebsiteStatus(BaseModel):
    """What the operator made of it."""

    url: str | None = None
    servers: int = 0


class Website(opframe.CustomResource, group="typed.opframe.dev", version="v1", short_names=["tws"],
              printer_columns=[opframe.PrinterColumn("Domain", ".spec.domain"),
                               opframe.PrinterColumn("URL", ".status.url")]):
    """A website served by a few servers."""

    spec: WebsiteSpec
    status: WebsiteStatus = Field(default_factory=WebsiteStatus)


@on.create(Website)
@on.update(Website, field="spec")
def publish(spec: WebsiteSpec, status: WebsiteStatus, **_: object) -> None:
    status.url = f"https://{spec.domain}/"
    status.servers = spec.replicas
