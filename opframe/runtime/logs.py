"""Logging set-up: the command line's and kopf's ``configure()``/``LogFormat``, and kopf's
``ObjectLogger`` constructor.

Object loggers prefix each line with ``[namespace/name]`` (kopf's prefix) and carry the
object's key in the record (``object``), which the JSON format writes as a field.
Invariant: configuring twice replaces the handler installed before (never two copies of
every line).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from typing import Any

from opframe.runtime import invocation


class LogFormat(enum.Enum):
    """kopf's log formats: the message alone, with time/logger/level, or JSON lines."""

    PLAIN = "%(message)s"
    FULL = "[%(asctime)s] %(name)-20.20s [%(levelname)-8.8s] %(message)s"
    JSON = "-json-"


#: opframe's own text format (``--log-format text``).
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if hasattr(record, "object"):
            entry["object"] = record.object
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _OperatorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure() installs (recognised, so a second configure() replaces it)."""


def configure_logging(level: str, fmt: str) -> None:
    """opframe's set-up: ``fmt`` is ``text``, ``json``, or kopf's ``plain``/``full``."""
    handler = _OperatorHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif fmt in ("plain", "full"):
        handler.setFormatter(logging.Formatter(LogFormat[fmt.upper()].value))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _OperatorHandler)] + [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def configure(debug: bool | None = None, verbose: bool | None = None, quiet: bool | None = None,
              log_format: LogFormat = LogFormat.FULL, log_prefix: bool | None = False,
              log_refkey: str | None = None) -> None:
    """kopf's ``configure()``: DEBUG with debug or verbose, WARNING with quiet, else INFO."""
    level = "DEBUG" if debug or verbose else "WARNING" if quiet else "INFO"
    configure_logging(level, "json" if log_format is LogFormat.JSON else log_format.name.lower())


def _key(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    name = metadata.get("name", "?")
    return f"{metadata['namespace']}/{name}" if metadata.get("namespace") else str(name)


class ObjectLogger(invocation.ObjectLogger):
    """kopf's constructor of a per-object logger: ``ObjectLogger(body=body, settings=settings)``."""

    def __init__(self, *, body: Mapping[str, Any], settings: Any = None) -> None:
        super().__init__(logging.getLogger("opframe.handlers"), {"object": _key(body)})


class LocalObjectLogger(ObjectLogger):
    """kopf's logger that never posts its lines as Events (opframe's never do)."""
