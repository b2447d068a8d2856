"""What the real API server's admission does with an object, for the tests of an operator's webhooks.

``AdmissionProbe`` sends a create (a dry run by default: nothing is stored, webhooks still run, as they
are called with ``dryRun: true``) and returns an ``Admitted`` answer: allowed or not, the code and
message of a refusal, the object as it would be stored (with the mutations), the warnings::

    probe = AdmissionProbe(kube_client)
    probe.wait_until(CONFIGMAPS, body, lambda a: not a.allowed, namespace=ns)   # the webhooks are in place
    refused = probe.create(CONFIGMAPS, body, namespace=ns)
    assert refused.code == 422 and "a password" in refused.message

``wait_until`` polls with dry runs until the answer is what the test expects once the configurations
took effect (a new one does within about 0.05 s): never a fixed sleep.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource

#: Between two dry runs while waiting for webhooks to take effect.
POLL_SECONDS = 0.1


@dataclasses.dataclass(frozen=True)
class Admitted:
    """The API server's answer to one create."""

    allowed: bool
    #: The HTTP status: 201 created (or would be), else the refusal's code (a webhook's, passed through).
    code: int
    #: A refusal's message ("" when allowed).
    message: str
    #: The object as stored (or as a dry run would store it): the mutating webhooks' changes are in it.
    object: dict[str, Any] | None
    #: The ``Warning`` headers' texts: admission webhooks' warnings, deprecations.
    warnings: list[str]


class AdmissionProbe:
    """Creates through a client of its own (the same cluster and credentials as ``client``)."""

    def __init__(self, client: KubeClient) -> None:
        self._client = KubeClient(client.configuration)
        self._warnings: list[str] = []
        self._client.warning_handler = self._warnings.append

    def close(self) -> None:
        self._client.close()

    def create(self, resource: Resource, body: dict[str, Any], *, namespace: str | None = None,
               dry_run: bool = True) -> Admitted:
        """Create ``body`` (a dry run unless ``dry_run=False``) and say what the API server answered."""
        self._warnings.clear()
        path = resource.path(namespace=namespace if resource.namespaced else None)
        try:
            created = self._client.request("POST", path, body=copy.deepcopy(body),
                                           query={"dryRun": "All"} if dry_run else None)
        except errors.ApiError as error:
            return Admitted(False, error.code, error.message, None, list(self._warnings))
        return Admitted(True, 201, "", created, list(self._warnings))

    def wait_until(self, resource: Resource, body: dict[str, Any], expected: Callable[[Admitted], bool], *,
                   namespace: str | None = None, timeout: float = 30.0) -> Admitted:
        """Dry-run ``body`` until the answer is ``expected`` (the webhooks are in place); AssertionError
        with the last answer after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.create(resource, body, namespace=namespace)
            if expected(answer):
                return answer
            if time.monotonic() >= deadline:
                raise AssertionError(f"the admission webhooks did not take effect within {timeout:g} s; the last "
                                     f"answer: {answer}")
            time.sleep(POLL_SECONDS)
