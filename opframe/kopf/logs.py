"""kopf's logging API: ``configure()``, ``LogFormat``, ``ObjectLogger``, ``LocalObjectLogger``.

``configure()`` maps kopf's flags onto opframe's logging set-up (runtime/telemetry/logs.py);
the object loggers are opframe's own, which kopf's constructor signature builds too.
"""

from __future__ import annotations

from opframe.runtime.telemetry.logs import LogFormat, ObjectLogger, configure_logging

__all__ = ["LocalObjectLogger", "LogFormat", "ObjectLogger", "configure"]


def configure(debug: bool | None = None, verbose: bool | None = None, quiet: bool | None = None,
              log_format: LogFormat = LogFormat.FULL, log_prefix: bool | None = False,
              log_refkey: str | None = None) -> None:
    """kopf's ``configure()``: DEBUG with debug or verbose, WARNING with quiet, else INFO."""
    level = "DEBUG" if debug or verbose else "WARNING" if quiet else "INFO"
    configure_logging(level, "json" if log_format is LogFormat.JSON else log_format.name.lower())


class LocalObjectLogger(ObjectLogger):
    """kopf's logger that never posts its lines as Events (opframe's never do)."""
