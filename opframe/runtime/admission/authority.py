"""The certificate authority every replica of an operator shares, kept in a Secret of its namespace, and
rotated with an overlap so that no admission request fails while it changes.

The Secret's data:

* ``ca.crt``, ``ca.key``: the signing CA; each replica issues its own serving certificate from it;
* ``next.crt``, ``next.key``: a CA being introduced: trusted (in the caBundle), not yet signing;
* ``previous.crt``: a CA being retired: still trusted, no longer signing.

Its annotation STEP_ANNOTATION holds when the last step was taken; ROTATE_ANNOTATION (any value) asks
for a rotation now (``kubectl annotate secret NAME opframe.dev/rotate-ca=now``).

A rotation is three steps at least ``overlap`` seconds apart, taken by the leader only:

1. INTRODUCE: ``next`` := a new CA; the caBundle gains it (the leader applies the configurations again);
2. PROMOTE: ``previous`` := ``ca``, ``ca`` := ``next``; each replica issues its serving certificate from
   the new CA at its next check;
3. RETIRE: ``previous`` is dropped; the caBundle loses it.

So the API server trusts a serving certificate before any replica serves it and until none does, as
long as ``overlap`` exceeds the replicas' check period and the API server's reaction (well under a
second). Every write carries the resourceVersion it was decided on: two leaders (a hand-over) cannot
both step. ``next_step`` is the pure decision; ``SharedAuthority`` talks to the API server.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import enum
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.pki import load_ca, new_ca
from opframe.kube.resources import Resource

SECRETS = Resource("", "v1", "secrets", "Secret")
STEP_ANNOTATION = "opframe.dev/ca-step-at"
ROTATE_ANNOTATION = "opframe.dev/rotate-ca"
#: A CA is renewed when less than this share of its validity remains: for the default 365 days, about
#: four months ahead, so a stopped operator has long to come back before anything expires.
RENEW_SHARE = 1 / 3
CA_NAME = "opframe-webhook-ca"


class Step(enum.Enum):
    CREATE = "create"
    INTRODUCE = "introduce"
    PROMOTE = "promote"
    RETIRE = "retire"


@dataclasses.dataclass(frozen=True)
class AuthorityState:
    """What the decision needs to know of the Secret (``exists=False``: there is none)."""

    exists: bool
    ca_not_before: datetime.datetime | None = None
    ca_not_after: datetime.datetime | None = None
    introducing: bool = False
    retiring: bool = False
    step_at: datetime.datetime | None = None
    rotation_asked: bool = False


def next_step(state: AuthorityState, now: datetime.datetime, *, overlap: datetime.timedelta) -> Step | None:
    """The step to take now, or None. At most one of introducing/retiring is in progress at a time, and
    a step follows the previous one only after ``overlap``."""
    if not state.exists:
        return Step.CREATE
    settled = state.step_at is None or now - state.step_at >= overlap
    if state.introducing:
        return Step.PROMOTE if settled else None
    if state.retiring:
        return Step.RETIRE if settled else None
    if state.rotation_asked:
        return Step.INTRODUCE
    if state.ca_not_before is not None and state.ca_not_after is not None:
        renew_at = state.ca_not_after - (state.ca_not_after - state.ca_not_before) * RENEW_SHARE
        if now >= renew_at:
            return Step.INTRODUCE
    return None


@dataclasses.dataclass(frozen=True)
class Authority:
    """The Secret's contents as the replicas use them."""

    ca_cert: bytes
    ca_key: bytes
    next_cert: bytes = b""
    previous_cert: bytes = b""
    resource_version: str = ""

    @property
    def bundle(self) -> bytes:
        """Every CA the API server must trust now: the signing one, and the introduced or retired one."""
        return b"".join(pem if pem.endswith(b"\n") else pem + b"\n"
                        for pem in (self.ca_cert, self.next_cert, self.previous_cert) if pem)


class AuthorityError(Exception):
    """The Secret cannot be read or written, or holds no usable CA; the message names the fix."""


class SharedAuthority:
    """The CA Secret ``name`` in ``namespace``, read by every replica and stepped by the leader."""

    def __init__(self, client: KubeClient, namespace: str, name: str, *, validity: datetime.timedelta,
                 overlap: datetime.timedelta) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.validity = validity
        self.overlap = overlap
        #: An ownerReference for the Secret it creates (garbage-collected with that owner), or None.
        self.owner: dict[str, Any] | None = None

    def load(self) -> Authority:
        """The Secret's CA, creating the Secret (with a new CA) when there is none."""
        secret = self._get()
        if secret is None:
            with contextlib.suppress(errors.Conflict):  # another replica created it first: use that one
                self._write(Step.CREATE, None, self._fresh())
            secret = self._get()
            if secret is None:
                raise AuthorityError(f"the CA Secret {self.namespace}/{self.name} vanished right after its creation")
        return _authority(secret, self.namespace, self.name)

    def step(self, now: datetime.datetime | None = None) -> Step | None:
        """The leader's turn: take the rotation step that is due, if any (a lost race changes nothing)."""
        now = now or datetime.datetime.now(datetime.UTC)
        secret = self._get()
        state = _state(secret)
        step = next_step(state, now, overlap=self.overlap)
        if step is None:
            return None
        try:
            self._write(step, secret, self._fresh() if step in (Step.CREATE, Step.INTRODUCE) else None, now=now)
        except (errors.Conflict, errors.NotFound):
            return None  # someone else stepped (or deleted it) meanwhile; decided again at the next check
        return step

    # -- the API server -------------------------------------------------------------------------------

    def _get(self) -> dict[str, Any] | None:
        try:
            return self.client.get(SECRETS, self.name, namespace=self.namespace)
        except errors.NotFound:
            return None
        except errors.Forbidden:
            raise AuthorityError(self._forbidden("get")) from None

    def _fresh(self) -> tuple[bytes, bytes]:
        pair, _, _ = new_ca(CA_NAME, validity=self.validity)
        return pair.cert_pem, pair.key_pem

    def _write(self, step: Step, secret: dict[str, Any] | None, fresh: tuple[bytes, bytes] | None, *,
               now: datetime.datetime | None = None) -> None:
        stamp = (now or datetime.datetime.now(datetime.UTC)).isoformat()
        try:
            if step is Step.CREATE:
                assert fresh is not None
                self.client.create(SECRETS, {
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": self.name, "namespace": self.namespace,
                                 "labels": {"app.kubernetes.io/managed-by": "opframe"},
                                 **({"ownerReferences": [self.owner]} if self.owner else {}),
                                 "annotations": {STEP_ANNOTATION: stamp}},
                    "data": {"ca.crt": _b64(fresh[0]), "ca.key": _b64(fresh[1])}}, namespace=self.namespace)
                return
            assert secret is not None
            data = secret.get("data") or {}
            changes: dict[str, str | None] = {}
            if step is Step.INTRODUCE:
                assert fresh is not None
                changes = {"next.crt": _b64(fresh[0]), "next.key": _b64(fresh[1])}
            elif step is Step.PROMOTE:
                changes = {"previous.crt": data.get("ca.crt"), "ca.crt": data.get("next.crt"),
                           "ca.key": data.get("next.key"), "next.crt": None, "next.key": None}
            elif step is Step.RETIRE:
                changes = {"previous.crt": None}
            # A merge patch that names the resourceVersion it was decided on: 409 if anything changed since.
            self.client.patch(SECRETS, self.name, {
                "metadata": {"resourceVersion": secret["metadata"]["resourceVersion"],
                             "annotations": {STEP_ANNOTATION: stamp, ROTATE_ANNOTATION: None}},
                "data": changes}, namespace=self.namespace)
        except errors.Forbidden:
            raise AuthorityError(self._forbidden("create" if step is Step.CREATE else "patch")) from None

    def _forbidden(self, verb: str) -> str:
        return (f"RBAC forbids the operator to {verb} the CA Secret {self.namespace}/{self.name}; grant get, "
                f"create and patch on secrets in {self.namespace} (a Role and RoleBinding)")


def _state(secret: dict[str, Any] | None) -> AuthorityState:
    if secret is None:
        return AuthorityState(exists=False)
    data = secret.get("data") or {}
    annotations = secret["metadata"].get("annotations") or {}
    not_before = not_after = None
    if data.get("ca.crt"):
        try:
            _, cert = load_ca(base64.b64decode(data["ca.crt"]), base64.b64decode(data["ca.key"]))
        except (ValueError, KeyError):
            pass
        else:
            not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    try:
        step_at = datetime.datetime.fromisoformat(annotations[STEP_ANNOTATION])
    except (KeyError, ValueError):
        step_at = None
    return AuthorityState(exists=True, ca_not_before=not_before, ca_not_after=not_after,
                          introducing=bool(data.get("next.crt")), retiring=bool(data.get("previous.crt")),
                          step_at=step_at, rotation_asked=ROTATE_ANNOTATION in annotations)


def _authority(secret: dict[str, Any], namespace: str, name: str) -> Authority:
    data = secret.get("data") or {}
    try:
        ca_cert, ca_key = base64.b64decode(data["ca.crt"]), base64.b64decode(data["ca.key"])
        load_ca(ca_cert, ca_key)
    except (KeyError, ValueError) as exc:
        raise AuthorityError(f"the CA Secret {namespace}/{name} holds no usable ca.crt and ca.key ({exc}); delete "
                             "it, and the operator makes a new one") from None
    return Authority(ca_cert=ca_cert, ca_key=ca_key, next_cert=base64.b64decode(data.get("next.crt") or ""),
                     previous_cert=base64.b64decode(data.get("previous.crt") or ""),
                     resource_version=secret["metadata"].get("resourceVersion", ""))


def _b64(pem: bytes) -> str:
    return base64.b64encode(pem).decode()
