"""A scripted ListerWatcher and a recording store for the Reflector and informer tests.

The ListerWatcher answers each ``list`` and ``watch`` with the next scripted answer
and records every call with its arguments, so a test asserts exactly what was asked
(resourceVersion, limit, continue). A call nobody scripted raises ``UnscriptedCall``,
a BaseException, so that the Reflector's own error handling cannot swallow it.

A watch answer is a ``ScriptedStream`` of steps: a WatchEvent is yielded, an
exception is raised from the iteration, a callable is called (to step a clock or look
at the Reflector mid-stream). When its steps run out the stream ends like a server
timeout, or, if ``hold_open``, waits for ``push`` or ``close`` like a quiet watch.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opframe.kube.client import ListPage, WatchEvent
from opframe.kube.clock import FakeClock

#: Longest a held-open stream waits for a push before it ends like a server timeout.
HOLD_OPEN_CAP = 10.0

Step = WatchEvent | BaseException | Callable[[], None]


class UnscriptedCall(BaseException):
    """The code under test made a call the test did not script."""


@dataclasses.dataclass(frozen=True)
class ListCall:
    resource_version: str | None
    limit: int | None
    continue_token: str | None
    resource_version_match: str | None = None


@dataclasses.dataclass(frozen=True)
class WatchCall:
    resource_version: str | None
    timeout_seconds: int
    inactivity_timeout: float
    send_initial_events: bool


class ScriptedStream:
    def __init__(self, steps: tuple[Step, ...], *, hold_open: bool) -> None:
        self._steps: collections.deque[Step] = collections.deque(steps)
        self._hold_open = hold_open
        self._cond = threading.Condition()
        self.closed = False

    def push(self, *steps: Step) -> None:
        with self._cond:
            self._steps.extend(steps)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def __iter__(self) -> Iterator[WatchEvent]:
        while True:
            with self._cond:
                # The cap only turns a test that forgot to stop its informer into a failure, not a hang.
                self._cond.wait_for(lambda: self.closed or self._steps or not self._hold_open, HOLD_OPEN_CAP)
                if self.closed or not self._steps:
                    return
                step = self._steps.popleft()
            if isinstance(step, WatchEvent):
                yield step
            elif isinstance(step, BaseException):
                raise step
            else:
                step()


class ScriptedListerWatcher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: collections.deque[ListPage | BaseException] = collections.deque()
        self._watches: collections.deque[ScriptedStream | BaseException] = collections.deque()
        self.calls: list[ListCall | WatchCall] = []
        self.unscripted: list[ListCall | WatchCall] = []

    def __str__(self) -> str:
        return "scripted"

    # -- the script -------------------------------------------------------------------------

    def on_list(self, items: list[dict[str, Any]], resource_version: str, *,
                continue_token: str | None = None) -> None:
        with self._lock:
            self._lists.append(ListPage(items, resource_version, continue_token, None))

    def on_list_error(self, error: BaseException) -> None:
        with self._lock:
            self._lists.append(error)

    def on_watch(self, *steps: Step, hold_open: bool = False) -> ScriptedStream:
        stream = ScriptedStream(steps, hold_open=hold_open)
        with self._lock:
            self._watches.append(stream)
        return stream

    def on_watch_error(self, error: BaseException) -> None:
        with self._lock:
            self._watches.append(error)

    @property
    def list_calls(self) -> list[ListCall]:
        with self._lock:
            return [call for call in self.calls if isinstance(call, ListCall)]

    @property
    def watch_calls(self) -> list[WatchCall]:
        with self._lock:
            return [call for call in self.calls if isinstance(call, WatchCall)]

    def kinds(self) -> list[str]:
        with self._lock:
            return ["list" if isinstance(call, ListCall) else "watch" for call in self.calls]

    # -- the ListerWatcher protocol --------------------------------------------------------

    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage:
        call = ListCall(resource_version, limit, continue_token, resource_version_match)
        with self._lock:
            self.calls.append(call)
            if not self._lists:
                self.unscripted.append(call)
                raise UnscriptedCall(call)
            answer = self._lists.popleft()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> ScriptedStream:
        call = WatchCall(resource_version, timeout_seconds, inactivity_timeout, send_initial_events)
        with self._lock:
            self.calls.append(call)
            if not self._watches:
                self.unscripted.append(call)
                raise UnscriptedCall(call)
            answer = self._watches.popleft()
        if isinstance(answer, BaseException):
            raise answer
        return answer


class RecordingStore:
    """A ReflectorStore that keeps the objects by key and a log of every call."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, ...]] = []

    @staticmethod
    def _key(obj: dict[str, Any]) -> str:
        return str(obj["metadata"]["name"])

    def add(self, obj: dict[str, Any]) -> None:
        self.log.append(("add", self._key(obj), obj["metadata"]["resourceVersion"]))
        self.objects[self._key(obj)] = obj

    def update(self, obj: dict[str, Any]) -> None:
        self.log.append(("update", self._key(obj), obj["metadata"]["resourceVersion"]))
        self.objects[self._key(obj)] = obj

    def delete(self, obj: dict[str, Any]) -> None:
        self.log.append(("delete", self._key(obj), obj["metadata"]["resourceVersion"]))
        self.objects.pop(self._key(obj), None)

    def prepare(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(objects)

    def replace(self, objects: list[dict[str, Any]], resource_version: str) -> None:
        self.log.append(("replace", resource_version, *sorted(self._key(obj) for obj in objects)))
        self.objects = {self._key(obj): obj for obj in objects}

    def versions(self) -> dict[str, str]:
        return {key: obj["metadata"]["resourceVersion"] for key, obj in self.objects.items()}


@pytest.fixture
def lister_watcher() -> Iterator[ScriptedListerWatcher]:
    lw = ScriptedListerWatcher()
    yield lw
    assert not lw.unscripted, f"calls nobody scripted: {lw.unscripted}"


@pytest.fixture
def recording_store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
