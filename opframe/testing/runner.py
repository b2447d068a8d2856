"""KopfRunner: run an operator in-process for the length of a ``with`` block (kopf's test helper).

    with KopfRunner(["run", "-A", "--standalone", "operator.py"], timeout=60) as runner:
        ...  # create objects, wait for what the operator does
    assert runner.exit_code == 0 and runner.exception is None
    assert runner.handlers("default/my-object") == ["create_fn"]

The command runs in a thread through click's CliRunner (so its output is captured) with
a stop flag set when the block ends. As kopf's, leaving the block re-raises what the run
raised (with ``reraise=True``, the default), a failed run's ``SystemExit`` included.
Beyond kopf's properties (``output``, ``stdout``, ``stderr``, ``stdout_bytes``,
``stderr_bytes``, ``exit_code``, ``exception``, ``exc_info``, ``future``), ``journal`` holds
every handler outcome per object, so a test asserts outcomes rather than log lines.

The operator's decorators register into a registry of the runner's own (a copy of the
default registry as it was, unless ``registry=`` is given), so several runners in one
test session do not see each other's handlers. This module is the one part of the test
kit that imports the operator pipeline; ``opframe.testing`` loads it only when asked.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import sys
import threading
import types
from typing import Any, Literal

import click.testing

from opframe import cli
from opframe.handlers.registry import Registry, get_default_registry
from opframe.kopf.settings import OperatorSettings
from opframe.kube.config import kubernetes_default_location, set_kubernetes_default_location
from opframe.runtime.telemetry.journal import Journal


class _LogLines(logging.Handler):
    """Keeps the formatted log lines of the run (thread-safe, as logging handlers are)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(list(self.lines))


def _restore(environment: dict[str, str | None]) -> None:
    """Put $KUBECONFIG and the ``kubernetes`` package's default kubeconfig location back as they were."""
    if environment["KUBECONFIG"] is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = environment["KUBECONFIG"]
    if environment["kubernetes"] is not None:
        set_kubernetes_default_location(environment["kubernetes"])


class KopfRunner:
    def __init__(self, *args: Any, reraise: bool = True, timeout: float | None = None,
                 registry: Registry | None = None, settings: OperatorSettings | None = None, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.reraise = reraise
        self.timeout = timeout
        if registry is None:
            registry = Registry()
            for handler in get_default_registry().handlers():
                registry.add(handler)
        self.registry = registry
        self.settings = settings
        self.journal = Journal()
        self._log = _LogLines()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._target, name="opframe-kopf-runner", daemon=True)
        self._future: concurrent.futures.Future[click.testing.Result] = concurrent.futures.Future()
        self._notices: tuple[str, ...] = ()

    def __enter__(self) -> KopfRunner:
        self._environment = {"KUBECONFIG": os.environ.get("KUBECONFIG"), "kubernetes": kubernetes_default_location()}
        self.journal.__enter__()
        logging.getLogger().addHandler(self._log)
        try:
            self._target_the_test_cluster()
        except BaseException:
            logging.getLogger().removeHandler(self._log)
            self.journal.__exit__()
            raise
        self._thread.start()
        return self

    def _target_the_test_cluster(self) -> None:
        """In a pytest session, ``opframe run`` without ``--kubeconfig`` runs against the session's control
        plane (the pytest plugin's ``control_plane``, started now if need be): never against whatever
        ``$KUBECONFIG`` or ``~/.kube/config`` the machine has. A command naming ``--kubeconfig`` runs
        where it says."""
        command = list(self.args[0]) if self.args and isinstance(self.args[0], (list, tuple)) else []
        if not command or command[0] != "run" or any(
                arg == "--kubeconfig" or arg.startswith("--kubeconfig=") for arg in command):
            return
        if "opframe.testing.pytest_plugin" not in sys.modules:
            return  # not in a pytest session with opframe's plugin
        from opframe.testing.pytest_plugin import session_control_plane

        plane = session_control_plane()
        if plane is None:
            return
        self.args = (["run", "--kubeconfig", str(plane.kubeconfig), *command[1:]], *self.args[1:])
        # Said in the run's own log, once its logging is configured (a level left by an earlier run in the
        # same process would hide it now).
        self._notices = (f"KopfRunner: the operator runs against the test session's control plane {plane.server} "
                         "(give --kubeconfig to run it elsewhere)",)

    def __exit__(self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
                 exc_tb: types.TracebackType | None) -> Literal[False]:
        self._stop.set()
        self._thread.join(timeout=self.timeout)
        self.journal.__exit__()
        logging.getLogger().removeHandler(self._log)
        if self._thread.is_alive():
            raise RuntimeError("the operator did not stop within the runner's timeout; it is still running")
        _restore(self._environment)  # what --kubeconfig exported for the handlers' clients
        error = self._future.exception()
        if error is not None:
            raise error from exc_val
        error = self._future.result().exception  # None after exit code 0 (click's rule)
        if error is not None and self.reraise:
            raise error from exc_val  # kopf's too: a failed run (SystemExit(1)) fails the block
        return False

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the operator handles (caches synced); False if it ended or the timeout passed first."""
        deadline = threading.Event()
        while not self._ready.is_set() and not self._future.done():
            if deadline.wait(0.05) or (timeout is not None and (timeout := timeout - 0.05) <= 0):
                break
        return self._ready.is_set()

    @property
    def log(self) -> str:
        """Every log line so far, while the operator runs (``output`` is there only after the block)."""
        return self._log.text()

    def handlers(self, key: str, outcome: str = "succeeded") -> list[str]:
        """Ids of the handlers that ended with ``outcome`` for one object (``namespace/name``)."""
        return self.journal.handlers(key, outcome)

    def _target(self) -> None:
        try:
            controls = cli.RunControls(registry=self.registry, settings=self.settings, stop_flag=self._stop,
                                       ready_flag=self._ready, notices=self._notices)
            result = click.testing.CliRunner().invoke(cli.main, *self.args, **self.kwargs, obj=controls)
        except BaseException as error:
            self._future.set_exception(error)
        else:
            self._future.set_result(result)

    @property
    def future(self) -> concurrent.futures.Future[click.testing.Result]:
        return self._future

    @property
    def output(self) -> str:
        return self._future.result().output

    @property
    def stdout(self) -> str:
        return self._future.result().stdout

    @property
    def stderr(self) -> str:
        return self._future.result().stderr

    @property
    def stdout_bytes(self) -> bytes:
        return self._future.result().stdout_bytes

    @property
    def stderr_bytes(self) -> bytes:
        return self._future.result().stderr_bytes or b""

    @property
    def exit_code(self) -> int:
        return self._future.result().exit_code

    @property
    def exception(self) -> BaseException | None:
        error = self._future.result().exception
        return None if isinstance(error, SystemExit) and error.code == 0 else error

    @property
    def exc_info(self) -> Any:
        return self._future.result().exc_info
