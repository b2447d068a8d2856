"""pytest fixtures backed by a real control plane.

* ``control_plane`` (session): etcd + kube-apiserver, started on first use, stopped at
  the end of the session, also when tests fail or the run is interrupted (Ctrl-C, or
  SIGTERM, which this plugin turns into KeyboardInterrupt so that clean-up runs). A
  ``KopfRunner`` in a test runs its operator against it too (``session_control_plane``),
  unless its command names a ``--kubeconfig``: never the user's own kubeconfig.
* ``kube_api_client`` (session): a ``kubernetes.client.ApiClient`` logged in as admin.
* ``kube_client`` (session): opframe's ``KubeClient`` logged in as admin.
* ``namespace`` (function): a fresh namespace per test. Without a controller-manager a
  deleted namespace never finishes terminating, so it is deleted but not waited for.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from opframe.kube import ClientSettings, KubeClient, load_configuration
from opframe.testing.controlplane import ControlPlane


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class _Session:
    """The session's control plane, started on first use (by the ``control_plane`` fixture or by a
    ``KopfRunner``) and stopped when the session ends, however it ends."""

    running = False
    plane: ControlPlane | None = None
    previous_sigterm: Any = None


def pytest_sessionstart(session: pytest.Session) -> None:
    _Session.running = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    plane, _Session.plane, _Session.running = _Session.plane, None, False
    if plane is not None:
        try:
            plane.stop()
        finally:
            if _Session.previous_sigterm in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


def session_control_plane() -> ControlPlane | None:
    """The pytest session's control plane (started now if it is not yet), or None outside a pytest
    session: what a ``KopfRunner`` in a test runs its operator against."""
    if not _Session.running:
        return None
    if _Session.plane is None:
        _Session.previous_sigterm = signal.getsignal(signal.SIGTERM)
        if _Session.previous_sigterm in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
        plane = ControlPlane()
        try:
            plane.start()
        except BaseException:
            plane.stop()
            raise
        _Session.plane = plane
    return _Session.plane


@pytest.fixture(scope="session")
def control_plane() -> ControlPlane:
    plane = session_control_plane()
    assert plane is not None, "the control_plane fixture is used in a pytest session"
    return plane


@pytest.fixture(scope="session")
def node_cluster() -> Iterator[ControlPlane]:
    """A second control plane, with kube-controller-manager, kube-scheduler and one node
    that runs pods (``ControlPlane(node=True)``), shared by the session's node tests."""
    plane = ControlPlane(node=True)
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def kube_api_client(control_plane: ControlPlane) -> Iterator[Any]:
    client = control_plane.api_client()
    try:
        yield client
    finally:
        client.close()


#: envtest's client limits (semantics 7.10): tests should never wait on the throttle.
TEST_CLIENT_SETTINGS = ClientSettings(qps=1000.0, burst=2000)


@pytest.fixture(scope="session")
def kube_client(control_plane: ControlPlane) -> Iterator[KubeClient]:
    """opframe's own raw-JSON client (the API layer) logged in as admin."""
    client = KubeClient(load_configuration(control_plane.kubeconfig), TEST_CLIENT_SETTINGS)
    try:
        yield client
    finally:
        client.close()


def _namespace_name(test_name: str) -> str:
    """A DNS-1123 label from the test's name plus a random suffix, at most 63 characters."""
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:48].rstrip("-")
    return f"{base or 'test'}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def namespace(kube_api_client: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(kube_api_client)
    name = _namespace_name(request.node.name)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)
