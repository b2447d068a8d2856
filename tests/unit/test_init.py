"""The names opframe exports at the top (opframe/__init__.py), kopf's among them."""

from __future__ import annotations

import opframe


def test_kopfs_type_names_are_exported() -> None:
    for name in ("Body", "Meta", "Spec", "Status", "Labels", "Annotations", "RawBody", "RawEvent", "RawEventType",
                 "BodyEssence", "ObjectReference", "OwnerReference", "FieldPath", "FieldSpec", "HandlerId", "Logger",
                 "PatchFn", "Patch", "Memo", "Resource", "PermanentError", "TemporaryError", "DaemonStopped"):
        assert hasattr(opframe, name), name
