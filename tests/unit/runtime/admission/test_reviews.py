"""Admission reviews (opframe.runtime.admission.reviews): kopf's selection, error priority and answers,
as tables; no sockets."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.registry import Registry
from opframe.runtime.admission.reviews import ReviewError, answer, parse, verdict, wanted


def review(**request: Any) -> dict[str, Any]:
    base = {"uid": "u-1", "resource": {"group": "kopf.dev", "version": "v1", "resource": "kopfexamples"},
            "operation": "CREATE", "userInfo": {"username": "admin"}, "object": {"spec": {}}}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {**base, **request}}


def handler(decorator: Any, **options: Any) -> Handler:
    registry = Registry()
    decorator("kopfexamples", registry=registry, id="h", **options)(lambda **_: None)
    (made,) = registry.handlers(Kind.VALIDATE, Kind.MUTATE)
    return made


@pytest.mark.parametrize(("payload", "message"), [
    ([], "the body is not a JSON object"),
    ({"apiVersion": "v1", "request": {}}, "apiVersion 'v1' is not an AdmissionReview's"),
    ({"apiVersion": "admission.k8s.io/v1"}, "the AdmissionReview has no request"),
    (review(resource=None), "the request names no resource"),
    (review(userInfo=None), "User info is missing from the admission request."),
    (review(object=None), "Either old or new object is missing from the admission request."),
])
def test_a_malformed_review_is_a_400_naming_what_is_wrong(payload: Any, message: str) -> None:
    with pytest.raises(ReviewError) as error:
        parse(payload)
    assert error.value.code == 400 and error.value.message.startswith(message)


def test_on_delete_the_handlers_see_the_old_object() -> None:
    parsed = parse(review(operation="DELETE", object=None, oldObject={"spec": {"old": True}}))
    assert parsed.body == {"spec": {"old": True}} and parsed.new is None


@pytest.mark.parametrize(("decorator", "options", "request_", "webhook", "expected"), [
    (on.validate, {}, {}, "h", True),
    (on.validate, {}, {}, "other", False),           # the URL names another handler
    (on.validate, {}, {}, None, True),               # no name: every handler (kopf's custom servers)
    (on.validate, {}, {}, "", False),                # the server's root: none (kopf's built-in server)
    (on.mutate, {}, {"operation": "DELETE"}, "h", False),           # mutators skip DELETE...
    (on.mutate, {"operations": ["DELETE"]}, {"operation": "DELETE"}, "h", True),  # ...unless only DELETE
    (on.mutate, {"operations": ["CREATE", "DELETE"]}, {"operation": "DELETE"}, "h", False),
    (on.validate, {}, {"operation": "DELETE"}, "h", True),
    (on.validate, {}, {"subResource": "status"}, "h", False),       # None: the main resource only
    (on.validate, {"subresource": "status"}, {"subResource": "status"}, "h", True),
    (on.validate, {"subresource": "status"}, {}, "h", False),
    (on.validate, {"subresource": "*"}, {}, "h", True),              # "*": any, the main one too
    (on.validate, {"subresource": "*"}, {"subResource": "scale"}, "h", True),
    (on.validate, {"operations": ["UPDATE"]}, {"operation": "CREATE"}, "h", True),  # not checked in-process
])
def test_which_handlers_a_request_selects(decorator: Any, options: dict[str, Any], request_: dict[str, Any],
                                          webhook: str | None, expected: bool) -> None:
    assert wanted(handler(decorator, **options), parse(review(**request_)), webhook=webhook) is expected


@pytest.mark.parametrize(("errors", "expected"), [
    ([], None),
    ([RuntimeError("boom")], ("boom", 500)),
    ([RuntimeError()], ("RuntimeError()", 500)),
    ([opframe.AdmissionError("no", code=555)], ("no", 555)),
    ([opframe.AdmissionError("no", code=0)], ("no", 500)),
    ([opframe.AdmissionError("no", code=None)], ("no", 500)),
    ([RuntimeError("a"), opframe.TemporaryError("b"), opframe.PermanentError("c")], ("c", 500)),
    ([opframe.PermanentError("c"), opframe.AdmissionError("d", code=422)], ("d", 422)),
    ([opframe.AdmissionError("first", code=400), opframe.AdmissionError("second", code=401)], ("first", 400)),
    ([RuntimeError("x"), opframe.TemporaryError("t")], ("t", 500)),
])
def test_the_denial_is_the_first_error_by_kopfs_priority(errors: list[BaseException],
                                                         expected: tuple[str, int] | None) -> None:
    assert verdict(errors) == expected


def test_an_answer_echoes_the_request_and_carries_warnings_and_a_json_patch() -> None:
    parsed = parse({**review(), "apiVersion": "admission.k8s.io/v1beta1"})
    ops = [{"op": "add", "path": "/spec/injected", "value": 123}]
    allowed = answer(parsed, warnings=["careful"], patch=ops)
    assert allowed["apiVersion"] == "admission.k8s.io/v1beta1" and allowed["kind"] == "AdmissionReview"
    response = allowed["response"]
    assert response["uid"] == "u-1" and response["allowed"] is True and response["warnings"] == ["careful"]
    assert response["patchType"] == "JSONPatch" and json.loads(base64.b64decode(response["patch"])) == ops
    assert "status" not in response
    denied = answer(parsed, denial=("no", 555))["response"]
    assert denied == {"uid": "u-1", "allowed": False, "status": {"message": "no", "code": 555}}
