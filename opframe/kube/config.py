"""Where the cluster is and how to log in, as controller-runtime looks for it.

Order: an explicit kubeconfig path, then ``$KUBECONFIG``, then the in-cluster service
account (when ``KUBERNETES_SERVICE_HOST`` is set), then ``~/.kube/config``. The
official ``kubernetes`` package parses kubeconfigs (contexts, exec plugins, token
refresh) and the service-account files; opframe only chooses which and reports
failures as one clear ``ConfigurationError``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from opframe.kube.client import ClientSettings, KubeClient
from opframe.kube.errors import KubeError


class ConfigurationError(KubeError):
    """No usable cluster configuration; the message says what was tried and what to set."""


def load_configuration(kubeconfig: str | os.PathLike[str] | None = None, *,
                       context: str | None = None) -> Any:
    """A ``kubernetes.client.Configuration`` for the cluster, found as described above."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    env_kubeconfig = os.environ.get("KUBECONFIG")
    default = Path.home() / ".kube" / "config"
    try:
        if kubeconfig is not None or env_kubeconfig:
            path = str(kubeconfig) if kubeconfig is not None else env_kubeconfig
            for candidate in (path or "").split(os.pathsep):
                if candidate and not Path(candidate).exists():
                    raise ConfigurationError(
                        f"kubeconfig {candidate} does not exist; check --kubeconfig or $KUBECONFIG")
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=configuration)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration)
        elif default.exists():
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(default), context=context,
                                    client_configuration=configuration)
        else:
            raise ConfigurationError(
                "no cluster configured: set $KUBECONFIG or pass --kubeconfig, run inside a pod, or "
                "create ~/.kube/config (for a local cluster: opframe cluster up)")
    except ConfigException as exc:
        raise ConfigurationError(f"cannot load the cluster configuration: {exc}") from exc
    return configuration


def connect(kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None,
            settings: ClientSettings | None = None) -> KubeClient:
    """A KubeClient for the configured cluster (no request is made yet)."""
    return KubeClient(load_configuration(kubeconfig, context=context), settings)
