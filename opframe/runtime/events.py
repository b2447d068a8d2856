"""EventRecorder: posts Kubernetes Events about objects (handler failures, successes).

Posting an Event is best effort: a failure to post is logged at debug level and
never fails the handler that caused it.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource

logger = logging.getLogger("opframe.events")

EVENTS = Resource("", "v1", "events", "Event")
#: The API server rejects longer Event messages.
MAX_MESSAGE = 1024


class EventRecorder:
    def __init__(self, client: KubeClient, *, component: str = "opframe", enabled: bool = True) -> None:
        self._client = client
        self.component = component
        self.enabled = enabled
        self.posted = 0

    def post(self, body: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        if not self.enabled:
            return
        metadata = body.get("metadata") or {}
        namespace = metadata.get("namespace") or "default"
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{metadata.get('name', 'object')}.{uuid.uuid4().hex[:12]}",
                         "namespace": namespace},
            "involvedObject": {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
                               "name": metadata.get("name"), "namespace": metadata.get("namespace"),
                               "uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")},
            "type": type_, "reason": reason, "message": message[:MAX_MESSAGE],
            "source": {"component": self.component}, "reportingComponent": self.component,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        try:
            self._client.create(EVENTS, event, namespace=namespace)
            self.posted += 1
        except (errors.KubeError, OSError) as exc:
            logger.debug("could not post event %s for %s/%s: %s", reason, namespace, metadata.get("name"), exc)
