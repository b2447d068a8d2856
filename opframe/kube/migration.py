"""Storage-version migration of a custom resource: the step Kubernetes leaves to operators after a CRD's
storage version changed (what kube-storage-version-migrator does in-cluster).

Each stored object is written back unchanged (a PUT of what a LIST returned): the API server encodes
every write in the current storage version, so after one pass every object in etcd is stored in it.
Then the CRD's ``status.storedVersions`` is set to the storage version alone, which is what lets a
later release stop serving, or remove, the old versions.

Invariants: no object's content changes (a PUT of the listed object; one changed meanwhile was written
by someone else in the new version already, and a 409 on it is counted, not retried); an object deleted
meanwhile is skipped; ``storedVersions`` is narrowed only when every object was written (or found
changed or gone), never after a failure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource

CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
#: Objects per LIST page: bounded memory for any number of objects.
PAGE_SIZE = 500


class MigrationError(Exception):
    """The migration cannot run or did not finish; the message says why and what to do."""


@dataclasses.dataclass
class MigrationReport:
    crd: str
    storage_version: str
    stored_versions_before: list[str]
    rewritten: int = 0
    changed_meanwhile: int = 0
    gone_meanwhile: int = 0

    @property
    def needed(self) -> bool:
        return self.stored_versions_before != [self.storage_version]


def migrate_storage(client: KubeClient, crd_name: str) -> MigrationReport:
    """Rewrite every object of the CRD ``crd_name`` in its storage version, then narrow its
    ``status.storedVersions`` to that version. Nothing is written when it holds it alone already."""
    try:
        crd = client.get(CRDS, crd_name)
    except errors.NotFound:
        raise MigrationError(f"no CustomResourceDefinition {crd_name!r}; give its name as <plural>.<group>") from None
    spec = crd["spec"]
    storage = [version["name"] for version in spec["versions"] if version.get("storage")]
    if len(storage) != 1:
        raise MigrationError(f"{crd_name} has no single storage version ({storage!r})")
    report = MigrationReport(crd=crd_name, storage_version=storage[0],
                             stored_versions_before=list((crd.get("status") or {}).get("storedVersions") or []))
    if not report.needed:
        return report
    names = spec["names"]
    resource = Resource(spec["group"], storage[0], names["plural"], names["kind"],
                        namespaced=spec.get("scope", "Namespaced") == "Namespaced")
    continue_token: str | None = None
    while True:
        page = client.list(resource, limit=PAGE_SIZE, continue_token=continue_token)
        for item in page.items:
            _rewrite(client, resource, item, report)
        continue_token = page.continue_token
        if not continue_token:
            break
    client.patch(CRDS, crd_name, {"status": {"storedVersions": [report.storage_version]}}, subresource="status")
    return report


def _rewrite(client: KubeClient, resource: Resource, item: dict[str, Any], report: MigrationReport) -> None:
    metadata = item["metadata"]
    body = {**item, "apiVersion": f"{resource.group}/{resource.version}", "kind": resource.kind}
    try:
        client.replace(resource, metadata["name"], body, namespace=metadata.get("namespace"))
    except errors.Conflict:
        report.changed_meanwhile += 1  # written since the LIST: in the storage version already
    except errors.NotFound:
        report.gone_meanwhile += 1
    else:
        report.rewritten += 1
