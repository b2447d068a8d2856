"""The current owner: the object whose handler (or daemon) runs in this context.

The runtime sets it around every call of user code (runtime/execution/calls.py, daemons);
kopf's ``adopt()``, ``label()``, ``harmonize_naming()`` and ``adjust_namespace()`` read it when
no owner is given. A context variable: async tasks a handler creates inherit it; threads do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

current_owner: ContextVar[Mapping[str, Any] | None] = ContextVar("opframe_current_owner", default=None)
