"""Custom resources declared as pydantic models: the class names the resource, its ``spec`` and
``status`` fields are the models of those parts, and the CRD is generated from it (crds.py).

    class WebsiteSpec(BaseModel):
        domain: str = Field(pattern=r"^[a-z0-9.-]+$")
        replicas: int = Field(1, ge=1, le=10)

    class Website(CustomResource, group="example.com", version="v1", short_names=["ws"]):
        spec: WebsiteSpec
        status: WebsiteStatus = Field(default_factory=WebsiteStatus)

Invariants: every subclass that names a ``group`` and a ``version`` is a resource (``declaration``),
registered in RESOURCES; ``kind`` defaults to the class name and ``plural`` to its lower case plus "s";
a typed object reads a whole body (apiVersion, kind, metadata, spec, status; other top-level fields are
ignored) and never changes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

#: Every declared resource class, in declaration order (what ``opframe crd`` writes).
RESOURCES: list[type[CustomResource]] = []
SCOPES = ("Namespaced", "Cluster")


@dataclasses.dataclass(frozen=True)
class PrinterColumn:
    """An additional printer column (``kubectl get``): its name and the JSONPath of its value."""

    name: str
    json_path: str
    type: str = "string"
    description: str | None = None
    priority: int = 0
    format: str | None = None


@dataclasses.dataclass(frozen=True)
class Scale:
    """The scale subresource: where the replicas are asked and counted (``kubectl scale``, HPA)."""

    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = None


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a resource class says about its resource and this version of it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    scope: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    served: bool = True
    storage: bool = True
    #: The version every other converts through (conversion.py): to_hub() and from_hub() on the others.
    hub: bool = False
    printer_columns: tuple[PrinterColumn, ...] = ()
    scale: Scale | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def name(self) -> str:
        """The CRD's name: ``<plural>.<group>``."""
        return f"{self.plural}.{self.group}"


class CustomResource(BaseModel):
    """A custom resource: subclass it with ``group=`` and ``version=`` (and, as needed, ``kind=``,
    ``plural=``, ``singular=``, ``scope=`` "Namespaced" or "Cluster", ``short_names=``, ``categories=``,
    ``printer_columns=`` (PrinterColumns), ``scale=`` (a Scale), ``storage=``, ``served=``, ``hub=``), and
    give it a ``spec`` field (and a ``status`` one) typed with your models.

    Versions: several classes of one resource (same group and kind), one of them ``hub=True``; each other
    one defines ``to_hub(self) -> Hub`` and ``@classmethod from_hub(cls, hub) -> Self``, and the operator
    serves the CRD's conversion webhook with them (conversion.py)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    declaration: ClassVar[Declaration]

    api_version: str = Field("", alias="apiVersion")
    kind: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The resource's keywords are read once the model is complete (__pydantic_init_subclass__)."""
        super().__init_subclass__()

    @classmethod
    def __pydantic_init_subclass__(cls, *, group: str | None = None, version: str | None = None,
                                   kind: str | None = None, plural: str | None = None, singular: str | None = None,
                                   scope: str = "Namespaced", short_names: Sequence[str] = (),
                                   categories: Sequence[str] = (), served: bool = True, storage: bool = True,
                                   hub: bool = False,
                                   printer_columns: Sequence[PrinterColumn] = (), scale: Scale | None = None,
                                   **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if group is None and version is None:
            return  # an abstract base of resources
        if not group or not version:
            raise TypeError(f"{cls.__name__}: a custom resource names both its group= and its version=")
        if scope not in SCOPES:
            raise TypeError(f"{cls.__name__}: scope={scope!r}; use 'Namespaced' or 'Cluster'")
        if "spec" not in cls.model_fields:
            raise TypeError(f"{cls.__name__}: give it a spec field typed with your spec model")
        kind = kind or cls.__name__
        cls.declaration = Declaration(
            group=group, version=version, kind=kind, plural=plural or f"{kind.lower()}s",
            singular=singular or kind.lower(), scope=scope, short_names=tuple(short_names),
            categories=tuple(categories), served=served, storage=storage, printer_columns=tuple(printer_columns),
            scale=scale, hub=hub)
        RESOURCES.append(cls)

    @classmethod
    def part_model(cls, part: str) -> type[BaseModel] | None:
        """The model of ``spec`` or ``status`` (None when it is not a model)."""
        field = cls.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
