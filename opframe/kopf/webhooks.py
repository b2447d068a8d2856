"""kopf's webhook servers, as descriptions of opframe's own webhook server (runtime/admission).

A kopf operator assigns one to ``settings.admission.server`` in a startup handler; once the startup
handlers ran, ``settings()`` of it becomes opframe's ``webhook_*`` settings (kopf/settings.py,
MAPPED). Same arguments and meanings as kopf's: ``addr``/``port`` where to listen (every interface and
a free port by default), ``host`` the name the API server calls (``localhost`` by default; the K3d,
Minikube and Docker Desktop variants use their VM's name for the host), ``path``, ``certfile``/
``pkeyfile``/``password`` (else a self-signed CA and certificate are made), ``cafile``/``cadata`` for
the caBundle, ``cadump`` to write it to a file, ``extra_sans``. The tunnels (ngrok) need a service
outside the cluster and are refused at start-up with what to use instead.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, ClassVar

#: kopf's WebhookServer arguments opframe serves with, and those it does not (with the reason).
_NOT_SERVED = {
    "insecure": "the API server calls webhooks over HTTPS only",
    "context": "give certfile= and pkeyfile= instead of an SSLContext",
    "verify_mode": "client certificates are not checked; restrict who reaches the port (a NetworkPolicy)",
    "verify_cafile": "client certificates are not checked; restrict who reaches the port (a NetworkPolicy)",
    "verify_capath": "client certificates are not checked; restrict who reaches the port (a NetworkPolicy)",
    "verify_cadata": "client certificates are not checked; restrict who reaches the port (a NetworkPolicy)",
}


class WebhookServer:
    """kopf's local HTTPS webhook server, served by opframe's (see the module's docstring)."""

    DEFAULT_HOST: ClassVar[str | None] = None

    def __init__(self, *, addr: str | None = None, port: int | None = None, path: str | None = None,
                 host: str | None = None, cadata: bytes | None = None, cafile: str | os.PathLike[str] | None = None,
                 cadump: str | os.PathLike[str] | None = None, context: Any = None, insecure: bool = False,
                 certfile: str | os.PathLike[str] | None = None, pkeyfile: str | os.PathLike[str] | None = None,
                 password: str | None = None, extra_sans: Any = (), verify_mode: Any = None,
                 verify_cafile: Any = None, verify_capath: Any = None, verify_cadata: Any = None,
                 file_check_interval: float | None = None) -> None:
        self.addr, self.port, self.path, self.host = addr, port, path, host
        self.cadata, self.cafile, self.cadump = cadata, cafile, cadump
        self.certfile, self.pkeyfile, self.password = certfile, pkeyfile, password
        self.extra_sans = list(extra_sans or ())
        self.context, self.insecure = context, insecure
        self.verify_mode, self.verify_cafile = verify_mode, verify_cafile
        self.verify_capath, self.verify_cadata = verify_capath, verify_cadata
        self.file_check_interval = file_check_interval

    def __repr__(self) -> str:
        return f"{type(self).__name__}(addr={self.addr!r}, port={self.port!r}, host={self.host!r}, path={self.path!r})"

    def settings(self) -> dict[str, Any]:
        """opframe's webhook settings for this server; ValueError for what opframe cannot serve."""
        for name, reason in _NOT_SERVED.items():
            if getattr(self, name):
                raise ValueError(f"{type(self).__name__}({name}=...) is not supported: {reason}")
        ca_file = str(self.cafile) if self.cafile else None
        if self.cadata:
            handle, ca_file = tempfile.mkstemp(prefix="opframe-webhook-ca-", suffix=".pem")
            with os.fdopen(handle, "wb") as file:
                file.write(self.cadata if isinstance(self.cadata, bytes) else str(self.cadata).encode())
        return {"webhook_address": self.addr or "", "webhook_port": int(self.port or 0),
                "webhook_host": self.host or self.DEFAULT_HOST, "webhook_path": self.path or "",
                "webhook_cert_file": str(self.certfile) if self.certfile else None,
                "webhook_key_file": str(self.pkeyfile) if self.pkeyfile else None,
                "webhook_key_password": self.password, "webhook_ca_file": ca_file,
                "webhook_ca_dump": str(self.cadump) if self.cadump else None,
                "webhook_extra_sans": [str(name) for name in self.extra_sans]}


class WebhookK3dServer(WebhookServer):
    """Reached from K3d/K3s' VM as host.k3d.internal."""

    DEFAULT_HOST = "host.k3d.internal"


class WebhookMinikubeServer(WebhookServer):
    """Reached from Minikube's VM as host.minikube.internal."""

    DEFAULT_HOST = "host.minikube.internal"


class WebhookDockerDesktopServer(WebhookServer):
    """Reached from Docker Desktop's VM as host.docker.internal."""

    DEFAULT_HOST = "host.docker.internal"


class WebhookAutoServer(WebhookServer):
    """kopf guesses K3d, Minikube or Docker Desktop from the API server's certificate; opframe serves as a
    plain WebhookServer (localhost): name the host with ``host=`` or one of the variants above."""


class WebhookNgrokTunnel:
    """kopf's ngrok tunnel: not supported (it needs a service outside the cluster)."""

    REFUSAL = ("tunnels are not supported by opframe: run the operator where the API server can reach it "
               "(WebhookServer(host=...), or in-cluster with the chart's webhooks.enabled)")

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"

    def settings(self) -> dict[str, Any]:
        raise ValueError(f"{type(self).__name__}: {self.REFUSAL}")


class WebhookAutoTunnel(WebhookNgrokTunnel):
    """kopf's local server or ngrok tunnel, whichever fits: not supported as a tunnel."""
