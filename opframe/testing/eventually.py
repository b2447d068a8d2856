"""Waiting in tests for what an operator does: poll until it shows on the API server.

An operator acts asynchronously, so a test checks its work by polling: ``eventually``
calls a check until it returns something truthy (a 404 counts as "not yet") and
returns that, or fails after ``timeout`` with one message naming what was awaited.
``install_crd`` creates a CustomResourceDefinition (or keeps the existing one) and
waits until it is Established and served.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from opframe.kube import Discovery, KubeClient, Resource, ResourceNotFoundError, errors

T = TypeVar("T")

#: A local API server answers in milliseconds; 50 ms keeps waits short without spinning.
POLL_INTERVAL = 0.05
#: Generous for a shared 2-core machine, where nothing awaited should take a second.
DEFAULT_TIMEOUT = 30.0

CUSTOM_RESOURCE_DEFINITIONS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                       "CustomResourceDefinition", namespaced=False)


def eventually(check: Callable[[], T | None], *, what: str | Callable[[], str], timeout: float = DEFAULT_TIMEOUT,
               interval: float = POLL_INTERVAL, error: type[AssertionError] = AssertionError) -> T:
    """Call ``check`` until its result is truthy and return it.

    A 404 from the check counts as a falsy result: opframe's ``errors.NotFound`` and the
    ``kubernetes`` client's ``ApiException`` with status 404 alike. After ``timeout``
    seconds ``error`` is raised with ``what`` (a callable is called then, so the message
    can show the state at the time of failure).
    """
    deadline = time.monotonic() + timeout
    while True:
        result: T | None
        try:
            result = check()
        except errors.NotFound:
            result = None
        except Exception as exc:
            if not _not_found(exc):
                raise
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise error(f"timed out after {timeout:.0f} s waiting for {described}")
        time.sleep(interval)


def _not_found(error: Exception) -> bool:
    """The ``kubernetes`` client's (or any client's) "404 Not Found": an exception with ``status`` 404."""
    return getattr(error, "status", None) == 404


def install_crd(client: KubeClient | Any, crd: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> Resource:
    """Create ``crd`` unless it exists, wait until Established and served; return its resource.
    ``client`` is opframe's KubeClient (the ``kube_client`` fixture) or the ``kubernetes`` package's
    ApiClient (``kube_api_client``), whose configuration is then used."""
    if not isinstance(client, KubeClient):
        configuration = getattr(client, "configuration", None)
        if configuration is None:
            raise TypeError(f"install_crd() takes a KubeClient or a kubernetes.client.ApiClient, not {client!r}")
        own = KubeClient(configuration)
        try:
            return install_crd(own, crd, timeout=timeout)
        finally:
            own.close()
    name = crd["metadata"]["name"]
    with contextlib.suppress(errors.Conflict):
        client.create(CUSTOM_RESOURCE_DEFINITIONS, crd)

    def established() -> bool:
        conditions = (client.get(CUSTOM_RESOURCE_DEFINITIONS, name).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    def served() -> Resource | None:
        try:
            return Discovery(client).resolve(name)
        except ResourceNotFoundError:
            return None

    eventually(established, what=f"CRD {name} to be established", timeout=timeout)
    return eventually(served, what=f"{name} to be served", timeout=timeout)
