"""kopf 1.45.2's examples (tests/kopf_examples/upstream, unchanged, MIT) as a test input, and what
the tests read back from the API server.

``ported(name)`` copies one example into a temporary folder with the only change a kopf
user makes: ``import kopf`` -> ``import opframe as kopf`` (and ``kopf.testing`` ->
``opframe.testing``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.testing import KopfRunner

UPSTREAM = Path(__file__).parent / "upstream"
EXAMPLES = sorted(p.name for p in UPSTREAM.iterdir() if p.is_dir())


def port(text: str) -> str:
    text = re.sub(r"^import kopf$", "import opframe as kopf", text, flags=re.M)
    text = re.sub(r"^import kopf\.testing$", "import opframe.testing", text, flags=re.M)
    text = re.sub(r"^from kopf\.testing import", "from opframe.testing import", text, flags=re.M)
    return text


def ported(name: str, folder: Path) -> Path:
    """The example's files in ``folder``, ported; returns the path of its example.py."""
    for source in (UPSTREAM / name).iterdir():
        if source.suffix == ".py":
            (folder / source.name).write_text(port(source.read_text()))
    return folder / "example.py"


PODS = Resource("", "v1", "pods", "Pod")
EVENTS = Resource("", "v1", "events", "Event")
NAME = "kopf-example-1"
#: opframe's annotations (its default prefix) on objects it handled.
DIFF_BASE = "opframe.dev/last-handled-configuration"
PROGRESS = "opframe.dev/progress"
FINALIZER = "opframe.dev/finalizer"


def output_of(runner: KopfRunner) -> str:
    return runner.output if runner.future.done() else "(still running)"


def get(client: KubeClient, kex: Resource, namespace: str) -> dict[str, Any]:
    return client.get(kex, NAME, namespace=namespace)


def annotations_of(body: dict[str, Any]) -> dict[str, str]:
    return body["metadata"].get("annotations") or {}


def gone(client: KubeClient, kex: Resource, namespace: str) -> bool:
    try:
        get(client, kex, namespace)
    except errors.NotFound:
        return True
    return False


def events_of(client: KubeClient, namespace: str, uid: str) -> list[tuple[str, str, str]]:
    items = client.list(EVENTS, namespace=namespace).items
    return sorted((e["type"], e["reason"], e.get("message", "")) for e in items
                  if e["involvedObject"].get("uid") == uid)


def handled(client: KubeClient, kex: Resource, namespace: str) -> dict[str, Any] | None:
    """The object once a cause is fully handled: a diff-base and no progress left."""
    body = get(client, kex, namespace)
    annotations = annotations_of(body)
    return body if DIFF_BASE in annotations and PROGRESS not in annotations else None
