"""RunningCluster: what ``opframe cluster up`` records about itself, so that other commands
(``opframe cluster load``, ``opframe cluster logs``) can reach the cluster it runs.

Invariants:

* one record per ``cluster up`` process, ``<records folder>/<pid>.json``, written once the
  cluster is ready (a record never names a cluster that is still starting) and removed when
  it stops;
* a record whose process is gone (killed with SIGKILL, the machine rebooted) is ignored and
  removed by the next reader: a command never acts on a cluster that no longer exists;
* the record holds paths and pids only, no secrets (the kubeconfig it names is 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from opframe.testing.controlplane import cache_root

#: The command that makes a cluster a record can name.
UP_COMMAND = "opframe cluster up --node"


class NoRunningCluster(RuntimeError):
    """No (or more than one) cluster matches; the message names the fix."""


@dataclass(frozen=True)
class RunningCluster:
    pid: int
    kubeconfig: str
    server: str
    #: With ``--node``: the node's namespace holder, containerd's socket and the pods' log folder.
    node_holder_pid: int | None = None
    containerd_socket: str | None = None
    pod_logs: str | None = None

    @staticmethod
    def folder() -> Path:
        return cache_root() / "clusters"

    @property
    def path(self) -> Path:
        return self.folder() / f"{self.pid}.json"

    def write(self) -> None:
        self.folder().mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self)))
        temporary.replace(self.path)  # a reader sees the whole record or none

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    @classmethod
    def all(cls) -> list[RunningCluster]:
        """Every recorded cluster whose ``cluster up`` process still runs (stale records removed)."""
        found = []
        for path in sorted(cls.folder().glob("*.json")) if cls.folder().exists() else []:
            try:
                record = cls(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            if _alive(record.pid):
                found.append(record)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
        return found

    @classmethod
    def one(cls, *, pid: int | None = None, with_node: bool = False) -> RunningCluster:
        """The running cluster (the one with ``pid`` when given); with ``with_node``, one that has a node."""
        candidates = [c for c in cls.all() if (pid is None or c.pid == pid)
                      and (not with_node or c.node_holder_pid is not None)]
        kind = "with a node " if with_node else ""
        if not candidates:
            if pid is not None:
                raise NoRunningCluster(f"no local cluster {kind}runs as process {pid}; "
                                       f"'{cls.folder()}' lists the running ones")
            others = " (the running ones have no node: start one with --node)" if with_node and cls.all() else ""
            raise NoRunningCluster(f"no local cluster {kind}is running{others}; start one with '{UP_COMMAND}' "
                                   "in another terminal")
        if len(candidates) > 1:
            pids = ", ".join(str(c.pid) for c in candidates)
            raise NoRunningCluster(f"{len(candidates)} local clusters {kind}are running (processes {pids}); "
                                   "choose one with --cluster PID")
        return candidates[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
