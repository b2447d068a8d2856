"""opframe: a Kopf-style Kubernetes operator framework with client-go's machinery underneath.

The public API is what this module exports; everything else may change.

    import opframe
    from opframe import on

    @on.create("websites.example.com")
    def created(spec, name, logger, **_):
        ...
"""

from opframe import on
from opframe.handlers.filters import ABSENT, PRESENT
from opframe.handlers.retries import PermanentError, TemporaryError
from opframe.kube.client import KubeClient
from opframe.kube.errors import ApiError
from opframe.kube.errors import Conflict as ApiConflict
from opframe.kube.errors import NotFound as ApiNotFound
from opframe.kube.resources import Resource
from opframe.on import daemon, index, timer
from opframe.runtime.daemons import DaemonStopped
from opframe.runtime.invocation import Memo, Patch
from opframe.runtime.operator import Operator, StartupError
from opframe.settings import Settings

__all__ = [
    "ABSENT",
    "PRESENT",
    "ApiConflict",
    "ApiError",
    "ApiNotFound",
    "DaemonStopped",
    "KubeClient",
    "Memo",
    "Operator",
    "Patch",
    "PermanentError",
    "Resource",
    "Settings",
    "StartupError",
    "TemporaryError",
    "daemon",
    "index",
    "on",
    "timer",
]
