"""The ``opframe`` command line.

Every failure the user can fix ends as one ``error: ...`` line naming the cause
and the fix, and a non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

#: Exit code for an error the user can fix (bad input, missing binaries, busy port).
EXIT_USAGE_ERROR = 1


@click.group()
@click.version_option(package_name="opframe")
def main() -> None:
    """opframe: write Kubernetes operators as decorated Python functions."""


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
def cluster_up(port: int | None, etcd_port: int | None, kubeconfig_copy: Path | None,
               start_timeout: float | None) -> None:
    """Run etcd and kube-apiserver on loopback in the foreground until Ctrl-C or SIGTERM.

    Prints a KUBECONFIG=<path> line for an admin user (group system:masters).
    Stopping removes both processes and all their data.
    """
    from opframe.testing.controlplane import DEFAULT_START_TIMEOUT, ControlPlane, ControlPlaneError

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
    plane = ControlPlane(
        apiserver_port=port, etcd_port=etcd_port,
        start_timeout=start_timeout if start_timeout is not None else DEFAULT_START_TIMEOUT,
    )
    try:
        try:
            plane.start()
        except ControlPlaneError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE_ERROR)
        kubeconfig = plane.kubeconfig
        if kubeconfig_copy is not None:
            shutil.copyfile(kubeconfig, kubeconfig_copy)
            kubeconfig_copy.chmod(0o600)
            kubeconfig = kubeconfig_copy
        click.echo(f"KUBECONFIG={kubeconfig}")
        click.echo(f"# kube-apiserver {plane.server} (etcd {plane.etcd_url}), admin in system:masters")
        click.echo(f"# use it:  export KUBECONFIG={kubeconfig}; kubectl get namespaces")
        click.echo("# Ctrl-C or SIGTERM stops both processes and removes their data", nl=True)
        sys.stdout.flush()
        while not stop_requested.wait(timeout=0.5):
            for process in (plane.apiserver, plane.etcd):
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
        plane.stop()
        if kubeconfig_copy is not None:
            kubeconfig_copy.unlink(missing_ok=True)
    click.echo("# control plane stopped")


if __name__ == "__main__":
    main()
