"""What handlers are given: kopf's keyword arguments, and the narrow ``Api`` facade.

Every user callable (handler, ``when=`` filter, index function, timer, daemon) gets its
own copy of the object: the informer's cache holds one dict per object for every
reader, and a callable that mutated it would corrupt it for all later readers.
``fresh_body()`` makes such a copy from the bytes serialised once per reconcile.
"""

from __future__ import annotations

import copy
import datetime
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from opframe.handlers.handler import Handler
from opframe.handlers.memos import Memo
from opframe.handlers.progress import now_utc
from opframe.kube.client import KubeClient
from opframe.kube.discovery import Discovery
from opframe.kube.resources import Resource
from opframe.objects.bodies import Body
from opframe.objects.diffs import Diff
from opframe.objects.patches import Patch
from opframe.runtime.telemetry.logs import object_logger
from opframe.settings import Settings, SettingsView


class Api:
    """What a handler may use of the operator (the ``api`` keyword argument).

    ``client``: the operator's KubeClient (its rate limits and retries);
    ``resource(*names)``: resolve a resource name as the decorators do
    (``api.resource("deployments")``, ``api.resource("apps", "v1", "deployments")``);
    ``settings``: the operator's Settings; ``memo``: the operator-wide memo;
    ``settings_view``: another API's view of ``settings`` (kopf's OperatorSettings), which handlers
    get as their ``settings`` keyword argument when there is one (as in kopf; opframe's fields
    read through it too).
    (``runtime`` is kopf's: a timedelta since the handler's first attempt.)
    """

    def __init__(self, client: KubeClient, settings: Settings, memo: Memo,
                 settings_view: SettingsView | None = None) -> None:
        self.client = client
        self.settings = settings
        self.memo = memo
        self.settings_view = settings_view
        self._discovery: Discovery | None = None
        self._lock = threading.Lock()

    def resource(self, *spec: str) -> Resource:
        with self._lock:
            if self._discovery is None:
                self._discovery = Discovery(self.client)
            discovery = self._discovery
        return discovery.resolve(*spec)


def serialised(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body)


def fresh_body(raw: bytes) -> Body:
    """A private copy of an object for one user callable, with kopf's attribute access (bodies.Body)."""
    return Body(orjson.loads(raw))


def object_kwargs(body: Mapping[str, Any]) -> dict[str, Any]:
    """kopf's kwargs that are views of the object: ``body``, ``spec``, ``meta`` (and ``metadata``),
    ``status``, ``name``, ``namespace``, ``uid``, ``labels``, ``annotations``."""
    metadata = body.get("metadata") or {}
    return {"body": body, "spec": body.get("spec", {}), "meta": metadata, "metadata": metadata,
            "status": body.get("status", {}), "name": metadata.get("name"), "namespace": metadata.get("namespace"),
            "uid": metadata.get("uid"), "labels": metadata.get("labels", {}),
            "annotations": metadata.get("annotations", {})}


def attempt_kwargs(retry: int, started: datetime.datetime | None,
                   now: datetime.datetime | None = None) -> dict[str, Any]:
    """kopf's kwargs of one attempt: ``retry`` (failed attempts before it), ``started`` (the first
    attempt's aware UTC time) and ``runtime`` (a timedelta since then; zero without ``started``)."""
    runtime = (now or now_utc()) - started if started is not None else datetime.timedelta(0)
    return {"retry": retry, "started": started, "runtime": runtime}


class KwargsBuilder:
    """Builds the keyword arguments of one kind's object handlers (kopf's names and meanings).

    ``memo`` is each object's own shallow copy of the operator's memo (kopf's rule): what a
    handler sets on it stays with that object, while objects inside it (a lock, a registry
    dict) are shared. The copy lives until ``forget(key)``.
    """

    def __init__(self, resource: Resource, api: Api | None, memo: Memo,
                 indexes: Callable[[], Mapping[str, Any]]) -> None:
        self.resource = resource
        self.api = api
        self.memo = memo
        self._indexes = indexes
        self._memos: dict[str, Memo] = {}
        self._lock = threading.Lock()

    def memo_for(self, key: str) -> Memo:
        with self._lock:
            memo = self._memos.get(key)
            if memo is None:
                memo = self._memos[key] = Memo(self.memo)
            return memo

    def forget(self, key: str) -> None:
        with self._lock:
            self._memos.pop(key, None)

    def tracked(self) -> int:
        with self._lock:
            return len(self._memos)

    def build(self, handler: Handler, body: dict[str, Any], key: str, *, reason: str | None,
              diff: Diff = (), old: Any = None, new: Any = None, patch: Patch | None = None, retry: int = 0,
              started: datetime.datetime | None = None, event: Mapping[str, Any] | None = None,
              type_: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **object_kwargs(body),
            "patch": patch if patch is not None else Patch(), "logger": object_logger(key),
            "memo": self.memo_for(key), "old": copy.deepcopy(old), "new": copy.deepcopy(new), "diff": diff,
            "reason": reason, **attempt_kwargs(retry, started), "api": self.api,
            "settings": (self.api.settings_view or self.api.settings) if self.api is not None else None,
            "resource": self.resource, "event": event, "type": type_, "stopped": None,
            "param": handler.param,
        }
        kwargs.update(self._indexes())
        return kwargs
