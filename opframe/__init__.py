"""opframe: a Kopf-style Kubernetes operator framework with client-go's machinery underneath.

The public API is what this module exports; everything else may change. It is a superset
of kopf 1.45's: every kopf name exists here with kopf's meaning, so a kopf operator runs
with ``import opframe as kopf``; opframe's own names (``Operator``, ``Settings``,
``KubeClient``, ``ApiError``...) clash with none of kopf's.

    import opframe
    from opframe import on

    @on.create("websites.example.com")
    def created(spec, name, logger, **_):
        ...
"""

from opframe import on
from opframe.handlers.causes import Reason
from opframe.handlers.filters import ABSENT, EVERYTHING, PRESENT, all_, any_, none_, not_
from opframe.handlers.memos import Memo
from opframe.handlers.registry import OperatorRegistry, get_default_registry, set_default_registry
from opframe.handlers.retries import (
    ErrorsMode,
    HandlerRetriesError,
    HandlerTimeoutError,
    PermanentError,
    TemporaryError,
)
from opframe.handlers.subhandlers import register, subhandler
from opframe.kopf import lifecycles
from opframe.kopf.embedding import operator, run, run_tasks, spawn_tasks
from opframe.kopf.hierarchies import (
    adjust_namespace,
    adopt,
    append_owner_reference,
    build_object_reference,
    build_owner_reference,
    harmonize_naming,
    label,
    remove_owner_reference,
)
from opframe.kopf.lifecycles import get_default_lifecycle, set_default_lifecycle
from opframe.kopf.logs import LocalObjectLogger, configure
from opframe.kopf.posting import event, exception, info, warn
from opframe.kopf.reviews import (
    AdmissionError,
    Headers,
    Operation,
    SSLPeer,
    UserInfo,
    WebhookClientConfig,
    WebhookClientConfigService,
    WebhookFn,
    WebhookServerProtocol,
)
from opframe.kopf.settings import (
    AnnotationsDiffBaseStorage,
    AnnotationsProgressStorage,
    DiffBaseStorage,
    MultiDiffBaseStorage,
    MultiProgressStorage,
    OperatorSettings,
    ProgressRecord,
    ProgressStorage,
    SmartProgressStorage,
    StatusDiffBaseStorage,
    StatusProgressStorage,
)
from opframe.kopf.webhooks import (
    WebhookAutoServer,
    WebhookAutoTunnel,
    WebhookDockerDesktopServer,
    WebhookK3dServer,
    WebhookMinikubeServer,
    WebhookNgrokTunnel,
    WebhookServer,
)
from opframe.kube.client import KubeClient
from opframe.kube.credentials import (
    AiohttpSession,
    ConnectionInfo,
    LoginError,
    login_via_async_client,
    login_via_client,
    login_via_pykube,
    login_with_kubeconfig,
    login_with_service_account,
)
from opframe.kube.errors import ApiError
from opframe.kube.errors import Conflict as ApiConflict
from opframe.kube.errors import NotFound as ApiNotFound
from opframe.kube.resources import Resource
from opframe.models.resource import CustomResource, PrinterColumn, Scale
from opframe.objects.bodies import (
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
    RawBody,
    RawEvent,
    RawEventType,
    Spec,
    Status,
)
from opframe.objects.diffs import Diff, DiffItem, DiffOperation
from opframe.objects.patches import Patch, PatchFn
from opframe.on import daemon, index, timer
from opframe.runtime.execution.parents import execute
from opframe.runtime.execution.stopping import DaemonStopped, DaemonStoppingReason
from opframe.runtime.operator.operator import Operator, StartupError
from opframe.runtime.reconcile.indexes import Index, Store
from opframe.runtime.telemetry.logs import LogFormat, ObjectLogger
from opframe.settings import Settings

#: kopf's deprecated names of the daemons' stop flags.
SyncDaemonStopperChecker = DaemonStopped
AsyncDaemonStopperChecker = DaemonStopped

__all__ = [
    "ABSENT",
    "EVERYTHING",
    "PRESENT",
    "AdmissionError",
    "AiohttpSession",
    "Annotations",
    "AnnotationsDiffBaseStorage",
    "AnnotationsProgressStorage",
    "ApiConflict",
    "ApiError",
    "ApiNotFound",
    "AsyncDaemonStopperChecker",
    "Body",
    "BodyEssence",
    "ConnectionInfo",
    "CustomResource",
    "DaemonStopped",
    "DaemonStoppingReason",
    "Diff",
    "DiffBaseStorage",
    "DiffItem",
    "DiffOperation",
    "ErrorsMode",
    "FieldPath",
    "FieldSpec",
    "HandlerId",
    "HandlerRetriesError",
    "HandlerTimeoutError",
    "Headers",
    "Index",
    "KubeClient",
    "Labels",
    "LocalObjectLogger",
    "LogFormat",
    "Logger",
    "LoginError",
    "Memo",
    "Meta",
    "MultiDiffBaseStorage",
    "MultiProgressStorage",
    "ObjectLogger",
    "ObjectReference",
    "Operation",
    "Operator",
    "OperatorRegistry",
    "OperatorSettings",
    "OwnerReference",
    "Patch",
    "PatchFn",
    "PermanentError",
    "PrinterColumn",
    "ProgressRecord",
    "ProgressStorage",
    "RawBody",
    "RawEvent",
    "RawEventType",
    "Reason",
    "Resource",
    "SSLPeer",
    "Scale",
    "Settings",
    "SmartProgressStorage",
    "Spec",
    "StartupError",
    "Status",
    "StatusDiffBaseStorage",
    "StatusProgressStorage",
    "Store",
    "SyncDaemonStopperChecker",
    "TemporaryError",
    "UserInfo",
    "WebhookAutoServer",
    "WebhookAutoTunnel",
    "WebhookClientConfig",
    "WebhookClientConfigService",
    "WebhookDockerDesktopServer",
    "WebhookFn",
    "WebhookK3dServer",
    "WebhookMinikubeServer",
    "WebhookNgrokTunnel",
    "WebhookServer",
    "WebhookServerProtocol",
    "adjust_namespace",
    "adopt",
    "all_",
    "any_",
    "append_owner_reference",
    "build_object_reference",
    "build_owner_reference",
    "configure",
    "daemon",
    "event",
    "exception",
    "execute",
    "get_default_lifecycle",
    "get_default_registry",
    "harmonize_naming",
    "index",
    "info",
    "label",
    "lifecycles",
    "login_via_async_client",
    "login_via_client",
    "login_via_pykube",
    "login_with_kubeconfig",
    "login_with_service_account",
    "none_",
    "not_",
    "on",
    "operator",
    "register",
    "remove_owner_reference",
    "run",
    "run_tasks",
    "set_default_lifecycle",
    "set_default_registry",
    "spawn_tasks",
    "subhandler",
    "timer",
    "warn",
]
