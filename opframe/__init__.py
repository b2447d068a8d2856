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
from opframe.on import daemon, index, timer
from opframe.runtime.daemons import DaemonStopped
from opframe.runtime.invocation import Memo, Patch
from opframe.runtime.operator import Operator, StartupError
from opframe.settings import Settings

__all__ = [
    "ABSENT",
    "PRESENT",
    "DaemonStopped",
    "Memo",
    "Operator",
    "Patch",
    "PermanentError",
    "Settings",
    "StartupError",
    "TemporaryError",
    "daemon",
    "index",
    "on",
    "timer",
]
