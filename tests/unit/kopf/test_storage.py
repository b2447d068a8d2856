"""Reading kopf's bookkeeping (opframe/kopf/storage.py): keys, records, what to clear.

Key examples were computed with kopf 1.45.2's own algorithm (the issue-12 research notes,
docs/kopf-parity-plan.md in git history before issue 16).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from opframe.handlers.progress import HandlerState
from opframe.kopf import storage as kopf_storage


@pytest.mark.parametrize(("handler_id", "v2", "v1"), [
    ("create_fn", "kopf.zalando.org/create_fn", "kopf.zalando.org/create_fn"),
    ("field_fn/spec.field", "kopf.zalando.org/field_fn.spec.field", "kopf.zalando.org/field_fn.spec.field"),
    ("create_fn/item1", "kopf.zalando.org/create_fn.item1", "kopf.zalando.org/create_fn.item1"),
    ("create_with_field_presence_not_satisfied/spec.inexistent",
     "kopf.zalando.org/create_with_field_presence_not_satisfied.spec.inexistent",
     "kopf.zalando.org/create_with_field_presence_not_satisfie-rIqNYw"),
])
def test_keys_are_kopfs(handler_id: str, v2: str, v1: str) -> None:
    assert kopf_storage.v2_key("kopf.zalando.org", handler_id) == v2
    assert kopf_storage.v1_key("kopf.zalando.org", handler_id) == v1


def body(**annotations: Any) -> dict[str, Any]:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in annotations.items()}
    return {"metadata": {"annotations": encoded}}


def test_records_map_to_opframes_states() -> None:
    started = "2026-12-01T10:00:00.000000+00:00"
    delayed = "2026-12-01T10:01:00.000000+00:00"
    found = kopf_storage.adopted_records(body(**{
        "kopf.zalando.org/a": {"started": started, "purpose": "create", "retries": 1, "success": True,
                               "failure": False},
        "kopf.zalando.org/b": {"started": started, "delayed": delayed, "purpose": "create", "retries": 2,
                               "success": False, "failure": False, "message": "not yet"},
        "kopf.zalando.org/c": {"started": started, "purpose": "create", "retries": 3, "success": False,
                               "failure": True},
        "kopf.zalando.org/d": {"purpose": "create", "retries": 0, "success": False, "failure": False},
        "kopf.zalando.org/e": {"purpose": "update", "retries": 1, "success": True, "failure": False},
    }), ["a", "b", "c", "d", "e", "f"], "create")
    assert {k: r.state for k, r in found.items()} == {
        "a": HandlerState.SUCCEEDED, "b": HandlerState.DELAYED, "c": HandlerState.FAILED, "d": HandlerState.PENDING}
    assert found["b"].retries == 2 and found["b"].message == "not yet"
    assert found["b"].delayed_until == datetime.datetime(2026, 12, 1, 10, 1, tzinfo=datetime.UTC)
    assert found["a"].started == datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC)


def test_naive_timestamps_of_older_kopf_are_utc() -> None:
    found = kopf_storage.adopted_records(body(**{"kopf.zalando.org/a": {
        "started": "2020-01-01T00:00:00", "purpose": "create", "success": False, "failure": False}}), ["a"], "create")
    assert found["a"].started == datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def test_what_to_clear_is_kopfs_records_and_touch_dummy_not_its_diff_base_or_other_annotations() -> None:
    keys = kopf_storage.keys_to_clear(body(**{
        "kopf.zalando.org/a": {"purpose": "create", "success": True, "failure": False},
        "kopf.zalando.org/touch-dummy": "2026-12-01T10:00:00",
        "kopf.zalando.org/last-handled-configuration": {"spec": {}},
        "kopf.zalando.org/not-a-record": "hello",
        "example.com/a": {"purpose": "create", "success": True},
    }))
    assert keys == ["kopf.zalando.org/a", "kopf.zalando.org/touch-dummy"]


def test_diff_base_with_kopfs_trailing_newline() -> None:
    assert kopf_storage.read_diff_base(body(**{"kopf.zalando.org/last-handled-configuration":
                                               '{"spec":{"a":1}}\n'})) == {"spec": {"a": 1}}
