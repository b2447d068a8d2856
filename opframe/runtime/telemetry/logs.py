"""Logging: the command line's set-up (text, JSON, or kopf's ``LogFormat``) and per-object loggers.

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

from opframe.cache.store import InvalidKeyError, object_key


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


class ObjectLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A per-object logger: prefixes each line with ``[namespace/name]`` and records the key as
    ``object`` (kopf's per-object loggers). Built from a key (the runtime's handlers' ``logger``)
    or, as kopf's constructor is called, from a body: ``ObjectLogger(body=body, settings=settings)``."""

    def __init__(self, *, body: Mapping[str, Any] | None = None, settings: Any = None, key: str | None = None) -> None:
        if key is None:
            try:
                key = object_key(body or {})
            except InvalidKeyError:
                key = "?"
        super().__init__(logging.getLogger("opframe.handlers"), {"object": key})

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        return f"[{extra.get('object', '?')}] {msg}", {**kwargs, "extra": {**kwargs.get("extra", {}), **extra}}


def object_logger(key: str) -> ObjectLogger:
    return ObjectLogger(key=key)
