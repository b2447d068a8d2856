"""kopf's login: ``ConnectionInfo`` and the ``login_*`` helpers an ``@on.login`` handler returns.

An operator with ``@on.login`` handlers connects with what they return instead of the
kubeconfig search of config.py: the first non-None ConnectionInfo of the highest
``priority`` wins. ``ca_data``, ``certificate_data`` and ``private_key_data`` are base64
of PEM, as in kubeconfigs and kopf; they are written to private temporary files for the
TLS layer. A token without a ``scheme`` is a Bearer token.

Invariants: a ConnectionInfo holds either a path or data for each of CA, certificate and
key, never both (ValueError at construction, as kopf). One made by ``login_with_kubeconfig``
or ``login_with_service_account`` (and so ``login_via_client``) keeps the ``kubernetes``
configuration it was read from: unless a handler changed how it connects (``dataclasses.
replace`` of the server, a token, a file...), the client is built from that configuration,
whose refresh hook renews expiring tokens (exec plugins, service account token rotation)
instead of keeping the token of the moment of login. The temporary files written for
``*_data`` (one per content) are removed when the process exits.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import datetime
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from opframe.kube.errors import KubeError

logger = logging.getLogger("opframe.kube")

#: kopf's type for its HTTP session; opframe's client is urllib3-based, so only the name exists.
AiohttpSession = Any


class LoginError(KubeError):
    """No credentials could be found or used; the message says which and why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectionInfo:
    server: str
    ca_path: str | None = None
    ca_data: str | bytes | None = None
    insecure: bool | None = None
    username: str | None = None
    password: str | None = None
    scheme: str | None = None
    token: str | None = None
    certificate_path: str | None = None
    certificate_data: str | bytes | None = None
    private_key_path: str | None = None
    private_key_data: str | bytes | None = None
    default_namespace: str | None = None
    proxy_url: str | None = None
    trust_env: bool = False
    priority: int = 0
    expiration: datetime.datetime | None = None
    #: The ``kubernetes`` configuration this was read from, and how it connected then (see above).
    source: tuple[Any, tuple[Any, ...]] | None = dataclasses.field(default=None, repr=False, compare=False)

    def connection(self) -> tuple[Any, ...]:
        """What decides how to connect (not the namespace, priority or expiration)."""
        return (self.server, self.ca_path, self.ca_data, self.insecure, self.username, self.password, self.scheme,
                self.token, self.certificate_path, self.certificate_data, self.private_key_path,
                self.private_key_data, self.proxy_url)

    def __post_init__(self) -> None:
        for what in ("ca", "certificate", "private_key"):
            if getattr(self, f"{what}_path") and getattr(self, f"{what}_data"):
                raise ValueError(f"both {what}_path and {what}_data are set; give one of them")

    def as_http_headers(self) -> dict[str, str]:
        """The Authorization header these credentials make (empty without credentials)."""
        if self.username and self.password:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        if self.token:
            return {"Authorization": f"{self.scheme or 'Bearer'} {self.token}"}
        return {}


#: Decoded ``*_data`` -> its temporary file: one file per content however often a login
#: hands the same credentials over (all removed when the process exits).
_DATA_FILES: dict[tuple[bytes, str], str] = {}
_DATA_FILES_LOCK = threading.Lock()


def _data_file(data: str | bytes, suffix: str) -> str:
    """A private temporary file holding the decoded base64 ``data``, removed when the process exits."""
    return private_file(base64.b64decode(data), suffix)


def private_file(content: str | bytes, suffix: str) -> str:
    """A temporary file only this user can read, holding ``content`` (one per content and suffix),
    removed when the process exits."""
    raw = content.encode() if isinstance(content, str) else content
    with _DATA_FILES_LOCK:
        path = _DATA_FILES.get((raw, suffix))
        if path is not None and os.path.exists(path):
            return path
        handle, path = tempfile.mkstemp(prefix="opframe-", suffix=suffix)
        with os.fdopen(handle, "wb") as file:
            file.write(raw)
        if not _DATA_FILES:
            atexit.register(_remove_all)
        _DATA_FILES[raw, suffix] = path
    return path


def _remove_all() -> None:
    with _DATA_FILES_LOCK:
        for path in _DATA_FILES.values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        _DATA_FILES.clear()


def client_configuration(info: ConnectionInfo) -> Any:
    """A ``kubernetes.client.Configuration`` (what KubeClient is built from) for these credentials:
    the refreshable one they were read from, unless they were changed since."""
    from kubernetes import client

    if info.source is not None:
        configuration, connection = info.source
        if connection == info.connection():
            return configuration

    configuration = client.Configuration()
    configuration.host = info.server
    configuration.verify_ssl = not info.insecure
    configuration.ssl_ca_cert = info.ca_path or (_data_file(info.ca_data, ".ca.pem") if info.ca_data else None)
    configuration.cert_file = info.certificate_path or (
        _data_file(info.certificate_data, ".crt.pem") if info.certificate_data else None)
    configuration.key_file = info.private_key_path or (
        _data_file(info.private_key_data, ".key.pem") if info.private_key_data else None)
    headers = info.as_http_headers()
    if headers:
        configuration.api_key = {"authorization": headers["Authorization"]}
    if info.proxy_url:
        configuration.proxy = info.proxy_url
    return configuration


def from_configuration(configuration: Any, namespace: str | None = None) -> ConnectionInfo:
    """The ConnectionInfo of a ``kubernetes`` configuration, which client_configuration() gives back."""
    token = (configuration.api_key or {}).get("authorization") or (configuration.api_key or {}).get("BearerToken")
    scheme, _, value = (token or "").partition(" ")
    info = ConnectionInfo(
        server=str(configuration.host), ca_path=configuration.ssl_ca_cert, insecure=not configuration.verify_ssl,
        username=configuration.username or None, password=configuration.password or None,
        scheme=scheme if value else None, token=(value or None) if token else None,
        certificate_path=configuration.cert_file, private_key_path=configuration.key_file,
        default_namespace=namespace)
    return dataclasses.replace(info, source=(configuration, info.connection()))


def login_with_kubeconfig(**_: Any) -> ConnectionInfo | None:
    """Credentials from $KUBECONFIG or ~/.kube/config (current context); None when there is none."""
    from kubernetes import client, config

    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    default = os.path.expanduser("~/.kube/config")
    if not paths and not os.path.exists(default):
        return None
    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=os.pathsep.join(paths) or default,  # type: ignore[no-untyped-call]
                                client_configuration=configuration)
        _, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=os.pathsep.join(paths) or default)
    except Exception as exc:
        raise LoginError(f"cannot log in with the kubeconfig: {exc}") from exc
    return from_configuration(configuration, (active.get("context") or {}).get("namespace"))


def login_with_service_account(**_: Any) -> ConnectionInfo | None:
    """Credentials of the pod's service account; None outside a pod."""
    from kubernetes import client, config

    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise LoginError(f"cannot log in with the service account: {exc}") from exc
    namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
    namespace = open(namespace_file).read().strip() if os.path.exists(namespace_file) else None  # noqa: SIM115
    return from_configuration(configuration, namespace)


def login_via_client(**kwargs: Any) -> ConnectionInfo | None:
    """kopf's login through the ``kubernetes`` package: in-cluster first, then the kubeconfig."""
    return login_with_service_account(**kwargs) or login_with_kubeconfig(**kwargs)


def login_via_pykube(**kwargs: Any) -> ConnectionInfo | None:
    """kopf's login through pykube-ng; the same sources, read by the ``kubernetes`` package."""
    return login_via_client(**kwargs)


def login_via_async_client(**kwargs: Any) -> ConnectionInfo | None:
    """kopf's login through kubernetes_asyncio; the same sources, read by the ``kubernetes`` package."""
    return login_via_client(**kwargs)


#: How many rejected credentials are remembered and never taken back from a login (kopf keeps three):
#: a login that keeps handing over a token the server rejects ends in LoginError instead of a loop,
#: while a token rejected long ago (a clock skew, a restored account) may come back.
REJECTED_MEMORY = 3


class Credentials:
    """The credentials every KubeClient of an operator sends, renewed by logging in again, as kopf does:
    when a request gets a 401, and before a request once they have expired (``ConnectionInfo.expiration``).

    ``login`` is the operator's login (its ``@on.login`` handlers, or the kubeconfig/service-account
    search when it has none); ``renewed`` is told each new configuration (to publish it to the official
    clients). Invariants: one login at a time, whatever the number of requests that failed together; a
    request whose credentials were already replaced retries with the new ones without logging in again;
    credentials that got a 401 are not taken back (the last REJECTED_MEMORY of them); a failed login
    changes nothing, so the next 401 tries again.
    """

    def __init__(self, info: ConnectionInfo, login: Callable[[], ConnectionInfo], *,
                 renewed: Callable[[Any], object] | None = None) -> None:
        self._info = info
        self._configuration = client_configuration(info)
        self._login = login
        self._renewed = renewed
        self._rejected: list[ConnectionInfo] = []
        self._lock = threading.Lock()
        #: How many times a login replaced the credentials.
        self.renewals = 0

    @property
    def info(self) -> ConnectionInfo:
        return self._info

    @property
    def configuration(self) -> Any:
        """The ``kubernetes.client.Configuration`` to send with now (as is: see current())."""
        return self._configuration

    def current(self) -> Any:
        """The configuration to send with: logged in again first if the credentials have expired."""
        expiration = self._info.expiration
        if expiration is not None and _expired(expiration):
            return self._renew(self._configuration, reason="the credentials expired", rejected=False)
        return self._configuration

    def rejected(self, configuration: Any) -> Any:
        """A request sent with ``configuration`` got a 401: the configuration to retry with (LoginError
        when logging in again gives nothing the server has not rejected)."""
        return self._renew(configuration, reason="the API server rejected the credentials (401)", rejected=True)

    def _renew(self, failed: Any, *, reason: str, rejected: bool) -> Any:
        with self._lock:
            if failed is not self._configuration:
                return self._configuration  # another request has renewed them meanwhile
            logger.info("Re-authentication has been initiated: %s.", reason)
            never_again = [*self._rejected, self._info][-REJECTED_MEMORY:] if rejected else self._rejected
            try:
                info = self._login()
            except Exception as exc:
                logger.warning("Re-authentication has failed: %s", exc)
                raise LoginError(f"{reason}, and logging in again failed: {exc}") from exc
            if info in never_again or (info.expiration is not None and _expired(info.expiration)):
                logger.warning("Re-authentication has failed: the login gave credentials the API server rejected "
                               "or that have expired.")
                raise LoginError(f"{reason}, and logging in again gave the same credentials; renew them (the "
                                 "token, certificate or kubeconfig) or return fresh ones from the on.login handler")
            self._rejected = never_again
            self._info, self._configuration = info, client_configuration(info)
            self.renewals += 1
            configuration = self._configuration
        logger.info("Re-authentication has finished.")
        if self._renewed is not None:
            self._renewed(configuration)
        return configuration


def _expired(expiration: datetime.datetime) -> bool:
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.UTC)
    return datetime.datetime.now(datetime.UTC) >= expiration
