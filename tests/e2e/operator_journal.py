"""Shared by the operator e2e tests: a journal the handlers write, and an operator factory.

Each operator runs as its own process, exactly as users run it. Its handlers append
one JSON line per invocation to a journal file, which the tests read from outside.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import ControlPlane, eventually
from opframe.testing.operator import OperatorProcess

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)

PRELUDE = '''
import json, os, time
import opframe
from opframe import on

JOURNAL = os.environ["JOURNAL"]

def note(**entry):
    with open(JOURNAL, "a") as journal:
        journal.write(json.dumps(entry, default=str) + "\\n")
'''


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def entries(self, **match: Any) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [e for e in lines if all(e.get(k) == v for k, v in match.items())]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        eventually(predicate, what=lambda: f"{what}; journal: {self.entries()[-10:]}", timeout=timeout)

    def wait_count(self, count: int, timeout: float = 30.0, **match: Any) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.entries(**match)) >= count, timeout, f"{count} x {match}")
        return self.entries(**match)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture
def operator_factory(control_plane: ControlPlane, tmp_path: Path, journal: Journal) -> Iterator[
        Callable[..., OperatorProcess]]:
    started: list[OperatorProcess] = []

    def make(code: str, *args: str) -> OperatorProcess:
        path = tmp_path / f"operator_{uuid.uuid4().hex[:6]}.py"
        path.write_text(PRELUDE + textwrap.dedent(code))
        process = OperatorProcess([path], kubeconfig=control_plane.kubeconfig, args=args,
                                  env={"JOURNAL": str(journal.path)})
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()
        process.cleanup()


def configmap(namespace: str, name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": "test"}},
            "data": data}


def namespaced_crd(group: str, kind: str, schema: dict[str, Any], *,
                   subresources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CRD of one served version v1, plural ``kind.lower() + "s"``, with this openAPIV3Schema."""
    plural = kind.lower() + "s"
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}
    if subresources is not None:
        version["subresources"] = subresources
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind}, "versions": [version]}}


def wait_gone(client: KubeClient, name: str, namespace: str, timeout: float = 30) -> None:
    def gone() -> bool:
        try:
            client.get(CONFIGMAPS, name, namespace=namespace)
        except errors.NotFound:
            return True
        return False

    eventually(gone, what=f"{namespace}/{name} to be deleted", timeout=timeout)


