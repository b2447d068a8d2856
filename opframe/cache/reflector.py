"""Reflector: keeps a store in step with one resource through LIST and WATCH (semantics 1.1-1.14).

Written as a state machine with one step function. States and transitions::

    LIST --ok-------------> WATCH <------------------------------------------+
     |  \\                    |  healthy watch: ended, dropped or stalled ---+  (at once, last RV)
     |   +--410: once more at RV "" (same step, no wait)
     |                        |  unhealthy drop (within 1 s, no events) ---> BACKOFF -> WATCH
     |                        |  cannot connect / 429 -------------------> BACKOFF -> WATCH
     |                        |  410 in stream -------------------------> BACKOFF -> LIST (at the last RV)
     |                        |  other error / very short clean end ----> BACKOFF -> LIST
     +--error--> BACKOFF -> LIST

    WATCH_LIST (streaming list, if enabled) --initial-events-end--> WATCH (same stream)
         \\--any error before the end of the first one--> LIST (no wait; plain LIST from then on)
         \\--a passing error in a relist--> BACKOFF -> WATCH_LIST;  refused in a relist --> BACKOFF -> LIST

While streaming lists are on, every (re)list is one: each arrow to LIST above leads to
WATCH_LIST instead, so a relist after a 410 streams its objects (and the store packs each as
it arrives) rather than decoding one unpaged LIST of them all at once.

The one backoff rule, decided in ``_next`` and nowhere else: going (back) to LIST always
waits one backoff delay first, except the very first LIST; re-opening a WATCH waits one
when the previous watch was unhealthy (an error of any kind, or it ended or broke within
VERY_SHORT_WATCH having delivered nothing), and is immediate, from the last RV, when it
was healthy and ended cleanly, broke, or stalled past its inactivity timeout.

Invariants:

* ``last_sync_resource_version`` only moves forward through what the server said:
  a list's RV, then each watch event's or bookmark's RV;
* the store sees a full ``replace`` after every successful list, and an add, update
  or delete for each watch event in order;
* a malformed event (no metadata, a Status we do not expect) is logged once and
  skipped; it never stops the Reflector or loses a later event;
* no two LIST steps run without a backoff delay between them (inside one step, client-go's
  own retries run at once: a full list after an expired continue token, 1.6, and the
  list at RV "" after a 410, 1.7), and no watch is re-opened at once after an unhealthy
  one, so a server or proxy that keeps failing never sees a tight loop of either.

Differences from client-go, on purpose:

* a watch silent past its inactivity timeout (default DEFAULT_INACTIVITY_TIMEOUT, 90 s)
  is closed and re-opened from the last RV (no relist), because a silently stuck watch is
  indistinguishable from a quiet resource otherwise; client-go has no such timeout;
* a watch whose connection breaks is re-opened from the last RV (no relist): at once if it
  was healthy, after a backoff delay if it broke within VERY_SHORT_WATCH with no events
  (client-go relists after its backoff in that case, as for any very short watch);

Where it matches client-go: a LIST after a 410 in the stream, an error or a very short
watch waits one backoff delay, as client-go's wait.BackoffUntil does between its
list-and-watch rounds; a watch that cannot be opened (connection refused, 429) is
retried after one backoff delay; a healthy watch that the server ends is re-opened at
once from the last RV.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

from opframe.cache.listwatch import Backoff, EventStream, ListerWatcher
from opframe.cache.store import InvalidKeyError, Object
from opframe.kube import errors
from opframe.kube.clock import REAL_CLOCK, Clock

logger = logging.getLogger("opframe.reflector")

#: semantics 1.1: each watch asks for 300 s plus up to 300 s of jitter, so that
#: watches opened together do not all expire together.
MIN_WATCH_TIMEOUT = 300.0
#: semantics 1.6: LIST page size.
DEFAULT_PAGE_SIZE = 500
#: semantics 1.10: a watch that ends this quickly with no event is treated as an error.
VERY_SHORT_WATCH = 1.0
#: After the timeout a watch asked for, the server should close it; a stream silent
#: this long past that is dead. Covers a server's own slack and a slow network.
WATCH_CLOSE_GRACE = 30.0
#: How long a watch may say nothing, not even a bookmark, before it is closed and
#: re-opened from its last resourceVersion (no LIST), when no inactivity timeout is set.
#: kube-apiserver sends a BOOKMARK about once a minute to a watch that asked for them
#: (``allowWatchBookmarks``, which ResourceListerWatcher sends), but only when its watch
#: cache's resourceVersion has moved past the watch's (docs/controlplane.md; measured
#: every 59-61 s, the first after 60 or 120 s): 90 s leaves a minute's bookmark 30 s of
#: slack, so a watch kept alive by bookmarks is never cut, a dead one is found in under
#: two minutes (kopf: 70 s), and a watch that is silent anyway costs one cheap re-open
#: from the watch cache, never a relist.
DEFAULT_INACTIVITY_TIMEOUT = 90.0
INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end"


class ReflectorStore(Protocol):
    """What a Reflector writes to: a DeltaFIFO, or a plain store in tests."""

    def add(self, obj: Object) -> None: ...
    def update(self, obj: Object) -> None: ...
    def delete(self, obj: Object) -> None: ...
    def prepare(self, objects: list[Object]) -> list[Any]:
        """What to keep of a LIST's page (or a streaming list's object) until ``replace``."""
        ...
    def replace(self, objects: list[Any], resource_version: str) -> None: ...


class State(enum.Enum):
    LIST = "list"
    WATCH_LIST = "watch-list"
    WATCH = "watch"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclasses.dataclass
class ReflectorStats:
    """Counters for metrics and health.

    ``last_activity`` is the clock time of the last byte of news (an event, a bookmark, a
    list page, a watch the server answered or ended); ``last_attempt`` the clock time the
    Reflector last started a LIST or WATCH request or finished a backoff wait (its creation
    time before the first). Together they show that the loop runs (``Reflector.wedged``).
    """

    lists: int = 0
    watches: int = 0
    relists: int = 0
    rewatches: int = 0
    stalls: int = 0
    events: int = 0
    bookmarks: int = 0
    errors: int = 0
    skipped_events: int = 0
    last_activity: float = 0.0
    last_attempt: float = 0.0
    watching_since: float | None = None


@dataclasses.dataclass(frozen=True)
class _WatchRun:
    """A watch that just ended, as the backoff rule sees it."""

    started: float
    ended: float
    #: events of any type the stream delivered, bookmarks included (client-go counts them too)
    events: int
    #: None: the server ended it cleanly; a TransportError: it broke; a WatchStalledError: it
    #: said nothing for its inactivity timeout
    cause: errors.TransportError | None = None

    @property
    def very_short(self) -> bool:
        """semantics 1.10: over within VERY_SHORT_WATCH with nothing delivered."""
        return self.events == 0 and self.ended - self.started < VERY_SHORT_WATCH


class _Stop(Exception):
    """Internal: stop was requested while a step ran."""


class Reflector:
    def __init__(self, lister_watcher: ListerWatcher, store: ReflectorStore, *, name: str = "",
                 page_size: int = DEFAULT_PAGE_SIZE, min_watch_timeout: float = MIN_WATCH_TIMEOUT,
                 inactivity_timeout: float | None = None, use_watch_list: bool = False,
                 backoff: Backoff | None = None, clock: Clock = REAL_CLOCK,
                 rng: random.Random | None = None,
                 on_watch_error: Callable[[BaseException], None] | None = None) -> None:
        self.lister_watcher = lister_watcher
        self.store = store
        self.name = name or str(lister_watcher)
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.inactivity_timeout = inactivity_timeout
        self.use_watch_list = use_watch_list
        self._clock = clock
        self._rng = rng or random.Random()
        self._backoff = backoff or Backoff(clock=clock, rng=self._rng)
        self._on_watch_error = on_watch_error or self._log_watch_error
        self.state = State.WATCH_LIST if use_watch_list else State.LIST
        self._after_backoff = State.LIST
        self.last_sync_resource_version = ""
        self._resource_version_unavailable = False
        self._paginated_result = False
        self._stream: EventStream | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.stats = ReflectorStats(last_attempt=clock.now())

    # -- running --------------------------------------------------------------------------

    def run(self) -> None:
        """Step until ``stop()``. Blocking; run it in its own thread."""
        while self.state is not State.STOPPED:
            self.step()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def step(self) -> State:
        """Run the current state once and move to the next. Returns the new state."""
        if self._stopped.is_set():
            self.state = State.STOPPED
            return self.state
        handlers = {
            State.LIST: self._step_list,
            State.WATCH_LIST: self._step_watch_list,
            State.WATCH: self._step_watch,
            State.BACKOFF: self._step_backoff,
        }
        try:
            self.state = handlers[self.state]()
        except _Stop:
            self.state = State.STOPPED
        except Exception as exc:  # a bug or a store failure must not end the Reflector
            logger.exception("%s: unexpected error in state %s; backing off and relisting",
                             self.name, self.state.value)
            self.state = self._next(State.LIST, error=exc)
        if self._stopped.is_set():
            self.state = State.STOPPED
        return self.state

    def is_watching(self) -> bool:
        return self.state is State.WATCH and self.stats.watching_since is not None

    def seconds_since_activity(self) -> float:
        return self._clock.now() - self.stats.last_activity

    def stuck(self) -> bool:
        """A watch is open but has said nothing for longer than its inactivity timeout.

        The Reflector closes such a watch itself; this stays true while it cannot open
        a new one that answers. The limit is the same inactivity timeout the watches are
        read with (by default DEFAULT_INACTIVITY_TIMEOUT), so an API server unreachable for
        longer than that makes this true too; ``wedged`` tells a loop that stopped running.
        """
        if self.state not in (State.WATCH, State.BACKOFF) or not self.last_sync_resource_version:
            return False
        return self.seconds_since_activity() > self.inactivity_limit()

    def inactivity_limit(self) -> float:
        """The longest any of this Reflector's watches may be silent (``stuck`` uses it)."""
        return self._read_timeout(2 * self.min_watch_timeout)

    def wedged(self, now: float | None = None, *, limit: float) -> bool:
        """The loop has stopped: not STOPPED, yet no attempt and no activity for over ``limit`` s.

        An attempt is a LIST or WATCH request started or a backoff wait finished; activity
        is any news from the server (``ReflectorStats``). A running loop makes one or the
        other at least every inactivity timeout, longest backoff delay (60 s) or LIST request
        (the client's request timeout and retries), so true means nobody runs the loop: a
        request hung past every timeout, or the thread that ran ``run()`` died (or never
        started). An unreachable API server is not wedged: the Reflector keeps attempting.
        Choose ``limit`` above all three, e.g. a few minutes.
        """
        if self.state is State.STOPPED:
            return False
        if now is None:
            now = self._clock.now()
        return now - max(self.stats.last_attempt, self.stats.last_activity) > limit

    # -- LIST -----------------------------------------------------------------------------

    def _list_resource_version(self) -> str:
        """semantics 1.5."""
        if self._resource_version_unavailable:
            return ""
        return self.last_sync_resource_version or "0"

    def _step_list(self) -> State:
        self.stats.lists += 1
        if self.last_sync_resource_version:
            self.stats.relists += 1
        resource_version = self._list_resource_version()
        try:
            items, list_rv = self._list_all(resource_version)
        except errors.ApiError as exc:
            if not (_is_expired(exc) or _is_too_large_resource_version(exc)) or resource_version == "":
                return self._next(State.LIST, error=exc)
            # semantics 1.7: the RV is gone; retry at once, once, from the newest state.
            logger.debug("%s: list at resourceVersion %s expired; listing the newest state",
                         self.name, resource_version)
            self._resource_version_unavailable = True
            try:
                items, list_rv = self._list_all("")
            except (errors.KubeError, OSError) as again:
                return self._next(State.LIST, error=again)
        except (errors.KubeError, OSError) as exc:
            return self._next(State.LIST, error=exc)
        self._check_stop()
        self.store.replace(items, list_rv)
        self._resource_version_unavailable = False
        self.last_sync_resource_version = list_rv
        self.stats.last_activity = self._clock.now()
        return self._next(State.WATCH)

    def _list_all(self, resource_version: str) -> tuple[list[Any], str]:
        """Every page; semantics 1.6 for page sizes and for a continue token that expired."""
        limit: int | None = self.page_size
        if resource_version not in ("", "0") and not self._paginated_result:
            limit = None  # served whole from the watch cache, sparing etcd
        self.stats.last_attempt = self._clock.now()
        page = self.lister_watcher.list(resource_version=resource_version, limit=limit, continue_token=None)
        self.stats.last_activity = self._clock.now()
        items = self.store.prepare(page.items)
        list_rv = page.resource_version
        if page.continue_token and resource_version == "0":
            # Only a paged answer at "0" shows the watch cache is off; "" is always served
            # (and paged) by etcd, so it must not turn paging on for later relists.
            self._paginated_result = True
        while page.continue_token:
            self._check_stop()
            try:
                page = self.lister_watcher.list(resource_version=None, limit=limit,
                                                continue_token=page.continue_token)
            except errors.ApiError as exc:
                if not _is_expired(exc):
                    raise
                self.stats.last_attempt = self._clock.now()
                full = self.lister_watcher.list(resource_version=resource_version, limit=None,
                                                continue_token=None)
                return self.store.prepare(full.items), full.resource_version
            self.stats.last_activity = self._clock.now()
            items.extend(self.store.prepare(page.items))
        return items, list_rv

    # -- WATCH ----------------------------------------------------------------------------

    def _watch_timeout(self) -> int:
        return int(self.min_watch_timeout * (1.0 + self._rng.random()))

    def _read_timeout(self, timeout_seconds: float) -> float:
        """How long a watch asked to last ``timeout_seconds`` may be silent before it counts as dead.

        The ``inactivity_timeout`` option if set, else DEFAULT_INACTIVITY_TIMEOUT, or the
        watch's own timeout plus WATCH_CLOSE_GRACE when that is shorter (a short watch the
        server should have closed long ago).
        """
        if self.inactivity_timeout is not None:
            return self.inactivity_timeout
        return min(DEFAULT_INACTIVITY_TIMEOUT, timeout_seconds + WATCH_CLOSE_GRACE)

    def _open(self, *, send_initial_events: bool) -> EventStream:
        timeout = self._watch_timeout()
        self.stats.last_attempt = self._clock.now()
        resource_version = self.last_sync_resource_version
        if send_initial_events and self._resource_version_unavailable:
            resource_version = ""
        stream = self.lister_watcher.watch(
            resource_version=resource_version or None,
            timeout_seconds=timeout, inactivity_timeout=self._read_timeout(timeout),
            send_initial_events=send_initial_events,
        )
        with self._lock:
            self._stream = stream
        if self._stopped.is_set():
            stream.close()
            raise _Stop()
        self.stats.watches += 1
        self.stats.last_activity = self._clock.now()  # the server answered: it is alive
        return stream

    def _step_watch(self) -> State:
        try:
            stream = self._open(send_initial_events=False)
        except _Stop:
            raise
        except errors.ApiError as exc:
            if isinstance(exc, errors.TooManyRequests):
                return self._next(State.WATCH, error=exc)
            return self._next(State.LIST, error=exc)  # semantics 1.11: anything else, 410 included
        except errors.TransportError as exc:
            return self._next(State.WATCH, error=exc)  # semantics 1.11: connection refused -> re-watch
        return self._consume(stream, initial=None)

    def _step_watch_list(self) -> State:
        if self.last_sync_resource_version:
            self.stats.relists += 1
        try:
            stream = self._open(send_initial_events=True)
        except _Stop:
            raise
        except (errors.KubeError, OSError) as exc:
            return self._watch_list_failed(exc)
        return self._consume(stream, initial=[])

    def _watch_list_failed(self, error: BaseException | None) -> State:
        """A streaming list failed before its initial events ended (``error`` None: the stream ended).

        The first one falls back to plain LIST for good, at once (client-go: making progress is
        better than deadlocking). A relist that failed for a passing reason (the connection, a
        stall, an early end, 429, a server error, a resourceVersion the server no longer or not
        yet has) streams again after one backoff delay; one the server refused lists from then on.
        """
        if self.last_sync_resource_version and _passing(error):
            if isinstance(error, errors.ApiError) and (_is_expired(error) or _is_too_large_resource_version(error)):
                self._resource_version_unavailable = True  # ask for the newest state (semantics 1.7)
            return self._next(State.LIST, error=error)
        logger.info("%s: streaming list failed (%s); falling back to LIST", self.name,
                    error or "the stream ended before its initial events")
        self.use_watch_list = False
        return self._next(State.LIST)

    def _consume(self, stream: EventStream, *, initial: list[Any] | None) -> State:
        """Apply a stream's events to the store until it ends; return the next state.

        ``initial`` is a list while a streaming list is still sending its initial events.
        """
        started = self._clock.now()
        self.stats.watching_since = started
        count = 0
        cause: errors.TransportError | None = None
        try:
            for event in stream:
                count += 1
                self.stats.last_activity = self._clock.now()
                if event.type == "ERROR":
                    error = errors.from_status(event.object)
                    if initial is not None:
                        return self._watch_list_failed(error)
                    return self._stream_error(error)
                try:
                    initial = self._apply(event.type, event.object, initial)
                except (InvalidKeyError, KeyError, TypeError, ValueError) as exc:
                    self.stats.skipped_events += 1
                    logger.warning("%s: skipped a %s event that is not a valid object (%s): %.200r",
                                   self.name, event.type, exc, event.object)
        except errors.TransportError as exc:  # a broken connection, or a stall (WatchStalledError)
            if self._stopped.is_set():
                raise _Stop() from None
            cause = exc
        finally:
            self.stats.watching_since = None
            with self._lock:
                self._stream = None
            stream.close()
        if self._stopped.is_set():
            raise _Stop()
        if isinstance(cause, errors.WatchStalledError):
            self.stats.stalls += 1
        if initial is not None:
            return self._watch_list_failed(cause)
        run = _WatchRun(started, self._clock.now(), count, cause)
        if isinstance(cause, errors.WatchStalledError):
            logger.warning("%s: %s; re-opening the watch from resourceVersion %s", self.name, cause,
                           self.last_sync_resource_version)
        elif cause is None:
            self.stats.last_activity = self._clock.now()  # a clean end by the server is news too
            if run.very_short:
                return self._next(State.LIST, watch=run)  # semantics 1.10
        self.stats.rewatches += 1
        return self._next(State.WATCH, watch=run)

    def _apply(self, kind: str, obj: dict[str, Any], initial: list[Any] | None) -> list[Any] | None:
        metadata = obj["metadata"]
        resource_version = metadata["resourceVersion"]
        if not isinstance(resource_version, str):
            raise TypeError("metadata.resourceVersion is not a string")
        if kind == "BOOKMARK":
            self.stats.bookmarks += 1
            if initial is not None and (metadata.get("annotations") or {}).get(
                    INITIAL_EVENTS_END_ANNOTATION) == "true":
                self.store.replace(initial, resource_version)
                self._resource_version_unavailable = False
                initial = None
            if initial is None:  # during the initial events the store is not at this RV yet
                self.last_sync_resource_version = resource_version
            return initial
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            raise ValueError(f"unknown watch event type {kind!r}")
        self.stats.events += 1
        if initial is not None:
            if kind != "ADDED":
                raise ValueError(f"{kind} during the initial events of a streaming list")
            initial.extend(self.store.prepare([obj]))
            return initial
        if kind == "ADDED":
            self.store.add(obj)
        elif kind == "MODIFIED":
            self.store.update(obj)
        else:
            self.store.delete(obj)
        self.last_sync_resource_version = resource_version
        return None

    def _stream_error(self, error: errors.ApiError) -> State:
        """semantics 1.11, for an ERROR event inside a stream."""
        if _is_expired(error):
            # Routine (the watch cache's window moved on): not counted as an error, but the
            # relist still waits its backoff delay, as every LIST after the first does.
            logger.debug("%s: watch expired (%s); relisting", self.name, error.message)
            return self._next(State.LIST)
        if isinstance(error, errors.TooManyRequests):
            return self._next(State.WATCH, error=error)
        return self._next(State.LIST, error=error)

    # -- the backoff rule ---------------------------------------------------------------------

    def _next(self, to: State, *, error: BaseException | None = None, watch: _WatchRun | None = None) -> State:
        """Go to ``to`` (LIST or WATCH) at once or through BACKOFF: the one backoff rule.

        Every way out of LIST, WATCH_LIST and WATCH (and out of a step that raised) comes
        through here; nothing else decides whether to wait. The rule:

        * going (back) to LIST always waits one backoff delay first, except the very first
          LIST (none made and nothing synced yet: the plain LIST a streaming list that
          failed before its initial events falls back to). client-go waits its backoff
          between any two list-and-watch rounds (semantics 1.3). The one immediate retry at
          RV "" after a LIST answered 410 (1.7) happens inside that LIST step and is no
          transition;
        * while streaming lists are on, a (re)list is a WATCH_LIST, under the same rule;
        * the first WATCH after a successful LIST is opened at once;
        * re-opening a WATCH waits one backoff delay when the previous watch was unhealthy:
          it failed with an error of any kind (opening it, or an ERROR event in it), or it
          ended or broke within VERY_SHORT_WATCH having delivered nothing (1.10);
        * a healthy watch (it delivered an event or bookmark, or lasted VERY_SHORT_WATCH)
          that ended cleanly, broke, or stalled past its inactivity timeout is re-opened at
          once, from the last RV.

        ``error`` is counted in ``stats.errors`` and handed to the watch-error handler
        (1.12), and so is a very short ``watch`` (client-go's "very short watch" error); the
        break of a healthy one is only handed over. The Backoff's own reset after two quiet
        minutes (1.2) keeps a rare failure from waiting long.
        """
        if watch is not None and error is None:
            if watch.very_short:
                how = "closed" if watch.cause is None else f"broke ({watch.cause})"
                error = errors.TransportError(
                    f"very short watch: {how} within {VERY_SHORT_WATCH:g} s with no events")
            elif watch.cause is not None and not isinstance(watch.cause, errors.WatchStalledError):
                self._on_watch_error(watch.cause)  # a broken stream, logged at info (1.12)
        if error is not None:
            self.stats.errors += 1
            self._on_watch_error(error)
        first_list = self.stats.lists == 0 and not self.last_sync_resource_version
        wait = not first_list if to is State.LIST else error is not None
        if to is State.LIST and self.use_watch_list:
            to = State.WATCH_LIST  # every (re)list streams while streaming lists are on
        if not wait:
            return to
        self._after_backoff = to
        return State.BACKOFF

    # -- BACKOFF ------------------------------------------------------------------------------

    def _step_backoff(self) -> State:
        delay = self._backoff.next_delay()
        deadline = self._clock.now() + delay
        condition = threading.Condition()
        with condition:
            while not self._stopped.is_set():
                remaining = deadline - self._clock.now()
                if remaining <= 0:
                    break
                self._clock.wait(condition, min(remaining, 0.1))
        self.stats.last_attempt = self._clock.now()
        return self._after_backoff

    def _check_stop(self) -> None:
        if self._stopped.is_set():
            raise _Stop()

    def _log_watch_error(self, error: BaseException) -> None:
        """semantics 1.12: expired at debug, clean EOF silent, broken stream at info, else error.
        A 429 is info too: kube-apiserver answers it while its watch cache initialises (at its start,
        so at a fresh cluster's), and it is retried after the backoff delay (client-go: V(2) info)."""
        if isinstance(error, errors.ApiError) and _is_expired(error):
            logger.debug("%s: %s", self.name, error)
        elif isinstance(error, errors.TooManyRequests):
            logger.info("%s: %s; trying again after a backoff delay", self.name, error)
        elif isinstance(error, errors.TransportError):
            logger.info("%s: %s", self.name, error)
        else:
            logger.error("%s: %s", self.name, error)


def _passing(error: BaseException | None) -> bool:
    """An error that says nothing against trying the same request again later."""
    if error is None or isinstance(error, (errors.TransportError, OSError)):
        return True
    if isinstance(error, errors.ApiError):
        return (isinstance(error, errors.TooManyRequests) or error.code >= 500 or _is_expired(error)
                or _is_too_large_resource_version(error))
    return False


def _is_expired(error: errors.ApiError) -> bool:
    return isinstance(error, errors.Gone)


def _is_too_large_resource_version(error: errors.ApiError) -> bool:
    causes = error.details.get("causes") or []
    return any(isinstance(c, dict) and c.get("reason") == "ResourceVersionTooLarge" for c in causes) or (
        "Too large resource version" in error.message)
