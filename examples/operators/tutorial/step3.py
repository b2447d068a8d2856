"""Tutorial, step 3: a Site registers itself in a shared directory ConfigMap (which it does not own)
and leaves it when deleted: a deletion handler, held by opframe's finalizer until it succeeds."""

import contextlib

import opframe

DIRECTORY = "site-directory"


def page_configmap(name, page):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-page"},
            "data": {"index.html": page}}


def directory(api, namespace, name, entry):
    """Set (or, with entry None, remove) one Site's line in the shared directory."""
    configmaps = api.resource("configmaps")
    with contextlib.suppress(opframe.ApiConflict):  # it exists already
        api.client.create(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": DIRECTORY, "namespace": namespace}, "data": {}})
    api.client.patch(configmaps, DIRECTORY, {"data": {name: entry}}, namespace=namespace)


@opframe.on.create("sites.tutorial.example.com")
def create_site(spec, name, namespace, body, api, patch, **_):
    configmap = page_configmap(name, spec["page"])
    opframe.adopt(configmap, owner=body)
    api.client.create(api.resource("configmaps"), configmap)
    directory(api, namespace, name, f"{name}-page")
    patch.status["phase"] = "Serving"
    return {"configmap": f"{name}-page"}


@opframe.on.update("sites.tutorial.example.com", field="spec.page")
def page_changed(new, name, namespace, api, **_):
    api.client.patch(api.resource("configmaps"), f"{name}-page", {"data": {"index.html": new}},
                     namespace=namespace)


@opframe.on.delete("sites.tutorial.example.com")
def delete_site(name, namespace, api, logger, **_):
    directory(api, namespace, name, None)  # a merge patch with null removes the key
    logger.info(f"{name} left the directory")
