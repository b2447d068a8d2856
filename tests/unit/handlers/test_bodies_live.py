"""refresh_in_place: a held body (and its held sections) show the new state (kopf's live bodies)."""

from __future__ import annotations

from opframe.handlers.bodies import Body, refresh_in_place


def test_sections_held_by_a_daemon_follow_the_object() -> None:
    body = Body({"metadata": {"name": "a", "labels": {"l": "1"}}, "spec": {"v": 1, "gone": True}})
    spec, labels, meta = body.spec, body.meta.labels, body.meta
    refresh_in_place(body, {"metadata": {"name": "a", "labels": {"l": "2"}}, "spec": {"v": 2}, "status": {"s": 1}})
    assert spec == {"v": 2} and spec is body["spec"]
    assert labels == {"l": "2"} and meta["labels"] is labels
    assert body.status == {"s": 1}
