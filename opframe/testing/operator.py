"""OperatorProcess: runs ``opframe run`` as a child process against a control plane, for e2e tests.

The operator runs exactly as users run it (its own process, its own signals), so a
test can SIGTERM it, ``kill -9`` it mid-retry, and start it again. Logs go to a file
that ``output()`` reads; stopping is always by the child's own pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: The line `opframe run` logs once its workers run.
STARTED_MARK = "opframe started"


class OperatorProcess:
    def __init__(self, files: Sequence[str | os.PathLike[str]], *, kubeconfig: str | os.PathLike[str],
                 args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.argv = [sys.executable, "-m", "opframe.cli", "run", *map(str, files), "--kubeconfig", str(kubeconfig),
                     *args]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._log_dir = tempfile.mkdtemp(prefix="opframe-operator-")
        self.log_path = Path(self._log_dir) / "operator.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> OperatorProcess:
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=self.env)
        return self

    def __enter__(self) -> OperatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.cleanup()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"operator exited ({self._process.returncode}) before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the operator's output within {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def wait_started(self, timeout: float = 60.0) -> OperatorProcess:
        self.wait_for_output(STARTED_MARK, timeout)
        return self

    def wait(self, timeout: float = 60.0) -> int:
        assert self._process is not None
        self.returncode = self._process.wait(timeout)
        return self.returncode

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.returncode = self._process.returncode
        return self.returncode

    def kill(self) -> None:
        """kill -9: no clean-up at all, as a crash or an OOM kill."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
            self.returncode = self._process.returncode

    def cleanup(self) -> None:
        import shutil

        shutil.rmtree(self._log_dir, ignore_errors=True)
