"""kopf's posting helpers: ``event()``, ``info()``, ``warn()``, ``exception()`` from handlers.

They queue a Kubernetes Event about one object or a (nested) list of objects on the
running operator's EventRecorder, so posting never waits for the API server (and goes
through the recorder's per-object spam filter). As in kopf:

* ``settings.posting.enabled`` off: ``event``, ``info`` and ``exception`` post nothing
  (``warn`` still does, gated by the level only);
* ``settings.posting.level`` gates ``info`` (INFO), ``warn`` (WARNING), ``exception`` (ERROR);
* ``exception()`` takes the exception being handled when none is given: its class name is
  the default reason, and the message is ``"<message> <exception>"``; its type is ``Error``.

Invariant: the helpers post through the operator that runs the calling handler; with
several operators in one process, the most recently started one that is still running
(threads do not inherit context variables, so there is no finer route).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opframe.kopf.settings import OperatorSettings
from opframe.runtime.operator.operator import running
from opframe.runtime.telemetry.events import EventRecorder


def _current() -> tuple[EventRecorder, OperatorSettings]:
    operator = running()
    if operator is None or operator.events is None:
        raise LookupError("kopf.event()/info()/warn()/exception() post through a running operator; call them "
                          "from a handler (or after Operator.start())")
    view = operator.settings_view
    return operator.events, view if isinstance(view, OperatorSettings) else _DEFAULTS


#: kopf's posting defaults, for an operator started without kopf's settings view.
_DEFAULTS = OperatorSettings()


def _walk(objs: Any) -> Iterator[Mapping[str, Any]]:
    """Bodies in ``objs``: one body (a mapping, or an object with a body in ``.obj``/``.to_dict()``),
    or any nesting of iterables of them."""
    if isinstance(objs, Mapping):
        yield objs
    elif hasattr(objs, "obj") and isinstance(objs.obj, Mapping):  # pykube-ng objects
        yield objs.obj
    elif hasattr(objs, "to_dict") and hasattr(objs, "metadata"):  # kubernetes client models
        from kubernetes.client import ApiClient  # the kubernetes package is a dependency

        yield ApiClient().sanitize_for_serialization(objs)  # type: ignore[no-untyped-call]
    elif isinstance(objs, Iterable) and not isinstance(objs, str | bytes):
        for obj in objs:
            yield from _walk(obj)
    else:
        raise TypeError(f"cannot post an Event about {type(objs).__name__}: give a body (a dict) or a list of them")


def _post(objs: Any, type_: str, reason: str, message: str) -> None:
    recorder, _ = _current()
    for body in _walk(objs):
        recorder.post(body, type_=type_, reason=reason, message=message)


def event(objs: Any, *, type: str, reason: str, message: str = "",
          backoffs: float | Iterable[float] | None = None) -> None:
    """Post an Event of any ``type`` about ``objs``."""
    if _current()[1].posting.enabled:
        _post(objs, type, reason, message)


def info(objs: Any, *, reason: str, message: str = "", backoffs: float | Iterable[float] | None = None) -> None:
    """Post a ``Normal`` Event about ``objs``."""
    settings = _current()[1]
    if settings.posting.enabled and settings.posting.level <= logging.INFO:
        _post(objs, "Normal", reason, message)


def warn(objs: Any, *, reason: str, message: str = "", backoffs: float | Iterable[float] | None = None) -> None:
    """Post a ``Warning`` Event about ``objs``."""
    if _current()[1].posting.level <= logging.WARNING:
        _post(objs, "Warning", reason, message)


def exception(objs: Any, *, reason: str = "", message: str = "", exc: BaseException | None = None,
              backoffs: float | Iterable[float] | None = None) -> None:
    """Post an ``Error`` Event about ``objs`` for ``exc`` (default: the exception being handled)."""
    if exc is None:
        exc = sys.exc_info()[1]
    reason = reason or type(exc).__name__
    message = f"{message} {exc}" if message and exc else f"{exc}" if exc else message
    settings = _current()[1]
    if settings.posting.enabled and settings.posting.level <= logging.ERROR:
        _post(objs, "Error", reason, message)
