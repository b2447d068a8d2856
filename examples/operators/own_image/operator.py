"""The operator baked into its own image (see the Dockerfile beside it): labels each ConfigMap
marked ``opframe.dev/example: "true"`` with the image it was handled by."""

from opframe import on


@on.create("configmaps", labels={"opframe.dev/example": "true"})
def created(patch, **_):
    patch.metadata.labels["handled-by"] = "own-image"
