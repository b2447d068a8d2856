"""kopf's bookkeeping on objects, read so that opframe continues where a kopf operator stopped.

kopf 1.45 keeps (with its default prefix ``kopf.zalando.org``):

* the diff-base in ``<prefix>/last-handled-configuration`` (compact JSON and a newline);
* one progress record per handler in ``<prefix>/<safe id>``: JSON with ``started``,
  ``stopped``, ``delayed``, ``purpose`` (the cause: create/update/delete/resume),
  ``retries`` (attempts so far), ``success``, ``failure``, ``message``, ``subrefs``;
  the safe id has ``/`` as ``.`` and ``<``/``>`` as ``_``; a key longer than 63
  characters is cut and given a hash suffix (V2), and kopf also writes its older V1 key,
  which counts the prefix in the 63;
* ``<prefix>/touch-dummy``, a timestamp it writes to wake itself;
* the finalizer ``kopf.zalando.org/KopfFinalizerMarker``.

Reading is all this module does, plus naming what to clear once opframe has finished a
cause kopf started; ``KopfBookkeeping`` offers it to the core as its foreign bookkeeping
(handlers/bookkeeping.py). Invariant: nothing here writes kopf's format. kopf's prefix,
finalizer and key names are defined here (its prefix in objects/diffs.py, whose essence
ignores kopf's bookkeeping).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from opframe.handlers.bookkeeping import LAST_HANDLED
from opframe.handlers.progress import HandlerRecord, HandlerState, json_object, parse_time
from opframe.objects.diffs import KOPF_PREFIX
from opframe.settings import Settings

KOPF_FINALIZER = f"{KOPF_PREFIX}/KopfFinalizerMarker"
TOUCH_KEY = "touch-dummy"
#: Kubernetes' limit on the name part of an annotation key.
MAX_NAME = 63


def _safe(key: str) -> str:
    return key.replace("/", ".").replace("<", "_").replace(">", "_")


def _suffix(key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return ("-" + base64.b64encode(digest, altchars=b"-.").decode()).rstrip("=-.")


def v2_key(prefix: str, handler_id: str) -> str:
    suffix = _suffix(handler_id) if len(handler_id) > MAX_NAME else ""
    return f"{prefix}/{_safe(handler_id)[:max(0, MAX_NAME - len(suffix))]}{suffix}"


def v1_key(prefix: str, handler_id: str) -> str:
    safe = _safe(handler_id)
    room = MAX_NAME - len(prefix) - 1
    suffix = "" if len(safe) <= room else _suffix(safe)
    return f"{prefix}/{safe[:room - len(suffix)]}{suffix}"


def _annotations(body: Mapping[str, Any]) -> Mapping[str, str]:
    return (body.get("metadata") or {}).get("annotations") or {}


def read_diff_base(body: Mapping[str, Any], prefix: str = KOPF_PREFIX) -> dict[str, Any] | None:
    return json_object(_annotations(body).get(f"{prefix}/{LAST_HANDLED}"))


def _is_record(data: Mapping[str, Any]) -> bool:
    return isinstance(data.get("success"), bool) or "purpose" in data


def read_record(body: Mapping[str, Any], handler_id: str, prefix: str = KOPF_PREFIX) -> dict[str, Any] | None:
    """kopf's raw record of one handler (V2 key, then V1), or None."""
    annotations = _annotations(body)
    for key in (v2_key(prefix, handler_id), v1_key(prefix, handler_id)):
        data = json_object(annotations.get(key))
        if data is not None and _is_record(data):
            return data
    return None


def to_record(data: Mapping[str, Any]) -> HandlerRecord:
    """opframe's record of a handler from kopf's: its state, first start, attempts and delay."""
    retries = data.get("retries") or 0
    if data.get("success"):
        state = HandlerState.SUCCEEDED
    elif data.get("failure"):
        state = HandlerState.FAILED
    elif data.get("delayed"):
        state = HandlerState.DELAYED
    else:
        state = HandlerState.PENDING
    return HandlerRecord(state=state, started=parse_time(data.get("started")),
                         retries=retries if isinstance(retries, int) else 0,
                         delayed_until=parse_time(data.get("delayed")) if state is HandlerState.DELAYED else None,
                         message=str(data.get("message") or ""))


def adopted_records(body: Mapping[str, Any], handler_ids: list[str], purpose: str,
                    prefix: str = KOPF_PREFIX) -> dict[str, HandlerRecord]:
    """opframe's records for the handlers kopf recorded for this same cause (``purpose``);
    records of another purpose are kopf's stale ones, which it would discard too."""
    found: dict[str, HandlerRecord] = {}
    for handler_id in handler_ids:
        data = read_record(body, handler_id, prefix)
        if data is not None and data.get("purpose") in (purpose, None):
            found[handler_id] = to_record(data)
    return found


def keys_to_clear(body: Mapping[str, Any], prefix: str = KOPF_PREFIX) -> list[str]:
    """kopf's progress records and its touch-dummy on ``body``: cleared once opframe finished the
    cause (a later return to kopf then finds no stale records it would re-use)."""
    keys = []
    for key, value in _annotations(body).items():
        if not key.startswith(f"{prefix}/") or key.endswith(f"/{LAST_HANDLED}"):
            continue
        data = json_object(value)
        if key.endswith(f"/{TOUCH_KEY}") or (data is not None and _is_record(data)):
            keys.append(key)
    return sorted(keys)


@dataclasses.dataclass(frozen=True)
class KopfBookkeeping:
    """kopf's bookkeeping under ``prefix``, as the core's ``ForeignBookkeeping`` (``adopt_kopf``)."""

    prefix: str = KOPF_PREFIX
    finalizer: str = KOPF_FINALIZER

    @classmethod
    def of(cls, settings: Settings) -> KopfBookkeeping:
        """kopf's bookkeeping as ``settings`` name it (``kopf_prefix``, ``kopf_finalizer``; kopf's defaults):
        the Operator continues it with ``adopt_kopf``, and otherwise warns about objects that carry it."""
        return cls(settings.kopf_prefix or KOPF_PREFIX, settings.kopf_finalizer or KOPF_FINALIZER)

    def diff_base(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        return read_diff_base(body, self.prefix)

    def records(self, body: Mapping[str, Any], handler_ids: Sequence[str], cause: str) -> dict[str, HandlerRecord]:
        return adopted_records(body, list(handler_ids), cause, self.prefix)

    def keys_to_clear(self, body: Mapping[str, Any]) -> list[str]:
        return keys_to_clear(body, self.prefix)
