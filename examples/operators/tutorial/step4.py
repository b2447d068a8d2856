"""Tutorial, step 4: a timer checks each Site every few seconds, and a daemon per Site keeps a
heartbeat in its status while the Site exists."""

import contextlib
import datetime

import opframe

DIRECTORY = "site-directory"


def page_configmap(name, page):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-page"},
            "data": {"index.html": page}}


def directory(api, namespace, name, entry):
    configmaps = api.resource("configmaps")
    with contextlib.suppress(opframe.ApiConflict):
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
def delete_site(name, namespace, api, **_):
    directory(api, namespace, name, None)


@opframe.timer("sites.tutorial.example.com", interval=2, initial_delay=1)
def check_page(name, namespace, api, patch, **_):
    page = api.client.get(api.resource("configmaps"), f"{name}-page", namespace=namespace)
    patch.status["pageBytes"] = len(page["data"]["index.html"])  # written after the call


@opframe.daemon("sites.tutorial.example.com")
def heartbeat(stopped, name, namespace, api, **_):
    sites = api.resource("sites.tutorial.example.com")
    while not stopped.wait(2):  # wakes at once when the Site goes or the operator stops
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        api.client.patch(sites, name, {"status": {"heartbeat": now}}, namespace=namespace, subresource="status")
