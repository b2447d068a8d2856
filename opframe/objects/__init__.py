"""The Kubernetes object as handlers see it: plain dicts with kopf's names, no opframe imports.

* ``bodies``: ``Body``, ``Meta``, ``Spec``, ``Status``, ``LiveBody`` (kopf's attribute access).
* ``patches``: ``Patch`` (kopf's), its live section views and the JSON-patch diff engine.
* ``diffs``: essences and diffs (kopf's ``Diff``), field paths, the managed-annotation marker.

Invariant: these modules import only the standard library, so every layer above (handlers,
the pure planner, the writer, kopf's façade) can build on them.
"""
