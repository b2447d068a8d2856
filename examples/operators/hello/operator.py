"""Getting started: each Greeting gets a ConfigMap holding its text, owned by it (deleted with it),
kept in step when the text changes; the Greeting's status says which ConfigMap."""

import opframe


def configmap(name, text):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"greeting-{name}"}, "data": {"text": text}}


@opframe.on.create("greetings.hello.example.com")
def create_fn(spec, name, namespace, body, api, logger, **_):
    child = configmap(name, spec["text"])
    opframe.adopt(child, owner=body)  # owner reference and namespace: deleted with the Greeting
    api.client.create(api.resource("configmaps"), child)
    logger.info(f"made ConfigMap greeting-{name}")
    return {"configmap": f"greeting-{name}"}  # stored in status.create_fn


@opframe.on.update("greetings.hello.example.com", field="spec.text")
def text_changed(new, name, namespace, api, **_):
    api.client.patch(api.resource("configmaps"), f"greeting-{name}", {"data": {"text": new}},
                     namespace=namespace)
