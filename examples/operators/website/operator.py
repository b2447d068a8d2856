"""A Website resource that becomes a ConfigMap, a Deployment and a Service.

    kubectl apply -f examples/operators/website/crd.yaml
    opframe run examples/operators/website/operator.py -n default

Children carry owner references to their Website, so a real cluster's garbage
collector would remove them too; the delete handler removes them explicitly and
reports it, holding the Website with a finalizer until they are gone.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import opframe
from opframe import on

WEBSITES = "websites.example.com"
#: The web server image; where no registry is reachable (opframe's node-backed test
#: cluster) a locally built stand-in serving the same folder.
IMAGE = os.environ.get("WEBSITE_IMAGE", "nginx:1.27")


def children(name: str, namespace: str, spec: dict[str, Any],
             owner: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    labels = {"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": name}
    owner_ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": name,
                 "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    meta = {"name": f"{name}-site", "namespace": namespace, "labels": labels, "ownerReferences": [owner_ref]}
    return [
        ("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "data": {"index.html": spec.get("content", ""), "domain": spec["domain"]}}),
        ("deployments", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
            "replicas": spec.get("replicas", 1),
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "nginx", "image": IMAGE,
                                "imagePullPolicy": "IfNotPresent",
                                "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 2},
                                "volumeMounts": [{"name": "site", "mountPath": "/usr/share/nginx/html"}]}],
                "volumes": [{"name": "site", "configMap": {"name": f"{name}-site"}}]}}}}),
        ("services", {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
            "selector": labels, "ports": [{"port": 80, "targetPort": 80}]}}),
    ]


@on.create(WEBSITES)
def create_site(name, namespace, spec, body, api, logger, patch, **_):
    for plural, child in children(name, namespace, spec, body):
        resource = api.resource(plural)
        try:
            api.client.create(resource, child)
            logger.info(f"created {plural[:-1]} {child['metadata']['name']}")
        except opframe.ApiConflict:  # created by an earlier attempt that failed later
            logger.info(f"{plural[:-1]} {child['metadata']['name']} already exists")
    patch.status["phase"] = "Ready"
    patch.status["url"] = f"http://{spec['domain']}/"
    return {"children": [f"{plural}/{name}-site" for plural, _ in children(name, namespace, spec, body)]}


@on.update(WEBSITES)
def update_site(name, namespace, spec, body, diff, api, logger, patch, **_):
    changed = {item.field[-1] for item in diff if item.field[:1] == ("spec",)}
    wanted = dict(children(name, namespace, spec, body))
    if changed & {"content", "domain"}:
        api.client.patch(api.resource("configmaps"), f"{name}-site", {"data": wanted["configmaps"]["data"]},
                             namespace=namespace)
    if "replicas" in changed:
        api.client.patch(api.resource("deployments"), f"{name}-site",
                             {"spec": {"replicas": spec["replicas"]}}, namespace=namespace)
    logger.info(f"updated {', '.join(sorted(changed)) or 'nothing'}")
    patch.status["phase"] = "Ready"
    patch.status["url"] = f"http://{spec['domain']}/"
    patch.status["observedChanges"] = sorted(changed)


@on.delete(WEBSITES)
def delete_site(name, namespace, api, logger, **_):
    for plural in ("services", "deployments", "configmaps"):
        with contextlib.suppress(opframe.ApiNotFound):
            api.client.delete(api.resource(plural), f"{name}-site", namespace=namespace)
        logger.info(f"deleted {plural[:-1]} {name}-site")


@opframe.timer(WEBSITES, interval=2)
def report_readiness(name, namespace, status, api, patch, **_):
    """status.readyReplicas / status.available from the Deployment's real readiness."""
    try:
        deployment = api.client.get(api.resource("deployments"), f"{name}-site", namespace=namespace)
    except opframe.ApiNotFound:
        return
    wanted = deployment["spec"].get("replicas", 1)
    ready = (deployment.get("status") or {}).get("readyReplicas", 0)
    if (status.get("readyReplicas"), status.get("available")) != (f"{ready}/{wanted}", ready == wanted):
        patch.status["readyReplicas"] = f"{ready}/{wanted}"
        patch.status["available"] = ready == wanted
