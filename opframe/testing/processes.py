"""Child processes of the test kit: started in their own session, stopped by their own id.

Invariants:

* a ``ManagedProcess`` is stopped only through its own pid (SIGTERM, then SIGKILL
  after a grace period); nothing is ever killed by name;
* on Linux a child started from the main thread also gets
  ``PR_SET_PDEATHSIG(SIGKILL)``, so that if the Python process dies without running
  its clean-up (``kill -9``), the kernel kills the child instead of leaving an
  orphan holding ports and a data dir;
* stdout and stderr go to a log file, whose tail is quoted when the child dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# PR_SET_PDEATHSIG from <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1
# kube-apiserver drains in-flight requests on SIGTERM; a few seconds is plenty on loopback.
STOP_GRACE_SECONDS = 10.0
# How much of a dead child's log an error quotes: enough for Go's last error lines.
LOG_TAIL_LINES = 15


def _die_with_parent() -> Callable[[], None] | None:
    # The kernel sends PDEATHSIG when the creating *thread* exits, so a child started
    # from a short-lived thread would die with it; only the main thread lives as long
    # as the process.
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_pdeathsig() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return set_pdeathsig


class ManagedProcess:
    """One child process with a log file. ``stop()`` is idempotent."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent(),  # noqa: PLW1509 - a single prctl call
            )
        except BaseException:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        return self._popen.pid

    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self._popen.poll()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; always reaps the child."""
        try:
            if self._popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._popen.pid, signal.SIGTERM)
                try:
                    self._popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._popen.pid, signal.SIGKILL)
                    self._popen.wait()
        finally:
            self._log.close()
