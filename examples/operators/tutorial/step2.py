"""Tutorial, step 2: the page follows the Site's spec, and the status says how it went."""

import opframe


def page_configmap(name, page):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-page"},
            "data": {"index.html": page}}


@opframe.on.create("sites.tutorial.example.com")
def create_site(spec, name, body, api, patch, **_):
    configmap = page_configmap(name, spec["page"])
    opframe.adopt(configmap, owner=body)
    api.client.create(api.resource("configmaps"), configmap)
    patch.status["phase"] = "Serving"
    return {"configmap": f"{name}-page"}


@opframe.on.update("sites.tutorial.example.com", field="spec.page")
def page_changed(new, name, namespace, status, api, patch, **_):
    api.client.patch(api.resource("configmaps"), f"{name}-page", {"data": {"index.html": new}},
                     namespace=namespace)
    patch.status["revisions"] = status.get("revisions", 0) + 1  # written after the handler, with the results


@opframe.on.field("sites.tutorial.example.com", field="spec.replicas")
def scaled(old, new, retry, logger, **_):
    if old is not None and new < old and retry == 0:
        raise opframe.TemporaryError("draining before scaling down", delay=1)  # retried a second later
    logger.info(f"replicas {old} -> {new}")
