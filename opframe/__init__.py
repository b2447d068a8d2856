"""opframe: a Kopf-style Kubernetes operator framework with client-go's machinery underneath.

The public API is what this module exports; everything else may change.

    import opframe
    from opframe import on
from opframe.handlers.bodies import (
    Annotations,
    Body,
    BodyEssence,
    FieldPath,
    FieldSpec,
    HandlerId,
    Labels,
    Logger,
    Meta,
    ObjectReference,
    OwnerReference,
    PatchFn,
    RawBody,
    RawEvent,
    RawEventType,
    Spec,
    Status,
)

    @on.create("websites.example.com")
    def created(spec, name, logger, **_):
        ...
"""

from opframe import on
from opframe.handlers.bodies import (
    Annotations,
    Body,
    BodyEssence,
    FieldPath,
    FieldSpec,
    HandlerId,
    Labels,
    Logger,
    Meta,
    ObjectReference,
    OwnerReference,
    PatchFn,
    RawBody,
    RawEvent,
    RawEventType,
    Spec,
    Status,
)
from opframe.handlers.diffs import Diff, DiffItem, DiffOperation
from opframe.handlers.filters import ABSENT, PRESENT
from opframe.handlers.retries import PermanentError, TemporaryError
from opframe.kube.client import KubeClient
from opframe.kube.errors import ApiError
from opframe.kube.errors import Conflict as ApiConflict
from opframe.kube.errors import NotFound as ApiNotFound
from opframe.kube.resources import Resource
from opframe.on import daemon, index, timer
from opframe.runtime.daemons import DaemonStopped
from opframe.runtime.indexes import Index, Store
from opframe.runtime.invocation import Memo, Patch
from opframe.runtime.operator import Operator, StartupError
from opframe.settings import Settings

__all__ = [
    "ABSENT",
    "PRESENT",
    "Annotations",
    "ApiConflict",
    "ApiError",
    "ApiNotFound",
    "Body",
    "BodyEssence",
    "DaemonStopped",
    "Diff",
    "DiffItem",
    "DiffOperation",
    "FieldPath",
    "FieldSpec",
    "HandlerId",
    "Index",
    "KubeClient",
    "Labels",
    "Logger",
    "Memo",
    "Meta",
    "ObjectReference",
    "Operator",
    "OwnerReference",
    "Patch",
    "PatchFn",
    "PermanentError",
    "RawBody",
    "RawEvent",
    "RawEventType",
    "Resource",
    "Settings",
    "Spec",
    "StartupError",
    "Status",
    "Store",
    "TemporaryError",
    "daemon",
    "index",
    "on",
    "timer",
]
