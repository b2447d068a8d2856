"""Mirror labelled ConfigMaps into every namespace whose name matches a glob.

A source ConfigMap is labelled ``mirror.opframe.dev/enabled: "true"`` and names its
targets in the annotation ``mirror.opframe.dev/namespaces`` (comma-separated globs,
for example ``team-*,staging``). The operator copies it into every matching
namespace, keeps the copies in sync when the source changes, copies it into matching
namespaces created later, and removes the copies when the source goes.

    opframe run examples/operators/configmap_mirror/operator.py -A
"""

from __future__ import annotations

import contextlib
import fnmatch
from typing import Any

import opframe
from opframe import on

ENABLED = {"mirror.opframe.dev/enabled": "true"}
TARGETS = "mirror.opframe.dev/namespaces"
SOURCE_LABEL = "mirror.opframe.dev/source"


def _targets(globs: str, namespaces: list[str], source_namespace: str) -> list[str]:
    patterns = [g.strip() for g in globs.split(",") if g.strip()]
    return sorted(ns for ns in namespaces
                  if ns != source_namespace and any(fnmatch.fnmatchcase(ns, p) for p in patterns))


def _copy(source: dict[str, Any], namespace: str) -> dict[str, Any]:
    meta = source["metadata"]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": meta["name"], "namespace": namespace,
                         "labels": {SOURCE_LABEL: f"{meta['namespace']}.{meta['name']}"}},
            "data": source.get("data") or {}, "binaryData": source.get("binaryData") or {}}


def _write(api: Any, copy: dict[str, Any]) -> None:
    configmaps = api.resource("configmaps")
    try:
        api.client.create(configmaps, copy)
    except opframe.ApiConflict:
        api.client.patch(configmaps, copy["metadata"]["name"],
                             {"data": copy["data"], "binaryData": copy["binaryData"]},
                             namespace=copy["metadata"]["namespace"])


@opframe.index("configmaps", labels=ENABLED)
def mirror_sources(body, name, namespace, **_):
    """Every source, so that a new namespace finds the sources meant for it without a LIST."""
    return {f"{namespace}/{name}": body}


@on.create("configmaps", labels=ENABLED)
@on.update("configmaps", labels=ENABLED)
@on.resume("configmaps", labels=ENABLED)
def sync_copies(body, name, namespace, annotations, api, logger, **_):
    namespaces = [ns["metadata"]["name"] for ns in api.client.list(api.resource("namespaces")).items]
    wanted = _targets(annotations.get(TARGETS, ""), namespaces, namespace)
    for target in wanted:
        _write(api, _copy(body, target))
    logger.info(f"mirrored {namespace}/{name} into {', '.join(wanted) or 'no namespace'}")
    return {"copies": wanted}


@on.delete("configmaps", labels=ENABLED)
def remove_copies(name, namespace, api, logger, **_):
    configmaps = api.resource("configmaps")
    copies = api.client.list(configmaps, label_selector=f"{SOURCE_LABEL}={namespace}.{name}").items
    for copy in copies:
        with contextlib.suppress(opframe.ApiNotFound):
            api.client.delete(configmaps, copy["metadata"]["name"], namespace=copy["metadata"]["namespace"])
    logger.info(f"removed {len(copies)} copies of {namespace}/{name}")


@on.create("namespaces")
def new_namespace(name, mirror_sources, api, logger, **_):
    for key, bodies in mirror_sources.items():
        source = bodies[0]
        globs = (source["metadata"].get("annotations") or {}).get(TARGETS, "")
        if _targets(globs, [name], source["metadata"]["namespace"]):
            _write(api, _copy(source, name))
            logger.info(f"mirrored {key} into the new namespace {name}")
