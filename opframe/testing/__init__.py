"""opframe's test kit: a real local control plane and pytest fixtures for operator authors.

``ControlPlane`` starts etcd and kube-apiserver on loopback, as controller-runtime's
envtest does; ``opframe.testing.pytest_plugin`` (loaded automatically by pytest once
opframe is installed) gives tests a session-wide control plane, an admin API client
and a namespace of their own; ``eventually`` and ``install_crd`` wait for what an
operator does and for a CRD to be served; ``AdmissionProbe`` tells what the API server's
admission (an operator's webhooks) does with an object.
"""

from opframe.testing.admission import AdmissionProbe, Admitted
from opframe.testing.controlplane import (
    KUBERNETES_VERSION,
    Binaries,
    ControlPlane,
    ControlPlaneError,
    find_binaries,
    running_control_plane,
)
from opframe.testing.eventually import eventually, install_crd


def __getattr__(name: str) -> object:
    # KopfRunner runs the operator pipeline; loading it lazily keeps the control-plane kit
    # free of it (the import contract in pyproject.toml).
    if name == "KopfRunner":
        from opframe.testing.runner import KopfRunner

        return KopfRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KUBERNETES_VERSION",
    "AdmissionProbe",
    "Admitted",
    "Binaries",
    "ControlPlane",
    "ControlPlaneError",
    "KopfRunner",
    "eventually",
    "find_binaries",
    "install_crd",
    "running_control_plane",
]
