"""The ``opframe`` command line.

Every failure the user can fix ends as one ``error: ...`` line naming the cause
and the fix, and a non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

#: Exit code for an error the user can fix (bad input, missing binaries, busy port).
EXIT_USAGE_ERROR = 1


@click.group()
@click.version_option(package_name="opframe")
def main() -> None:
    """opframe: write Kubernetes operators as decorated Python functions."""


class OperatorLoadError(Exception):
    """The operator's code could not be loaded; the message says where and why."""


def load_operator_file(path: Path) -> None:
    """Import an operator file as a module, so its decorators register handlers."""
    import importlib.util
    import traceback

    if not path.exists():
        raise OperatorLoadError(f"operator file {path} does not exist; check the path")
    if path.is_dir():
        raise OperatorLoadError(f"{path} is a folder; give a Python file, or a module with -m")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"opframe_operator_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise OperatorLoadError(f"{path} cannot be imported as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise OperatorLoadError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise OperatorLoadError(f"{where}: importing the operator failed: {type(exc).__name__}: {exc}") from None


def load_operator_module(name: str) -> None:
    import importlib

    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name)):
            raise OperatorLoadError(f"module {name} not found; check -m and PYTHONPATH") from None
        raise OperatorLoadError(f"importing module {name} failed: {exc}") from None
    except SyntaxError as exc:
        raise OperatorLoadError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise OperatorLoadError(f"importing module {name} failed: {type(exc).__name__}: {exc}") from None


def _settings_help(field: str) -> str:
    from opframe.settings import Settings

    info = Settings.model_fields[field]
    return f"{info.description} [env OPFRAME_{field.upper()}]"


def _settings_epilog() -> str:
    from opframe.settings import Settings

    lines = ["\b", "Settings (environment variable: default, meaning):"]
    for name, info in Settings.model_fields.items():
        default = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
        lines.append(f"  OPFRAME_{name.upper()}: {default!r}, {info.description}")
    return "\n".join(lines)


@dataclasses.dataclass
class RunControls:
    """What an embedding caller (``opframe.testing.KopfRunner``) hands ``opframe run`` through click's
    ``obj``: a registry and kopf settings to use, and flags to stop it and to learn that it is ready."""

    registry: Any = None
    settings: Any = None
    stop_flag: threading.Event | None = None
    ready_flag: threading.Event | None = None
    #: Lines the caller wants in the run's log, said once its logging is configured (at INFO).
    notices: tuple[str, ...] = ()


@main.command("run", context_settings={"show_default": True, "auto_envvar_prefix": "KOPF_RUN"},
              epilog=_settings_epilog())
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("-m", "--module", "modules", multiple=True, help="Import the operator from this module (repeatable).")
@click.option("-n", "--namespace", "namespaces", multiple=True, help=_settings_help("namespaces") + " Repeatable.")
@click.option("-A", "--all-namespaces", is_flag=True, default=None, help=_settings_help("all_namespaces"))
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.option("-d", "--debug", is_flag=True, help="Log at DEBUG level (kopf's flag; as --verbose).")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
@click.option("--log-format", type=click.Choice(["text", "json", "plain", "full"]), default=None,
              help=_settings_help("log_format") + " plain and full are kopf's formats.")
@click.option("--log-prefix/--no-log-prefix", default=None, help="kopf's flag; object lines always carry "
              "[namespace/name].")
@click.option("--log-refkey", default=None, help="kopf's flag: the JSON key of the object reference (opframe: "
              "'object').")
@click.option("--workers", type=int, default=None, help=_settings_help("workers"))
@click.option("--kubeconfig", default=None, help=_settings_help("kubeconfig"))
@click.option("--context", default=None, help=_settings_help("context"))
@click.option("--leader-election", is_flag=True, default=None, help=_settings_help("leader_election"))
@click.option("--lease-name", default=None, help=_settings_help("lease_name"))
@click.option("--lease-namespace", default=None, help=_settings_help("lease_namespace"))
@click.option("--health-port", type=int, default=None, help=_settings_help("health_port"))
@click.option("-L", "--liveness", "liveness_endpoint", default=None, help=_settings_help("liveness_endpoint"))
@click.option("--adopt-kopf", is_flag=True, default=None, help=_settings_help("adopt_kopf"))
@click.option("--standalone", is_flag=True, default=None,
              help="kopf's flag: no peering. opframe's default (leader election only with --leader-election).")
@click.option("-P", "--peering", "peering_name", default=None,
              help="kopf's peering: opframe elects one leader on a Lease of this name instead.")
@click.option("-p", "--priority", type=int, default=None,
              help="kopf's peering priority: not supported (a Lease has no priorities); warned about.")
@click.option("--dev", is_flag=True, default=None, help="kopf's flag (= --priority 666): warned about.")
@click.pass_context
def run_command(ctx: click.Context, files: tuple[Path, ...], modules: tuple[str, ...],
                namespaces: tuple[str, ...], all_namespaces: bool | None, verbose: bool, debug: bool, quiet: bool,
                log_format: str | None, log_prefix: bool | None, log_refkey: str | None,
                workers: int | None, kubeconfig: str | None, context: str | None, leader_election: bool | None,
                lease_name: str | None, lease_namespace: str | None, health_port: int | None,
                liveness_endpoint: str | None, adopt_kopf: bool | None, standalone: bool | None,
                peering_name: str | None,
                priority: int | None, dev: bool | None) -> None:
    """Run the operator defined in FILES (and/or -m modules) until SIGTERM or Ctrl-C.

    Every setting can also come from an OPFRAME_* environment variable; the command
    line wins. Start-up checks the code, the cluster, the resources and RBAC first, and
    stops with one error line and exit code 1 if anything is wrong.

    kopf's flags are accepted: --standalone, -P/--peering (a Lease election here),
    -p/--priority and --dev (warned about: no priorities), -L/--liveness, -d/--debug,
    --log-prefix, --log-refkey, --log-format plain|full|json, and KOPF_RUN_* variables.
    Without -n or -A, opframe serves every namespace with a warning, as kopf does.
    """
    import pydantic

    from opframe.handlers.registry import get_default_registry, set_default_registry
    from opframe.kopf import lifecycles
    from opframe.kopf.settings import OperatorSettings
    from opframe.kopf.storage import KopfBookkeeping
    from opframe.runtime.operator.operator import Operator, StartupError, some_keys
    from opframe.runtime.telemetry.logs import configure_logging
    from opframe.settings import Settings

    controls = ctx.obj if isinstance(ctx.obj, RunControls) else RunControls()
    overrides: dict[str, object] = {}
    if namespaces:
        overrides["namespaces"] = [part for value in namespaces for part in value.split(",") if part]
    if all_namespaces:
        overrides["all_namespaces"] = True
    if adopt_kopf:
        overrides["adopt_kopf"] = True
    if verbose or debug:
        overrides["log_level"] = "DEBUG"
    elif quiet:
        overrides["log_level"] = "WARNING"
    if leader_election or (peering_name and not standalone):
        overrides["leader_election"] = True
    if peering_name and not standalone and lease_name is None:
        overrides["lease_name"] = peering_name
    for name, value in (("log_format", log_format), ("workers", workers), ("kubeconfig", kubeconfig),
                        ("context", context), ("lease_name", lease_name), ("lease_namespace", lease_namespace),
                        ("health_port", health_port), ("liveness_endpoint", liveness_endpoint)):
        if value is not None:
            overrides[name] = value
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid settings: {problems}")
    if not files and not modules:
        _fail("no operator given; pass a file (opframe run my_operator.py) or a module (-m my_operator)")
    configure_logging(settings.log_level, settings.log_format)
    for notice in controls.notices:
        logging.getLogger("opframe").info("%s", notice)
    if not settings.namespaces and not settings.all_namespaces:
        logging.getLogger("opframe").warning(
            "neither -n nor -A given: serving every namespace (cluster-wide), as kopf does; pass -n NAMESPACE "
            "(or OPFRAME_NAMESPACES) to serve some, or -A to say you mean all")
        settings = settings.model_copy(update={"all_namespaces": True})
    if priority or dev:
        logging.getLogger("opframe").warning(
            "--priority/--dev have no effect: opframe elects one leader through a Lease (no priorities); use "
            "--leader-election (or -P NAME) on every replica")
    registry = controls.registry if controls.registry is not None else get_default_registry()
    before = get_default_registry()
    set_default_registry(registry)  # the operator's decorators register into the registry it runs
    try:
        for file in files:
            load_operator_file(file)
        for module in modules:
            load_operator_module(module)
    except OperatorLoadError as exc:
        _fail(str(exc))
    finally:
        set_default_registry(before)
    stop = controls.stop_flag if controls.stop_flag is not None else threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # the second: at once, abandoning what still runs (128 + the signal, as shells do)
            logging.getLogger("opframe").warning("signal %d again: stopping at once; running handlers are "
                                                 "abandoned (they run again at the next start)", signum)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)
        logging.getLogger("opframe").info("signal %d: stopping (send it again to stop at once)", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    view = controls.settings if controls.settings is not None else OperatorSettings()
    operator = Operator(settings, registry, settings_view=view,
                        lifecycle=lifecycles.get_default_lifecycle(), foreign=KopfBookkeeping.of(settings))
    operator.stopping = stop  # a stop request also ends startup/login handlers' retries
    try:
        operator.prepare()
        operator.start()
    except StartupError as exc:
        if operator.loops is not None:
            operator.stop()
        _fail(str(exc))
    if controls.ready_flag is not None:
        controls.ready_flag.set()
    try:
        while not stop.wait(0.2) and not operator.lost_leadership.is_set():
            pass
    finally:
        operator.stop()
    if operator.lost_leadership.is_set():
        _fail("lost the leader lease (no renewal within the renew deadline); exiting so that another replica "
              "takes over")
    if operator.abandoned:
        _fail(f"stopped with handlers still running after {settings.shutdown_timeout:g} s, their work abandoned "
              f"(it runs again at the next start): {some_keys(operator.abandoned)}; give them longer with "
              "OPFRAME_SHUTDOWN_TIMEOUT")


@main.command("freeze", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def freeze_command() -> None:
    """kopf's command to pause other operators of a peering: not supported (see the error)."""
    _fail("'freeze' pauses kopf peers; opframe has no peering: replicas elect one leader through a Lease "
          "(--leader-election), and a paused operator is one scaled to 0 replicas")


@main.command("resume", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def resume_command() -> None:
    """kopf's command to resume frozen peers: not supported (see the error)."""
    _fail("'resume' resumes frozen kopf peers; opframe has no peering: replicas elect one leader through a Lease "
          "(--leader-election)")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE_ERROR)


def _crd_texts(definitions: list[dict[str, Any]]) -> tuple[str, str]:
    """The CRDs as YAML documents (for kubectl apply), and as values of opframe's chart ('crds: [...]')."""
    import yaml

    documents = "---\n".join(yaml.safe_dump(definition, sort_keys=False) for definition in definitions)
    values = ("# The operator's CRDs as values of opframe's chart (opframe crd --values); regenerate, do not edit.\n"
              + yaml.safe_dump({"crds": definitions}, sort_keys=False))
    return documents, values


@main.command("crd")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("-m", "--module", "modules", multiple=True, help="Import the resources from this module (repeatable).")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Write the CRDs to this file (default: print them).")
@click.option("--chart", type=click.Path(path_type=Path), default=None,
              help="Write each CRD to <chart>/crds/<name>.yaml, where Helm installs it before the templates.")
@click.option("--values", "values_file", type=click.Path(path_type=Path), default=None,
              help="Write the CRDs as values of opframe's chart ('crds: [...]') to this file, for helm install -f.")
def crd_command(files: tuple[Path, ...], modules: tuple[str, ...], out: Path | None, chart: Path | None,
                values_file: Path | None) -> None:
    """The CustomResourceDefinitions of the resources an operator declares as models (opframe.CustomResource),
    as YAML: structural schemas, validation, CEL rules, subresources, printer columns, versions."""
    import yaml

    from opframe.models import crds, resource
    from opframe.models.schemas import SchemaError

    if not files and not modules:
        _fail("give an operator file or a module (-m) that declares its resources as opframe.CustomResource")
    before = len(resource.RESOURCES)
    try:
        for path in files:
            load_operator_file(path)
        for module in modules:
            load_operator_module(module)
        declared = resource.RESOURCES[before:]
        if not declared:
            _fail("no resource is declared there: subclass opframe.CustomResource with group= and version=")
        definitions = crds.definitions(declared)
    except (OperatorLoadError, SchemaError) as exc:
        _fail(str(exc))
    documents = [yaml.safe_dump(definition, sort_keys=False) for definition in definitions]
    if chart is not None and not (chart / "Chart.yaml").exists():
        _fail(f"{chart} is not a chart (no Chart.yaml); give the chart's folder")  # before anything is written
    everything, values = _crd_texts(definitions)
    if values_file is not None:
        values_file.write_text(values)
        click.echo(f"wrote {values_file}")
    if chart is not None:
        (chart / "crds").mkdir(exist_ok=True)
        for definition, document in zip(definitions, documents, strict=True):
            target = chart / "crds" / f"{definition['metadata']['name']}.yaml"
            target.write_text(document)
            click.echo(f"wrote {target}")
    if out is not None:
        out.write_text(everything)
        click.echo(f"wrote {out}")
    elif chart is None and values_file is None:
        click.echo(everything, nl=False)


@main.command("new")
@click.argument("name")
@click.option("--group", default="example.com", show_default=True, help="The API group of the project's resource.")
@click.option("--kind", default=None, help="The resource's kind (default: NAME without '-operator', in CamelCase).")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="Where to make the project's folder (default: here).")
def new_command(name: str, group: str, kind: str | None, parent: Path) -> None:
    """Make a new operator project NAME/ that works at once: a typed resource and its handler, the CRD
    generated from it, tests against the local control plane, a Dockerfile on opframe's image, values
    for opframe's Helm chart, a Makefile and a README (make test, make deploy)."""
    from opframe.models import crds, resource
    from opframe.scaffold import ScaffoldError, project, project_files

    try:
        made = project(name, group=group, kind=kind)
    except ScaffoldError as exc:
        _fail(str(exc))
    folder = parent / name
    if folder.exists() and any(folder.iterdir()):
        _fail(f"{folder} exists and is not empty; choose another NAME or --dir (nothing was written)")
    chart = Path(__file__).resolve().parents[1] / "charts" / "opframe"
    files = project_files(made, chart=str(chart) if chart.is_dir() else "<opframe's charts/opframe>")
    before = len(resource.RESOURCES)
    staging = parent / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text)
        load_operator_file(staging / "operator.py")
        documents, values = _crd_texts(crds.definitions(resource.RESOURCES[before:]))
        (staging / "crd.yaml").write_text(documents)
        (staging / "crds.values.yaml").write_text(values)
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)  # the project appears whole, or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    click.echo(f"made {folder}/: a {made.kind} ({made.resource}) and its operator")
    click.echo(f"  cd {folder} && make test      # its tests, against a local kube-apiserver and etcd")
    click.echo("  make image && make deploy     # its image, then opframe's chart into $KUBECONFIG's cluster")


@main.command("migrate-storage")
@click.argument("crd_name")
@click.option("--kubeconfig", default=None, help="The kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster).")
@click.option("--context", default=None, help="The kubeconfig's context.")
def migrate_storage_command(crd_name: str, kubeconfig: str | None, context: str | None) -> None:
    """After a CRD's storage version changed: rewrite every stored object in it, then set the CRD's
    status.storedVersions to it alone (so old versions can be dropped later)."""
    from opframe.kube import errors
    from opframe.kube.client import KubeClient
    from opframe.kube.config import ConfigurationError, load_configuration
    from opframe.kube.migration import MigrationError, migrate_storage

    try:
        client = KubeClient(load_configuration(kubeconfig, context=context))
    except ConfigurationError as exc:
        _fail(str(exc))
    try:
        report = migrate_storage(client, crd_name)
    except MigrationError as exc:
        _fail(str(exc))
    except errors.KubeError as exc:
        _fail(f"the migration of {crd_name} stopped (run it again: it is safe to repeat): {exc}")
    finally:
        client.close()
    if not report.needed:
        click.echo(f"{crd_name}: every object is stored in {report.storage_version} already; nothing to do")
        return
    click.echo(f"{crd_name}: {report.rewritten} objects rewritten in {report.storage_version} "
               f"({report.changed_meanwhile} changed and {report.gone_meanwhile} deleted meanwhile); "
               f"storedVersions {report.stored_versions_before} -> [{report.storage_version!r}]")


@main.group()
def cluster() -> None:
    """A real local control plane (kube-apiserver + etcd) for development and tests."""


@cluster.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="kube-apiserver's secure port on 127.0.0.1 (default: a free port).")
@click.option("--etcd-port", type=click.IntRange(1, 65535), default=None,
              help="etcd's client port on 127.0.0.1 (default: a free port).")
@click.option("--kubeconfig", "kubeconfig_copy", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Also write the admin kubeconfig to this file (removed again on stop).")
@click.option("--start-timeout", type=float, default=None,
              help="Seconds to wait for the control plane to become healthy (default 60).")
@click.option("--node", "with_node", is_flag=True, default=False,
              help="Also run kube-controller-manager, kube-scheduler and one node (kubelet, containerd, runc, "
                   "kube-proxy, a bridge pod network) in namespaces of its own: pods really run. Needs root, "
                   "cgroup v1 and what 'make node' installs; images are imported locally (no registry).")
def cluster_up(port: int | None, etcd_port: int | None, kubeconfig_copy: Path | None,
               start_timeout: float | None, with_node: bool) -> None:
    """Run etcd and kube-apiserver on loopback in the foreground until Ctrl-C or SIGTERM.

    Prints a KUBECONFIG=<path> line for an admin user (group system:masters).
    Stopping removes every process and all their data (with --node also every container,
    mount, cgroup and namespace the node made).
    """
    from opframe.testing.controlplane import (
        DEFAULT_START_TIMEOUT,
        KUBERNETES_VERSION,
        ControlPlane,
        ControlPlaneError,
        helm_binary,
        kubectl_binary,
    )
    from opframe.testing.node import NodeError
    from opframe.testing.running import RunningCluster

    if kubeconfig_copy is not None and kubeconfig_copy.exists():
        click.echo(f"error: {kubeconfig_copy} already exists and would be overwritten, then removed "
                   "on stop; give --kubeconfig a new path", err=True)
        sys.exit(EXIT_USAGE_ERROR)
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            # Interrupts a start that is still waiting for health; the plane cleans up.
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    record: RunningCluster | None = None
    plane = ControlPlane(
        apiserver_port=port, etcd_port=etcd_port,
        start_timeout=start_timeout if start_timeout is not None else DEFAULT_START_TIMEOUT, node=with_node,
    )
    try:
        try:
            plane.start()
        except (ControlPlaneError, NodeError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE_ERROR)
        kubeconfig = plane.kubeconfig
        if kubeconfig_copy is not None:
            shutil.copyfile(kubeconfig, kubeconfig_copy)
            kubeconfig_copy.chmod(0o600)
            kubeconfig = kubeconfig_copy
        node = plane.node
        record = RunningCluster(
            pid=os.getpid(), kubeconfig=str(kubeconfig), server=plane.server,
            node_holder_pid=node.processes["holder"].pid if node is not None else None,
            containerd_socket=str(node.containerd_socket) if node is not None else None,
            pod_logs=str(node.pod_logs) if node is not None else None)
        record.write()
        kubectl = kubectl_binary()
        click.echo(f"KUBECONFIG={kubeconfig}")
        click.echo(f"# kube-apiserver {plane.server} (etcd {plane.etcd_url}), admin in system:masters")
        if kubectl.exists():
            click.echo(f"# use it:  export KUBECONFIG={kubeconfig}; {kubectl} get namespaces")
            click.echo(f"#   (that kubectl is the server's version, {KUBERNETES_VERSION}: another minor version "
                       "warns of version skew)")
        else:
            click.echo(f"# use it:  export KUBECONFIG={kubeconfig}; kubectl get namespaces")
            click.echo(f"#   (a kubectl of the server's version, {KUBERNETES_VERSION}, avoids skew warnings: "
                       "'make controlplane' builds one)")
        if helm_binary().exists():
            click.echo(f"# helm: {helm_binary()}")
        if node is not None:
            click.echo(f"# node {node.name} Ready {node.ready_seconds:.1f} s after its start; nothing is pulled "
                       "from a registry: load images with")
            click.echo("#   opframe cluster load <oci-archive.tar> [--name NAME]")
            click.echo("# pod logs: kubectl logs, or (every container's, restarts included) "
                       f"opframe cluster logs NAMESPACE/POD; the files are in {node.pod_logs}")
        click.echo("# Ctrl-C or SIGTERM stops everything and removes its data", nl=True)
        sys.stdout.flush()
        while not stop_requested.wait(timeout=0.5):
            node_processes = list(plane.node.processes.values()) if plane.node is not None else []
            for process in (plane.apiserver, plane.etcd, *node_processes):
                if process is not None and process.exit_code() is not None:
                    click.echo(
                        f"error: {process.name} exited with code {process.exit_code()}; "
                        f"the control plane is stopped. Its last log lines:\n{process.log_tail()}",
                        err=True,
                    )
                    sys.exit(EXIT_USAGE_ERROR)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if record is not None:
            record.remove()
        plane.stop()
        if kubeconfig_copy is not None:
            kubeconfig_copy.unlink(missing_ok=True)
    click.echo("# control plane stopped")


@cluster.command("load")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None,
              help="The image's name on the node (default: the name the archive gives it, as `make image` and "
                   "buildah's oci-archive do); pods then use it with imagePullPolicy: Never or IfNotPresent.")
@click.option("--cluster", "cluster_pid", type=int, default=None,
              help="The `opframe cluster up --node` process to load into, when several run.")
def cluster_load(archive: Path, name: str | None, cluster_pid: int | None) -> None:
    """Load an OCI image archive into the node of a running `opframe cluster up --node`
    (as `kind load image-archive`): nothing is pulled from a registry there."""
    from opframe.testing import images
    from opframe.testing.node import NodeError, import_image
    from opframe.testing.running import NoRunningCluster, RunningCluster

    if not archive.is_file():
        _fail(f"{archive} does not exist; give the path of an OCI image archive (`make image` writes "
              "~/.cache/opframe/images/opframe.tar; buildah push IMAGE oci-archive:FILE.tar writes one)")
    names = sorted(images.archive_names(archive))
    if name is None:
        if len(names) != 1:
            found = f"it names {', '.join(names)}" if names else "it names no image"
            _fail(f"{archive}: {found}; say which name the node should know it by with --name NAME")
        name = names[0]
    try:
        running = RunningCluster.one(pid=cluster_pid, with_node=True)
    except NoRunningCluster as exc:
        _fail(str(exc))
    assert running.node_holder_pid is not None and running.containerd_socket is not None
    assert running.pod_logs is not None
    try:
        import_image(running.node_holder_pid, Path(running.containerd_socket), archive, name,
                     log=Path(running.pod_logs).parent / "image-import.log")
    except NodeError as exc:
        _fail(str(exc))
    click.echo(f"loaded {name} into the node of cluster {running.pid} ({running.server}); "
               "use it with imagePullPolicy: Never or IfNotPresent")


@cluster.command("logs")
@click.argument("pod")
@click.option("-c", "--container", default=None, help="Only this container's log (default: every container's).")
@click.option("--tail", type=click.IntRange(min=0), default=None, help="Only the last N lines.")
@click.option("--cluster", "cluster_pid", type=int, default=None,
              help="The `opframe cluster up --node` process whose pod to read, when several run.")
def cluster_logs(pod: str, container: str | None, tail: int | None, cluster_pid: int | None) -> None:
    """Print a pod's log on the node of a running `opframe cluster up --node`, given as
    NAMESPACE/POD: the kubelet's log files, every container's and every restart's (no kubectl needed)."""
    from opframe.testing.node import log_messages, pod_log_files
    from opframe.testing.running import NoRunningCluster, RunningCluster

    namespace, _, name = pod.rpartition("/")
    if not namespace or not name:
        _fail(f"'{pod}' is not NAMESPACE/POD; give the pod with its namespace, e.g. default/{pod or 'my-pod'}")
    try:
        running = RunningCluster.one(pid=cluster_pid, with_node=True)
    except NoRunningCluster as exc:
        _fail(str(exc))
    assert running.pod_logs is not None
    folder = Path(running.pod_logs)
    files = pod_log_files(folder, namespace, name, container)
    if not files:
        pods = sorted({entry.name.rsplit("_", 1)[0].replace("_", "/", 1) for entry in folder.glob("*_*_*")})
        known = f"pods with logs: {', '.join(pods)}" if pods else "no pod has written a log yet"
        which = f" container {container} of" if container else ""
        _fail(f"no log of{which} pod {namespace}/{name} in {folder} ({known}); check the name, "
              "and that the pod was scheduled and its container started (kubectl describe pod)")
    messages: list[str] = []
    for file in files:
        prefix = f"[{file.parent.name}] " if container is None and len({f.parent.name for f in files}) > 1 else ""
        messages += [prefix + message for message in log_messages(file.read_text(errors="replace"))]
    for message in messages[len(messages) - tail:] if tail is not None else messages:
        click.echo(message)


if __name__ == "__main__":
    main()
