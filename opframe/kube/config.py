"""Where the cluster is and how to log in, as controller-runtime looks for it.

Order: an explicit kubeconfig path, then ``$KUBECONFIG``, then the in-cluster service
account (when ``KUBERNETES_SERVICE_HOST`` is set), then ``~/.kube/config``. The
official ``kubernetes`` package parses kubeconfigs (contexts, exec plugins, token
refresh) and the service-account files; opframe only chooses which and reports
failures as one clear ``ConfigurationError``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from opframe.kube.client import ClientSettings, KubeClient
from opframe.kube.credentials import private_file
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


#: The ``kubernetes`` default configuration opframe last published (the object the package holds),
#: so that a later publish replaces its own but never one a user's ``load_*()`` call set.
_published: dict[str, Any] = {"kubernetes": None}
_publish_lock = threading.Lock()

#: What ``kubernetes.client.Configuration()`` points at before anyone configured it ("" in the
#: ``kubernetes`` package since v35, so a client fails with "No host specified"; localhost before).
_UNCONFIGURED_HOSTS = ("", "http://localhost")


def publish_default(configuration: Any, *, kubeconfig: str | os.PathLike[str] | None = None,
                    context: str | None = None) -> bool:
    """Make the official clients that handlers build without set-up reach opframe's cluster, as kopf's
    default login (``login_via_client``) does as a side effect.

    * ``kubernetes``: ``configuration`` becomes its global default, so ``kubernetes.client.CoreV1Api()``
      uses the same server, credentials and token-refresh hook (exec plugins, rotated service-account
      tokens) as opframe. Not when a user's own ``kubernetes.config.load_*()`` (or ``set_default``) set
      the default before: that call wins, as does one made later (in a startup handler, say).
    * pykube-ng (and ``load_kube_config()`` with no argument): ``pykube.KubeConfig.from_env()`` reads
      ``$KUBECONFIG``; with ``--kubeconfig`` it is exported, and with ``--context`` it names a private
      copy whose current context is that one. In a pod, both read the service account as opframe does.

    Returns whether the ``kubernetes`` default is now opframe's.
    """
    _export_kubeconfig(kubeconfig, context)
    try:
        from kubernetes.client import Configuration
    except ImportError:  # pragma: no cover - kubernetes is a dependency of opframe
        return False
    with _publish_lock:
        current = getattr(Configuration, "_default", None)
        if current is not None and current is not _published["kubernetes"] and _configured(current):
            return False
        Configuration.set_default(configuration)
        _published["kubernetes"] = Configuration._default
        return True


def _configured(configuration: Any) -> bool:
    """Whether someone pointed this default anywhere (``get_default()`` creates an unconfigured one)."""
    return bool(configuration.host not in _UNCONFIGURED_HOSTS or configuration.api_key or configuration.cert_file
                or configuration.ssl_ca_cert)


def _export_kubeconfig(kubeconfig: str | os.PathLike[str] | None, context: str | None) -> None:
    if kubeconfig is None and context is None:
        return
    path = str(kubeconfig) if kubeconfig is not None else os.environ.get("KUBECONFIG") or str(
        Path.home() / ".kube" / "config")
    if context is not None and os.pathsep not in path and Path(path).is_file():
        path = _with_current_context(Path(path), context)
    os.environ["KUBECONFIG"] = path
    set_kubernetes_default_location(path)


def kubernetes_default_location() -> str:
    """Where ``kubernetes.config.load_kube_config()`` (and ``load_config()``) with no argument read: a
    default the package took from $KUBECONFIG when it was imported."""
    from kubernetes.config import kube_config

    return str(kube_config.KUBE_CONFIG_DEFAULT_LOCATION)


def set_kubernetes_default_location(path: str) -> None:
    """Point that default at ``path`` (the package keeps two copies of it: kube_config's, which
    ``load_kube_config()`` reads, and the one ``load_config()`` checks)."""
    import kubernetes.config
    from kubernetes.config import kube_config

    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = kubernetes.config.KUBE_CONFIG_DEFAULT_LOCATION = path


#: kubeconfig fields that hold file paths, relative to the kubeconfig's own directory.
_PATH_FIELDS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _with_current_context(path: Path, context: str) -> str:
    """A private copy of the kubeconfig at ``path`` whose current context is ``context`` (paths made
    absolute, since the copy lives elsewhere); removed when the process exits."""
    import yaml

    document = yaml.safe_load(path.read_text()) or {}
    if document.get("current-context") == context:
        return str(path)
    document["current-context"] = context
    for section, key in (("clusters", "cluster"), ("users", "user")):
        for entry in document.get(section) or []:
            fields = entry.get(key) or {}
            for name in _PATH_FIELDS:
                if isinstance(fields.get(name), str) and not os.path.isabs(fields[name]):
                    fields[name] = str((path.parent / fields[name]).resolve())
    return private_file(yaml.safe_dump(document), ".kubeconfig")
