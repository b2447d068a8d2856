"""The differential harness: one operator file, unchanged, run under kopf 1.45.2 and under opframe.

A *case* is a directory of ``corpus/``: the operator (``operator.py``, vendored as published,
with its files; or ``operator:`` in case.yaml, a path relative to the case, for kopf's examples
vendored once in tests/kopf_examples/upstream), ``case.yaml`` (source, licence, cluster,
manifests, what to watch, the steps a user takes) and whatever the operator reads. For each
engine the case's files are copied to a fresh directory (for opframe with ``import kopf``
swapped for ``import opframe as kopf``, nothing else), and the operator runs as its own process
in a namespace of its own on the same cluster, one engine after the other. After each step the
harness waits until what it observes stops changing and takes a *snapshot*: the watched objects,
the Events in the namespace and the handlers' calls (from the operator's log lines "Handler 'x'
succeeded." and the like, which both engines write).

Snapshots are normalised before they are compared: server-assigned metadata (uid,
resourceVersion, timestamps, managedFields, generation), the namespace's name, and each engine's
bookkeeping (kopf's and opframe's annotations, ``status.kopf``; their finalizers read as one
name) are left out. Every other difference fails, unless ``intended.yaml`` lists it (by path
pattern) with its reason; docs/migrating-from-kopf.md shows that table to users.

Invariant: the harness never changes the operator's code beyond the import, and never runs kopf
in opframe's environment (kopf comes from its own venv, as a user would install it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from opframe.kube import KubeClient, Resource, errors

CORPUS = Path(__file__).parent / "corpus"
INTENDED = Path(__file__).parent / "intended.yaml"
KOPF_VENV = Path(os.environ.get("OPFRAME_CACHE_DIR") or Path.home() / ".cache" / "opframe") / "kopf-venv"

ENGINES = ("kopf", "opframe")

#: How long what the harness observes must stay unchanged to count as settled: longer than an
#: operator's reaction to a change (well under a second for both) and than the GC's sweep.
QUIET_SECONDS = 2.5
#: The most a step may take to settle; a step still changing then is compared as it stands.
SETTLE_LIMIT_SECONDS = 45.0
POLL_SECONDS = 0.25
#: How long an operator may take to answer its liveness probe (kopf: after its startup handlers).
READY_SECONDS = 60.0
STOP_SECONDS = 20.0

#: Annotation prefixes that hold an engine's bookkeeping (left out of the comparison).
BOOKKEEPING_PREFIXES = ("kopf.zalando.org/", "opframe.dev/")
#: Finalizers of the two engines; each reads as FRAMEWORK_FINALIZER.
FRAMEWORK_FINALIZERS = ("kopf.zalando.org/KopfFinalizerMarker", "opframe.dev/finalizer")
FRAMEWORK_FINALIZER = "<framework finalizer>"
NAMESPACE = "<namespace>"
ABSENT = "<absent>"
#: Metadata the API server assigns; it differs between any two runs.
SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                   "namespace")

HANDLER_LINE = re.compile(
    r"\[(?P<object>[^\]\s]+)\] (?P<what>Handler|Timer|Daemon) '(?P<id>[^']+)' "
    r"(?P<outcome>succeeded|failed temporarily|failed permanently|failed with an exception)")


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    path: Path
    spec: Mapping[str, Any]

    @property
    def cluster(self) -> str:
        return str(self.spec.get("cluster", "plain"))

    @property
    def watched(self) -> list[Resource]:
        return [resource_of(entry) for entry in self.spec.get("watch", [])]

    @property
    def alone(self) -> bool:
        """Run with no other case in flight: an operator that serves every namespace (or watches
        Namespaces) would see other cases' namespaces and objects come and go."""
        return bool(self.spec.get("alone", False))

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        return list(self.spec.get("steps", []))

    def manifests(self) -> Iterator[dict[str, Any]]:
        for name in self.spec.get("manifests", []):
            yield from (doc for doc in yaml.safe_load_all((self.path / name).read_text()) if doc)


def cases() -> list[Case]:
    return [Case(path.name, path, yaml.safe_load((path / "case.yaml").read_text()))
            for path in sorted(CORPUS.iterdir()) if (path / "case.yaml").exists()]


def resource_of(entry: Mapping[str, Any]) -> Resource:
    group, _, version = str(entry["apiVersion"]).rpartition("/")
    return Resource(group, version, str(entry["plural"]), str(entry.get("kind", "")),
                    namespaced=bool(entry.get("namespaced", True)))


# -- running one engine -------------------------------------------------------------------------------

SWAPS = ((re.compile(r"^(\s*)import kopf(\s*(?:#.*)?)$", re.M), r"\1import opframe as kopf\2"),
         (re.compile(r"^(\s*)from kopf import ", re.M), r"\1from opframe import "))


def swapped(source: str) -> str:
    """The operator's code with kopf's import swapped for opframe's: the one change a user makes."""
    for pattern, replacement in SWAPS:
        source = pattern.sub(replacement, source)
    return source


def prepare_files(case: Case, engine: str, workdir: Path) -> Path:
    target = workdir / f"{case.name}-{engine}"
    shutil.copytree(case.path, target)
    operator = target / "operator.py"
    if "operator" in case.spec:  # vendored elsewhere in the tree (kopf's examples): copied beside the case
        shutil.copyfile(case.path / case.spec["operator"], operator)
    if engine == "opframe":  # every module of the operator, as a user changes each import in their code
        for module in target.rglob("*.py"):
            module.write_text(swapped(module.read_text()))
    return operator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EngineProcess:
    """One operator under one engine, as its own process; stopped by its own id."""

    def __init__(self, engine: str, operator: Path, *, namespace: str, kubeconfig: Path) -> None:
        self.engine = engine
        self.port = free_port()
        liveness = f"http://127.0.0.1:{self.port}/healthz"
        common = ["run", "--standalone", "-n", namespace, "--liveness", liveness, str(operator)]
        if engine == "kopf":
            argv = [str(KOPF_VENV / "bin" / "kopf"), *common]
        else:
            argv = [sys.executable, "-m", "opframe.cli", *common]
        self.log_path = operator.parent / f"{engine}.log"
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, cwd=operator.parent, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.engine} exited ({self.process.returncode}) before it was ready:\n"
                                     f"{self.log()[-4000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"{self.engine} was not ready within {READY_SECONDS} s:\n{self.log()[-4000:]}")

    def stop(self) -> int:
        """SIGINT as Ctrl-C would, then SIGKILL if it does not exit; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


# -- observing ----------------------------------------------------------------------------------------

def normalised(obj: Mapping[str, Any], namespace: str, *, plural: str = "") -> dict[str, Any]:
    """An object without what differs between any two runs or engines (see the module's docstring);
    ``plural`` is its resource's (a listed item carries no kind)."""
    body = json.loads(_unnamed(json.dumps(obj), namespace))
    metadata = body.get("metadata") or {}
    for key in SERVER_METADATA:
        metadata.pop(key, None)
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                   if not k.startswith(BOOKKEEPING_PREFIXES)
                   and k != "kubectl.kubernetes.io/last-applied-configuration"}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    if "finalizers" in metadata:
        metadata["finalizers"] = [FRAMEWORK_FINALIZER if f in FRAMEWORK_FINALIZERS else f
                                  for f in metadata["finalizers"]] or None
        if metadata["finalizers"] is None:
            metadata.pop("finalizers")
    if "deletionTimestamp" in metadata:
        metadata["deletionTimestamp"] = "<set>"
    metadata.pop("deletionGracePeriodSeconds", None)
    for reference in metadata.get("ownerReferences") or []:
        reference.pop("uid", None)
    if body.get("kind") == "Service" or plural == "services":  # addresses the API server allocates
        for key in ("clusterIP", "clusterIPs"):
            (body.get("spec") or {}).pop(key, None)
    status = body.get("status")
    if isinstance(status, dict):
        status.pop("kopf", None)
        if not status:
            body.pop("status")
    return dict(body)


def handler_calls(log: str, namespace: str) -> dict[str, int]:
    """``"object/handler: outcome" -> count`` from the operator's log lines (both engines write kopf's)."""
    counts: Counter[str] = Counter()
    for match in HANDLER_LINE.finditer(log):
        obj = _unnamed(match["object"], namespace)
        counts[f"{obj} {match['what']} {match['id']}: {match['outcome']}"] += 1
    # A timer's or daemon's number of runs depends on how long the step took, not on the engine.
    return {key: (min(count, 1) if " Handler " not in key else count) for key, count in counts.items()}


EVENTS = Resource("", "v1", "events", "Event")


def run_namespace(case: str, engine: str, suffix: str) -> str:
    """The namespace of one engine's run; both engines' exist during both runs (created together)."""
    return f"diff-{case[:40]}-{engine}-{suffix}".lower()


def _unnamed(text: str, namespace: str) -> str:
    """``text`` with the run's namespace, and the other engine's of the same case, as ``<namespace>``:
    an operator that serves or lists every namespace sees both, under either engine."""
    for engine in ENGINES:
        other = re.sub(r"-(kopf|opframe)-([0-9a-f]{6})$", rf"-{engine}-\2", namespace)
        text = text.replace(other, NAMESPACE)
    return text


def snapshot(client: KubeClient, case: Case, namespace: str, log: str) -> dict[str, Any]:
    objects: dict[str, Any] = {}
    for resource in case.watched:
        listed = client.list(resource, namespace=namespace if resource.namespaced else None)
        for item in listed.items:
            name = item["metadata"]["name"]
            objects[f"{resource.plural}/{name}"] = normalised(item, namespace, plural=resource.plural)
    events = sorted({
        json.dumps([e.get("involvedObject", {}).get("kind"), e.get("involvedObject", {}).get("name"),
                    e.get("type"), e.get("reason"), _unnamed(str(e.get("message", "")), namespace)])
        for e in client.list(EVENTS, namespace=namespace).items})
    return {"objects": objects, "events": [json.loads(e) for e in events], "calls": handler_calls(log, namespace)}


def settle(client: KubeClient, case: Case, namespace: str, process: EngineProcess) -> dict[str, Any]:
    """The snapshot once it has not changed for QUIET_SECONDS (or as it is after SETTLE_LIMIT_SECONDS;
    a case may set ``settle: {quiet: s, limit: s}``, e.g. to let a timer run a few times)."""
    quiet = float(case.spec.get("settle", {}).get("quiet", QUIET_SECONDS))
    deadline = time.monotonic() + float(case.spec.get("settle", {}).get("limit", SETTLE_LIMIT_SECONDS))
    last = without_volatile(snapshot(client, case, namespace, process.log()), case)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        current = without_volatile(snapshot(client, case, namespace, process.log()), case)
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def without_volatile(snap: dict[str, Any], case: Case) -> dict[str, Any]:
    """The snapshot without the case's ``volatile`` paths: values that differ from run to run under
    either engine (a timestamp an operator writes, a counter a timer bumps), each listed with its
    reason in case.yaml."""
    patterns = [entry["path"] for entry in case.spec.get("volatile", [])]
    if not patterns:
        return snap
    flat = flattened(snap)
    return {"flat": {path: value for path, value in flat.items()
                     if not any(matches(path, pattern) for pattern in patterns)}}


def matches(path: str, pattern: str) -> bool:
    """``pattern`` (fnmatch) names ``path`` or a value that contains it (``.../conditions`` covers
    ``.../conditions/0/reason``). A ``[`` in a pattern opens a character class (fnmatch's rule):
    write ``?`` for the bracket of an event's path."""
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*")


def take_step(client: KubeClient, step: Mapping[str, Any], namespace: str, case_path: Path) -> None:
    """One step a user takes, its actions in order (the snapshot follows the last): ``create`` (an
    object, or ``{file: x.yaml}`` relative to the case), ``patch`` (a JSON merge patch), ``delete``,
    ``sleep`` (seconds) or ``wait_gone`` (an object, with ``timeout``: what a user waits for before
    looking, e.g. ``{delete: ..., wait_gone: ...}``). ``<namespace>`` in a step is the run's namespace; a
    ``patch`` or ``delete`` may name another (``namespace:``), e.g. to remove what the operator wrote
    outside the run's namespace before the other engine's run."""
    for action, written in step.items():  # steps may name the run's namespace
        _act(client, action, json.loads(json.dumps(written).replace(NAMESPACE, namespace)), namespace, case_path)


def _act(client: KubeClient, action: str, spec: Any, namespace: str, case_path: Path) -> None:
    if action == "sleep":
        time.sleep(float(spec))
        return
    if action == "wait_gone":  # e.g. for the garbage collector, which notices a new CRD within 30 s
        resource = resource_of(spec)
        deadline = time.monotonic() + float(spec.get("timeout", 60))
        while time.monotonic() < deadline:
            try:
                client.get(resource, spec["name"], namespace=namespace if resource.namespaced else None)
            except errors.NotFound:
                return
            time.sleep(POLL_SECONDS)
        return  # still there: the snapshots say so under both engines
    if action == "create" and "file" in spec:
        spec = {**yaml.safe_load((case_path / spec["file"]).read_text()),
                **{k: v for k, v in spec.items() if k != "file"}}
    resource = resource_of(spec if "plural" in spec else {**spec, "plural": _plural_of(spec)})
    where = (spec.get("namespace") or namespace) if resource.namespaced else None
    if action == "create":
        where = namespace if resource.namespaced else None
        body = {k: v for k, v in spec.items() if k not in ("plural", "namespaced")}
        body["metadata"] = {k: v for k, v in (body.get("metadata") or {}).items() if k != "namespace"}
        client.create(resource, body, namespace=where)
    elif action == "patch":
        client.patch(resource, spec["name"], spec["body"], namespace=where)
    elif action == "delete":
        with contextlib.suppress(errors.NotFound):
            client.delete(resource, spec["name"], namespace=where)
    else:
        raise ValueError(f"unknown step {action!r}: use create, patch, delete, sleep or wait_gone")


def _plural_of(spec: Mapping[str, Any]) -> str:
    kind = str(spec["kind"]).lower()
    return kind + ("es" if kind.endswith("s") else "s")


@dataclasses.dataclass
class Run:
    engine: str
    namespace: str
    snapshots: list[dict[str, Any]]
    log: str
    exit_code: int
    #: False when the operator exited before it was ready (a start-up refusal): no snapshots then.
    started: bool = True


def run_case(client: KubeClient, case: Case, engine: str, *, namespace: str, kubeconfig: Path,
             workdir: Path) -> Run:
    """Start the operator under ``engine``, take the case's steps, settle after each; stop it."""
    operator = prepare_files(case, engine, workdir)
    process = EngineProcess(engine, operator, namespace=namespace, kubeconfig=kubeconfig)
    snapshots: list[dict[str, Any]] = []
    try:
        try:
            process.wait_ready()
        except AssertionError:
            if process.process.poll() is None:
                raise  # neither ready nor exited: a hang, never an intended difference
            process.stop()
            return Run(engine, namespace, [], process.log(), int(process.process.returncode), started=False)
        snapshots.append(settle(client, case, namespace, process))
        for step in case.steps:
            take_step(client, step, namespace, case.path)
            snapshots.append(settle(client, case, namespace, process))
    finally:
        exit_code = process.stop()
        # For whoever reads a failure: what was seen after each step, beside the operator's log.
        (operator.parent / f"snapshots-{engine}.json").write_text(json.dumps(snapshots, indent=1, sort_keys=True))
    return Run(engine, namespace, snapshots, process.log(), exit_code)


# -- comparing ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Intended:
    """A difference kept on purpose: where (path patterns, in which cases) and why."""

    id: str
    paths: tuple[str, ...]
    cases: tuple[str, ...]
    reason: str
    #: "value": only the value may differ (the path exists under both engines: a count, not a presence);
    #: "any": the path may also be present under one engine only.
    scope: str = "any"
    #: A regular expression: opframe refuses to start with a message matching it, where kopf runs
    #: (a refusal chosen on purpose); ``paths`` is empty then.
    refusal: str = ""

    def excuses_refusal(self, case: str, log: str) -> bool:
        return bool(self.refusal) and any(fnmatch.fnmatchcase(case, c) for c in self.cases) and bool(
            re.search(self.refusal, log))

    def covers(self, case: str, path: str, under_kopf: Any = None, under_opframe: Any = None) -> bool:
        if self.scope == "value" and ABSENT in (under_kopf, under_opframe):
            return False
        return any(fnmatch.fnmatchcase(case, c) for c in self.cases) and any(matches(path, p) for p in self.paths)


def intended() -> list[Intended]:
    entries = yaml.safe_load(INTENDED.read_text()) or []
    return [Intended(e["id"], tuple(e.get("paths", ())), tuple(e.get("cases", ["*"])), e["reason"],
                     e.get("scope", "any"), e.get("refusal", "")) for e in entries]


def flattened(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"objects/x/spec/size": "1G", ...}``: leaves by path (a list of objects by index, other lists
    whole); each event one leaf; an empty dict or
    list reads as absent (kopf and opframe differ in leaving ``status: {}`` behind, no user reads it)."""
    if isinstance(value, (Mapping, list)) and not value:
        return {}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flattened(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and prefix == "events":
        return {f"events/{json.dumps(e)}": True for e in value}
    if isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
        out = {}
        for index, item in enumerate(value):  # items by index, so a volatile path can name one field of each
            out.update(flattened(item, f"{prefix}/{index}"))
        return out
    return {prefix: value}


def differences(kopf: dict[str, Any], opframe: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(path, under kopf, under opframe)`` for every leaf that differs (``<absent>`` where missing)."""
    left = kopf["flat"] if "flat" in kopf else flattened(kopf)
    right = opframe["flat"] if "flat" in opframe else flattened(opframe)
    return [(path, left.get(path, ABSENT), right.get(path, ABSENT))
            for path in sorted(set(left) | set(right)) if left.get(path, ABSENT) != right.get(path, ABSENT)]


def unexplained(case: str, kopf: Run, opframe: Run, table: Sequence[Intended]) -> list[str]:
    """Every difference, step by step, that no intended difference covers, as readable lines."""
    lines: list[str] = []
    for step, (left, right) in enumerate(zip(kopf.snapshots, opframe.snapshots, strict=True)):
        for path, under_kopf, under_opframe in differences(left, right):
            if not any(entry.covers(case, path, under_kopf, under_opframe) for entry in table):
                lines.append(f"after step {step}: {path}: kopf {under_kopf!r} vs opframe {under_opframe!r}")
    return lines
