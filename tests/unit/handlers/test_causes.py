"""Cause detection from the latest object and what is persisted on it, in its documented order."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from opframe.handlers.bookkeeping import Bookkeeping
from opframe.handlers.causes import Reason, detect
from opframe.handlers.progress import HandlerRecord, HandlerState, Progress, digest
from opframe.objects.diffs import DiffItem, essence

ANNOTATIONS = Bookkeeping()


FINALIZER = "opframe.dev/finalizer"


BOOKKEEPING = Bookkeeping(finalizer=FINALIZER)


def obj(spec: dict[str, Any] | None = None, *, diff_base: dict[str, Any] | None = None,
        progress: Progress | None = None, deleting: bool = False, finalizers: list[str] | None = None,
        raw_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    annotations: dict[str, str] = dict(raw_annotations or {})
    if diff_base is not None:
        annotations[ANNOTATIONS.last_handled] = orjson.dumps(diff_base).decode()
    if progress is not None:
        annotations[ANNOTATIONS.progress] = progress.to_annotation()
    metadata: dict[str, Any] = {"name": "x", "namespace": "default", "annotations": annotations}
    if finalizers is not None:
        metadata["finalizers"] = finalizers
    if deleting:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"apiVersion": "example.com/v1", "kind": "Website", "metadata": metadata, "spec": spec or {"a": 1}}


def essence_of(spec: dict[str, Any]) -> dict[str, Any]:
    return essence(obj(spec), own_prefix=ANNOTATIONS.own_prefix)


def pending(cause: str, spec: dict[str, Any], *, finished: bool = False) -> Progress:
    state = HandlerState.SUCCEEDED if finished else HandlerState.DELAYED
    return Progress(cause=cause, digest=digest(essence_of(spec)), handlers={"h": HandlerRecord(state=state)})


def run(body: dict[str, Any], *, first_sight: bool = False):  # type: ignore[no-untyped-def]
    return detect(body, bookkeeping=BOOKKEEPING, first_sight=first_sight)


# -- 1. deletion ---------------------------------------------------------------------------------


def test_deletion_with_our_finalizer_is_delete() -> None:
    assert run(obj(deleting=True, finalizers=[FINALIZER], diff_base=essence_of({"a": 1}))).reason is Reason.DELETE


@pytest.mark.parametrize("finalizers", [None, [], ["someone.else/finalizer"]], ids=["none", "empty", "foreign"])
def test_deletion_without_our_finalizer_is_free(finalizers: list[str] | None) -> None:
    assert run(obj(deleting=True, finalizers=finalizers)).reason is Reason.FREE  # kopf's name


def test_deletion_wins_over_a_change() -> None:
    body = obj({"a": 2}, deleting=True, finalizers=[FINALIZER], diff_base=essence_of({"a": 1}))
    assert run(body, first_sight=True).reason is Reason.DELETE


def test_deletion_wins_over_an_update_in_progress() -> None:
    body = obj({"a": 2}, deleting=True, finalizers=[FINALIZER], diff_base=essence_of({"a": 1}),
               progress=pending("update", {"a": 2}))
    assert run(body).reason is Reason.DELETE


def test_delete_cause_carries_the_diff_base_as_old() -> None:
    cause = run(obj(deleting=True, finalizers=[FINALIZER], diff_base=essence_of({"a": 1})))
    assert cause.old == essence_of({"a": 1})


# -- 2. a cause in progress ------------------------------------------------------------------------


@pytest.mark.parametrize(("cause", "reason"), [("create", Reason.CREATE), ("update", Reason.UPDATE),
                                               ("resume", Reason.RESUME)], ids=["create", "update", "resume"])
def test_cause_in_progress_for_the_same_state_continues(cause: str, reason: Reason) -> None:
    body = obj({"a": 2}, diff_base=essence_of({"a": 2}), progress=pending(cause, {"a": 2}))
    assert run(body).reason is reason


def test_update_in_progress_continues_with_its_progress() -> None:
    progress = pending("update", {"a": 2})
    cause = run(obj({"a": 2}, diff_base=essence_of({"a": 1}), progress=progress))
    assert (cause.reason, cause.progress) == (Reason.UPDATE, progress)


def test_create_in_progress_continues_although_a_diff_base_exists() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}), progress=pending("create", {"a": 1}))
    assert run(body).reason is Reason.CREATE


def test_cause_in_progress_for_another_state_falls_through_to_update() -> None:
    body = obj({"a": 3}, diff_base=essence_of({"a": 1}), progress=pending("create", {"a": 2}))
    cause = run(body)
    assert cause.reason is Reason.UPDATE
    assert cause.diff == (DiffItem("change", ("spec", "a"), 1, 3),)


def test_cause_in_progress_for_another_state_without_diff_base_is_create() -> None:
    assert run(obj({"a": 3}, progress=pending("update", {"a": 2}))).reason is Reason.CREATE


def test_finished_progress_does_not_continue() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}), progress=pending("update", {"a": 1}, finished=True))
    assert run(body).reason is Reason.NOOP


def test_progress_without_handlers_does_not_continue() -> None:
    progress = Progress(cause="update", digest=digest(essence_of({"a": 1})))
    assert run(obj({"a": 1}, diff_base=essence_of({"a": 1}), progress=progress)).reason is Reason.NOOP


def test_delete_progress_of_a_live_object_does_not_continue() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}), progress=pending("delete", {"a": 1}))
    assert run(body).reason is Reason.NOOP


def test_progress_with_an_unknown_cause_falls_through() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}), progress=pending("bogus", {"a": 1}))
    assert run(body, first_sight=True).reason is Reason.RESUME


def test_own_annotations_do_not_change_the_digest_of_the_state() -> None:
    body = obj({"a": 2}, diff_base=essence_of({"a": 1}), progress=pending("update", {"a": 2}),
               raw_annotations={"opframe.dev/something": "new"})
    assert run(body).reason is Reason.UPDATE


# -- 3. to 6. --------------------------------------------------------------------------------------


def test_no_diff_base_is_create() -> None:
    assert run(obj({"a": 1})).reason is Reason.CREATE


def test_no_diff_base_is_create_also_on_first_sight() -> None:
    assert run(obj({"a": 1}), first_sight=True).reason is Reason.CREATE


def test_unreadable_diff_base_counts_as_none() -> None:
    body = obj({"a": 1}, raw_annotations={ANNOTATIONS.last_handled: "{not json"})
    assert run(body).reason is Reason.CREATE


def test_create_has_no_old_and_the_essence_as_new() -> None:
    cause = run(obj({"a": 1}))
    assert (cause.old, cause.new, cause.diff) == (None, essence_of({"a": 1}), ())


def test_changed_essence_is_update_with_old_new_and_diff() -> None:
    cause = run(obj({"a": 2}, diff_base=essence_of({"a": 1})))
    assert cause.reason is Reason.UPDATE
    assert cause.old == essence_of({"a": 1})
    assert cause.new == essence_of({"a": 2})
    assert cause.diff == (DiffItem("change", ("spec", "a"), 1, 2),)


def test_changed_label_is_update() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}))
    body["metadata"]["labels"] = {"app": "web"}
    cause = run(body)
    assert cause.reason is Reason.UPDATE
    assert cause.diff == (DiffItem("add", ("metadata",), None, {"labels": {"app": "web"}}),)


def test_update_wins_over_first_sight() -> None:
    assert run(obj({"a": 2}, diff_base=essence_of({"a": 1})), first_sight=True).reason is Reason.UPDATE


def test_unchanged_on_first_sight_is_resume() -> None:
    cause = run(obj({"a": 1}, diff_base=essence_of({"a": 1})), first_sight=True)
    assert (cause.reason, cause.old, cause.diff) == (Reason.RESUME, essence_of({"a": 1}), ())


def test_unchanged_after_first_sight_is_none() -> None:
    assert run(obj({"a": 1}, diff_base=essence_of({"a": 1}))).reason is Reason.NOOP


def test_status_and_own_annotations_are_not_changes() -> None:
    body = obj({"a": 1}, diff_base=essence_of({"a": 1}), raw_annotations={"opframe.dev/other": "x"})
    body["status"] = {"ready": True}
    assert run(body).reason is Reason.NOOP


def test_cause_carries_the_body_and_essence() -> None:
    body = obj({"a": 1})
    cause = run(body)
    assert cause.body is body
    assert cause.essence == essence_of({"a": 1})
