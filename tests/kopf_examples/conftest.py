"""Fixtures of the kopf parity tests: kopf's example CRD and object, and operators run in-process."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kopf_ports import UPSTREAM, output_of, ported

from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.testing import ControlPlane, KopfRunner, install_crd


@pytest.fixture(scope="module")
def kex(kube_client: KubeClient) -> Resource:
    return install_crd(kube_client, yaml.safe_load((UPSTREAM / "crd.yaml").read_text()))


@pytest.fixture
def obj(namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((UPSTREAM / "obj.yaml").read_text())
    body["metadata"]["namespace"] = namespace
    return body


@pytest.fixture
def example(control_plane: ControlPlane, namespace: str, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., KopfRunner]]:
    """Start an example's operator in-process; every runner is stopped after the test, and a runner
    that exited on its own with an error fails the test (an operator that crashed is never missed).

    ``kubeconfig`` replaces the ``--kubeconfig`` given to the operator (the examples' own pykube calls
    read ``$KUBECONFIG``, always the test cluster's); ``standalone=False`` leaves ``--standalone`` out.
    """
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))  # pykube in the examples reads it
    runners: list[tuple[str, KopfRunner]] = []

    def start(name: str = "", *args: str, source: str = "", kubeconfig: Path | None = None,
              standalone: bool = True, **kwargs: Any) -> KopfRunner:
        """Run the upstream example ``name`` ported, or the operator ``source`` (kopf-style code)."""
        if source:
            path = tmp_path / "operator.py"
            path.write_text(textwrap.dedent(source))
            name = name or "operator"
        else:
            path = ported(name, tmp_path)
        flags = ["--standalone"] if standalone else []
        runner = KopfRunner(["run", "-n", namespace, *flags, "--verbose", "--kubeconfig",
                             str(kubeconfig or control_plane.kubeconfig), *args, str(path)], timeout=60, **kwargs)
        runner.__enter__()
        runners.append((name, runner))
        assert runner.wait_ready(60), f"{name} did not start:\n{output_of(runner)}"
        return runner

    yield start
    crashed = [(name, runner) for name, runner in runners if runner.future.done() and runner.exit_code != 0]
    for name, runner in runners:
        if (name, runner) not in crashed:
            runner.__exit__(None, None, None)
    assert not crashed, "; ".join(f"{name} exited with {runner.exit_code} before the test ended:\n"
                                  f"{output_of(runner)[-3000:]}" for name, runner in crashed)
