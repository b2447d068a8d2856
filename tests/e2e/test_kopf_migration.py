"""Migrating a live kopf operator: kopf 1.45.2 (in its own venv, never an opframe dependency)
handles objects, is stopped mid-retry, and the same operator file under opframe
(``import opframe as kopf``, ``--adopt-kopf``) continues: nothing already handled runs
again, the retry in progress keeps its count, kopf's finalizer is honoured and released.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from operator_journal import Journal, journal  # noqa: F401 - the fixture

from opframe.kube import KubeClient, Resource, errors
from opframe.testing import ControlPlane, eventually, install_crd
from opframe.testing.operator import OperatorProcess

pytestmark = pytest.mark.e2e

KOPF_VENV = Path(os.environ.get("OPFRAME_CACHE_DIR") or Path.home() / ".cache" / "opframe") / "kopf-venv"
CRD = Path(__file__).parents[1] / "kopf_examples" / "upstream" / "crd.yaml"
KOPF = "kopf.zalando.org"

OPERATOR = '''
import json, os
import kopf

JOURNAL = os.environ["JOURNAL"]
FRAMEWORK = "opframe" if kopf.__name__ == "opframe" else "kopf"


def note(**entry):
    with open(JOURNAL, "a") as journal:
        journal.write(json.dumps({"framework": FRAMEWORK, **entry}) + "\\n")


@kopf.on.create("kopfexamples")
def create_done(name, **_):
    note(handler="create_done", name=name)


@kopf.on.create("kopfexamples")
def create_retrying(name, retry, spec, **_):
    note(handler="create_retrying", name=name, retry=retry)
    if retry < spec.get("succeed_at", 0):
        raise kopf.TemporaryError("not yet", delay=spec.get("delay", 1))


@kopf.on.update("kopfexamples")
def update_fn(name, diff, **_):
    note(handler="update_fn", name=name, diff=[list(map(str, d)) for d in diff])


@kopf.on.field("kopfexamples", field="spec.field")
def field_fn(name, old, new, **_):
    note(handler="field_fn", name=name, old=old, new=new)


@kopf.on.delete("kopfexamples")
def delete_fn(name, **_):
    note(handler="delete_fn", name=name)
'''


def kex(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kopf.dev/v1", "kind": "KopfExample",
            "metadata": {"name": name, "namespace": namespace, "labels": {"somelabel": "somevalue"},
                         "annotations": {"someannotation": "somevalue"}},
            "spec": {"field": "value", "items": ["item1", "item2"], **spec}}


def annotations(client: KubeClient, resource: Resource, namespace: str, name: str) -> dict[str, str]:
    return client.get(resource, name, namespace=namespace)["metadata"].get("annotations") or {}


@pytest.fixture(scope="module")
def kexes(kube_client: KubeClient) -> Resource:
    return install_crd(kube_client, yaml.safe_load(CRD.read_text()))


@contextlib.contextmanager
def kopf_running(control_plane: ControlPlane, namespace: str, notes: Journal, tmp_path: Path) -> Iterator[Path]:
    """The journalled OPERATOR run by kopf 1.45.2 (its own venv) in ``namespace`` for the block; yields
    the same operator's file for opframe (``import opframe as kopf``). kopf is stopped by its own id."""
    kopf = KOPF_VENV / "bin" / "kopf"
    assert kopf.exists(), f"kopf 1.45.2 is not installed in {KOPF_VENV}; run 'make kopf-venv'"
    source = textwrap.dedent(OPERATOR)
    kopf_file, opframe_file = tmp_path / "kopf_operator.py", tmp_path / "opframe_operator.py"
    kopf_file.write_text(source)
    opframe_file.write_text(source.replace("import kopf\n", "import opframe as kopf\n"))
    env = {**os.environ, "KUBECONFIG": str(control_plane.kubeconfig), "JOURNAL": str(notes.path)}
    with (tmp_path / "kopf.log").open("wb") as log:
        process = subprocess.Popen([str(kopf), "run", "--standalone", "-n", namespace, str(kopf_file)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            yield opframe_file
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def test_a_kopf_operator_stopped_mid_retry_continues_under_opframe(
        control_plane: ControlPlane, kube_client: KubeClient, kexes: Resource, namespace: str,
        journal: Journal, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    with kopf_running(control_plane, namespace, journal, tmp_path) as opframe_file:
        # done: fully handled by kopf. retrying: its second handler fails at retry 0 and 1 (8 s apart), succeeds at 2.
        kube_client.create(kexes, kex(namespace, "done"), namespace=namespace)
        kube_client.create(kexes, kex(namespace, "retrying", succeed_at=2, delay=8), namespace=namespace)
        eventually(lambda: f"{KOPF}/last-handled-configuration" in annotations(kube_client, kexes, namespace, "done"),
                   what="kopf to finish handling 'done'", timeout=60)
        eventually(lambda: '"retries":1' in annotations(kube_client, kexes, namespace, "retrying").get(
            f"{KOPF}/create_retrying", ""), what="kopf's record of the first failure of 'retrying'", timeout=60)
        # kopf runs one handler per cycle (its asap lifecycle): wait for the field handler's success too.
        eventually(lambda: '"success":true' in annotations(kube_client, kexes, namespace, "retrying").get(
            f"{KOPF}/field_fn.spec.field", ""), what="kopf's record of field_fn on 'retrying'", timeout=60)
    kopf_calls = journal.entries(framework="kopf")
    assert sorted(e["handler"] for e in kopf_calls if e["name"] == "done") == [
        "create_done", "create_retrying", "field_fn"]  # kopf: a field handler runs on creation too
    assert sorted((e["handler"], e.get("retry", -1)) for e in kopf_calls if e["name"] == "retrying") == [
        ("create_done", -1), ("create_retrying", 0), ("field_fn", -1)]
    retrying = kube_client.get(kexes, "retrying", namespace=namespace)
    assert f"{KOPF}/KopfFinalizerMarker" in retrying["metadata"]["finalizers"]
    assert f"{KOPF}/last-handled-configuration" not in retrying["metadata"]["annotations"]

    with OperatorProcess([opframe_file], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace, "--adopt-kopf"], env={"JOURNAL": str(journal.path)}) as operator:
        operator.wait_started()
        # The retry in progress continues with its count: retry=1 (fails), then retry=2 (succeeds).
        journal.wait_count(2, timeout=40, framework="opframe", handler="create_retrying")
        assert [e["retry"] for e in journal.entries(framework="opframe", handler="create_retrying")] == [1, 2]
        eventually(lambda: not any(k.startswith(f"{KOPF}/create") or k == f"{KOPF}/touch-dummy"
                                   for k in annotations(kube_client, kexes, namespace, "retrying")),
                   what="kopf's progress records cleared once the cause finished")
        time.sleep(2)  # anything that would re-run would do so by now
        # Nothing kopf had finished runs again: no create_done, no update, no field handler, on either object.
        assert [e["handler"] for e in journal.entries(framework="opframe")] == ["create_retrying", "create_retrying"]
        for name in ("done", "retrying"):
            finalizers = kube_client.get(kexes, name, namespace=namespace)["metadata"]["finalizers"]
            assert finalizers == [f"{KOPF}/KopfFinalizerMarker"]  # honoured: no second finalizer added
        # A change after the take-over is an ordinary update, against kopf's diff-base.
        kube_client.patch(kexes, "done", {"spec": {"field": "changed"}}, namespace=namespace)
        journal.wait_count(1, framework="opframe", handler="field_fn")
        assert journal.entries(framework="opframe", handler="field_fn")[0]["old"] == "value"
        # kopf's finalizer is released after the delete handler.
        for name in ("done", "retrying"):
            kube_client.delete(kexes, name, namespace=namespace)

        def gone(name: str) -> bool:
            try:
                kube_client.get(kexes, name, namespace=namespace)
            except errors.NotFound:
                return True
            return False

        eventually(lambda: gone("done") and gone("retrying"), what="both objects deleted", timeout=30)
        assert sorted(e["name"] for e in journal.entries(framework="opframe", handler="delete_fn")) == [
            "done", "retrying"]


def test_without_adopt_kopf_opframe_warns_before_it_handles_kopfs_objects_again(
        control_plane: ControlPlane, kube_client: KubeClient, kexes: Resource, namespace: str,
        journal: Journal, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    """The migration the other way round: forgetting --adopt-kopf is never silent. An object kopf handled
    (its diff-base on it, none of ours) is handled as new, and the operator's log says so with the fix;
    an object kopf never saw is handled with no such warning."""
    with kopf_running(control_plane, namespace, journal, tmp_path) as opframe_file:
        kube_client.create(kexes, kex(namespace, "by-kopf"), namespace=namespace)
        eventually(lambda: f"{KOPF}/last-handled-configuration" in annotations(
            kube_client, kexes, namespace, "by-kopf"), what="kopf to finish handling 'by-kopf'", timeout=60)
    kube_client.create(kexes, kex(namespace, "new"), namespace=namespace)
    with OperatorProcess([opframe_file], kubeconfig=control_plane.kubeconfig,
                         args=["-n", namespace], env={"JOURNAL": str(journal.path)}) as operator:
        operator.wait_started()
        journal.wait_count(2, timeout=40, framework="opframe", handler="create_done")
        warning = "the object was handled by kopf (its bookkeeping is on it) but --adopt-kopf is not set"
        lines = [line for line in operator.output().splitlines() if warning in line]
        assert len(lines) == 1 and f"[{namespace}/by-kopf]" in lines[0], operator.output()[-3000:]
        assert "run with --adopt-kopf (OPFRAME_ADOPT_KOPF=true)" in lines[0]
