"""Admission reviews: what the API server asks (an AdmissionReview, v1 or v1beta1) and what opframe
answers, with kopf's meanings. Pure: no sockets, no threads, no user code (serving.py runs that).

Invariants of an answer (the API server refuses any other with a 500):

* it echoes the request's ``apiVersion`` and ``kind``, and its ``request.uid`` as ``response.uid``;
* ``allowed`` is false exactly when a selected handler raised; ``status`` then carries the message and
  code of the first error by kopf's priority (AdmissionError, PermanentError, TemporaryError, any other;
  the first registered among equals), 500 unless an AdmissionError gave another code;
* a patch is a base64 JSON patch with ``patchType: JSONPatch``, and only a mutating webhook's answer
  carries one (the API server fails a validating webhook that returns one; kopf would send it);
* ``warnings`` are sent as they are, for validating and mutating webhooks alike.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opframe.handlers.handler import Handler, Kind, Webhook
from opframe.handlers.retries import AdmissionError, PermanentError, TemporaryError

#: The review versions opframe answers, each in its own version (the API server sends the first it
#: finds in the configuration's admissionReviewVersions that it speaks).
REVIEW_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
#: The operations a request may carry.
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")


class ReviewError(Exception):
    """A request opframe cannot answer as a review: the HTTP ``code`` and the reason (one line)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class Review:
    """One admission request, as read from an AdmissionReview."""

    api_version: str
    kind: str
    uid: str
    group: str
    version: str
    plural: str
    subresource: str | None
    operation: str
    user_info: Mapping[str, Any]
    #: ``request.object`` and ``request.oldObject`` (a DELETE has no object, a CREATE no old one).
    new: dict[str, Any] | None
    old: dict[str, Any] | None
    dry_run: bool

    @property
    def body(self) -> dict[str, Any]:
        """The object handlers see (kopf's): the new one, or on DELETE the old one."""
        body = self.new if self.new is not None else self.old
        assert body is not None  # parse() refuses a request with neither
        return body


def parse(payload: Any) -> Review:
    """The review in a decoded request body; ReviewError(400) naming what is missing or malformed."""
    if not isinstance(payload, Mapping):
        raise ReviewError(400, "the body is not a JSON object (an AdmissionReview)")
    api_version = payload.get("apiVersion")
    if api_version not in REVIEW_VERSIONS:
        raise ReviewError(400, f"apiVersion {api_version!r} is not an AdmissionReview's; expected one of "
                               f"{', '.join(REVIEW_VERSIONS)}")
    request = payload.get("request")
    if not isinstance(request, Mapping):
        raise ReviewError(400, "the AdmissionReview has no request")
    resource = request.get("resource")
    if not isinstance(resource, Mapping) or not resource.get("resource") or not resource.get("version"):
        raise ReviewError(400, "the request names no resource (request.resource: group, version, resource)")
    if request.get("userInfo") is None:
        raise ReviewError(400, "User info is missing from the admission request.")  # kopf's words
    new, old = request.get("object"), request.get("oldObject")
    if not isinstance(new, dict) and not isinstance(old, dict):
        raise ReviewError(400, "Either old or new object is missing from the admission request.")
    return Review(api_version=str(api_version), kind=str(payload.get("kind") or "AdmissionReview"),
                  uid=str(request.get("uid") or ""), group=str(resource.get("group") or ""),
                  version=str(resource["version"]), plural=str(resource["resource"]),
                  subresource=request.get("subResource") or None, operation=str(request.get("operation") or ""),
                  user_info=request["userInfo"], new=new if isinstance(new, dict) else None,
                  old=old if isinstance(old, dict) else None, dry_run=bool(request.get("dryRun")))


def wanted(handler: Handler, review: Review, *, webhook: str | None) -> bool:
    """kopf's selection of an admission handler before its filters: the handler named in the URL (None:
    any), a mutator on DELETE only when its operations are exactly DELETE, and the subresource
    (``"*"``: any, the main resource too); never a ``cel=`` handler (the API server enforces its rules).
    The handler's operations are not checked otherwise: the API server sends only those of its
    configuration."""
    if handler.kind not in (Kind.VALIDATE, Kind.MUTATE):
        return False
    if webhook is not None and handler.id != webhook:
        return False
    options = handler.webhook or Webhook()
    if options.is_policy:
        return False  # cel=: the API server enforces it (a ValidatingAdmissionPolicy); never called here
    if handler.kind is Kind.MUTATE and review.operation == "DELETE" and options.operations != frozenset({"DELETE"}):
        return False
    return options.subresource in ("*", review.subresource)


#: kopf's priority among the errors of one request: the first of the lowest rank is answered.
def _rank(error: BaseException) -> int:
    if isinstance(error, AdmissionError):
        return 0
    if isinstance(error, PermanentError):
        return 1
    if isinstance(error, TemporaryError):
        return 2
    return 9


def verdict(errors: Sequence[BaseException]) -> tuple[str, int] | None:
    """The message and code a denial carries (None: no error, the request is allowed)."""
    if not errors:
        return None
    first = sorted(errors, key=_rank)[0]  # stable: the first registered among equals
    code = first.code if isinstance(first, AdmissionError) else None
    return (str(first) or repr(first)), (code or 500)


def answer(review: Review, *, denial: tuple[str, int] | None = None, warnings: Iterable[str] = (),
           patch: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The AdmissionReview to send back (see the module's invariants)."""
    response: dict[str, Any] = {"uid": review.uid, "allowed": denial is None}
    shown = [str(warning) for warning in warnings]
    if shown:
        response["warnings"] = shown
    if patch:
        response["patch"] = base64.b64encode(json.dumps(list(patch)).encode()).decode()
        response["patchType"] = "JSONPatch"
    if denial is not None:
        response["status"] = {"message": denial[0], "code": denial[1]}
    return {"apiVersion": review.api_version, "kind": review.kind, "response": response}


def refusal(review: Review, message: str, code: int) -> dict[str, Any]:
    """A denial opframe itself decides (a handler that did not answer in time, say)."""
    return answer(review, denial=(message, code))
