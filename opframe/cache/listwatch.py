"""ListerWatcher: how a Reflector lists and watches one resource, and the backoff it waits with.

``ResourceListerWatcher`` binds the API layer to one resource, optionally one
namespace and label/field selectors. Unit tests give a Reflector a scripted
ListerWatcher instead; nothing else in cache/ touches the network.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Protocol

from opframe.kube.client import KubeClient, ListPage, WatchEvent
from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.kube.resources import Resource


class EventStream(Protocol):
    def __iter__(self) -> Iterator[WatchEvent]: ...
    def close(self) -> None: ...


class ListerWatcher(Protocol):
    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage: ...

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> EventStream: ...


class ResourceListerWatcher:
    def __init__(self, client: KubeClient, resource: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.resource.qualified_name}{where}"

    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage:
        return self.client.list(self.resource, namespace=self.namespace, label_selector=self.label_selector,
                                field_selector=self.field_selector, limit=limit,
                                continue_token=continue_token, resource_version=resource_version,
                                resource_version_match=resource_version_match)

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> EventStream:
        return self.client.watch(
            self.resource, namespace=self.namespace, resource_version=resource_version,
            timeout_seconds=timeout_seconds, allow_bookmarks=True, label_selector=self.label_selector,
            field_selector=self.field_selector, inactivity_timeout=inactivity_timeout,
            send_initial_events=True if send_initial_events else None,
            resource_version_match="NotOlderThan" if send_initial_events else None,
        )


#: client-go's reflector backoff (semantics 1.2): 800 ms, doubling, full jitter
#: (each delay in [d, 2d)), capped at 30 s, and back to 800 ms after 2 quiet minutes.
BACKOFF_INITIAL = 0.8
BACKOFF_FACTOR = 2.0
BACKOFF_JITTER = 1.0
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 120.0


class Backoff:
    """Delays for retrying a failing list/watch. Not thread-safe: one per Reflector.

    The delay returns to the initial value when more than ``reset_after`` seconds
    passed since the previous delay was taken, so a watch that ran fine for a while
    starts its backoff afresh.
    """

    def __init__(self, *, initial: float = BACKOFF_INITIAL, factor: float = BACKOFF_FACTOR,
                 jitter: float = BACKOFF_JITTER, cap: float = BACKOFF_CAP,
                 reset_after: float = BACKOFF_RESET_AFTER, clock: Clock = REAL_CLOCK,
                 rng: random.Random | None = None) -> None:
        self.initial, self.factor, self.jitter, self.cap = initial, factor, jitter, cap
        self.reset_after = reset_after
        self._clock = clock
        self._rng = rng or random.Random()
        self._current = initial
        self._last: float | None = None

    def next_delay(self) -> float:
        now = self._clock.now()
        if self._last is not None and now - self._last > self.reset_after:
            self._current = self.initial
        self._last = now
        base = self._current
        self._current = min(self._current * self.factor, self.cap)
        return base + self._rng.random() * self.jitter * base
