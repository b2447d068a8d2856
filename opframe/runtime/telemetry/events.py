"""EventRecorder: posts Kubernetes Events about objects (handler failures, successes).

Posting is best effort and never in a worker's way, as client-go's event broadcaster:

* ``post()`` only queues the Event; one background thread sends them, so a handler's
  reconcile never waits for an Event;
* a per-object spam filter (client-go's: bursts of 25, then one per 5 minutes per
  object) keeps a busy object from flooding the API server and the operator's own
  request budget;
* when the queue is full, new Events are dropped and counted, never blocking;
* a failure to post is logged at debug level and never fails anything else.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import queue
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.kube.token_bucket import TokenBucket

logger = logging.getLogger("opframe.events")

EVENTS = Resource("", "v1", "events", "Event")
#: The API server rejects longer Event messages.
MAX_MESSAGE = 1024
#: client-go's EventSourceObjectSpamFilter: 25 at once, then one per 300 s per object.
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
#: Events waiting to be sent; beyond this they are dropped (a flood is not worth memory).
QUEUE_SIZE = 1000
#: Per-object filters kept; the oldest are forgotten beyond this (bounded memory).
MAX_TRACKED_OBJECTS = 10_000


class EventRecorder:
    def __init__(self, client: KubeClient, *, component: str = "opframe", enabled: bool = True,
                 instance: str = "", name_prefix: str = "") -> None:
        self._client = client
        self.component = component
        self.instance = instance
        self.name_prefix = name_prefix
        self.enabled = enabled
        self.posted = 0
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._filters: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._send_loop, name="opframe-events", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (within ``timeout``), then stop."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
            self._thread = None

    def post(self, body: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        if not self.enabled:
            return
        metadata = body.get("metadata") or {}
        uid = str(metadata.get("uid") or f"{metadata.get('namespace')}/{metadata.get('name')}")
        if not self._allow(uid):
            self.dropped += 1
            return
        namespace = metadata.get("namespace") or "default"
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": ({"generateName": self.name_prefix, "namespace": namespace} if self.name_prefix else
                         {"name": f"{metadata.get('name', 'object')}.{uuid.uuid4().hex[:12]}",
                          "namespace": namespace}),
            "involvedObject": {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
                               "name": metadata.get("name"), "namespace": metadata.get("namespace"),
                               "uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")},
            "type": type_, "reason": reason, "message": message[:MAX_MESSAGE],
            "source": {"component": self.component}, "reportingComponent": self.component,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        if self.instance:
            event["reportingInstance"] = self.instance
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _allow(self, uid: str) -> bool:
        with self._lock:
            bucket = self._filters.get(uid)
            if bucket is None:
                if len(self._filters) >= MAX_TRACKED_OBJECTS:
                    self._filters.pop(next(iter(self._filters)))
                bucket = self._filters[uid] = TokenBucket(SPAM_QPS, SPAM_BURST)
        return bucket.try_acquire()

    def _send_loop(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self._client.create(EVENTS, event, namespace=event["metadata"]["namespace"])
                self.posted += 1
            except (errors.KubeError, OSError) as exc:
                logger.debug("could not post event %s about %s: %s", event["reason"],
                             event["involvedObject"].get("name"), exc)
