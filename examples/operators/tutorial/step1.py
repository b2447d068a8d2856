"""Tutorial, step 1: each Site gets a ConfigMap holding its page, owned by the Site."""

import opframe


def page_configmap(name, page):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-page"},
            "data": {"index.html": page}}


@opframe.on.create("sites.tutorial.example.com")
def create_site(spec, name, body, api, logger, **_):
    configmap = page_configmap(name, spec["page"])
    opframe.adopt(configmap, owner=body)  # owner reference + namespace: deleted with the Site
    api.client.create(api.resource("configmaps"), configmap)
    logger.info(f"made ConfigMap {name}-page")
    return {"configmap": f"{name}-page"}  # the Site's status.create_site
