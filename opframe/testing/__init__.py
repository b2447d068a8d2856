"""opframe's test kit: a real local control plane and pytest fixtures for operator authors.

``ControlPlane`` starts etcd and kube-apiserver on loopback, as controller-runtime's
envtest does; ``opframe.testing.pytest_plugin`` (loaded automatically by pytest once
opframe is installed) gives tests a session-wide control plane, an admin API client
and a namespace of their own; ``eventually`` and ``install_crd`` wait for what an
operator does and for a CRD to be served.
"""

from opframe.testing.controlplane import (
    KUBERNETES_VERSION,
    Binaries,
    ControlPlane,
    ControlPlaneError,
    find_binaries,
    running_control_plane,
)
from opframe.testing.eventually import eventually, install_crd

__all__ = [
    "KUBERNETES_VERSION",
    "Binaries",
    "ControlPlane",
    "ControlPlaneError",
    "eventually",
    "find_binaries",
    "install_crd",
    "running_control_plane",
]
