"""Backlog: whether a work queue is falling behind its informer.

A queue *falls behind* when its depth has grown over the last ``window`` seconds and it has not
been empty during them: keys arrive faster than the workers finish them, for longer than a burst.
A queue that works off a backlog (the initial sync's 100,000 keys) shrinks, and is not behind.
It *catches up* when it is empty again, or smaller than a window before.

The decision (``falling_behind``) is pure and tested as a table; ``Backlog`` is the state
machine fed by the queue's depth at each add and get, with one sample kept per ``SAMPLE_PERIOD``.

Invariants:

* ``samples`` are in time order, at least ``SAMPLE_PERIOD`` apart, all taken since the queue
  was last empty, and reach back no further than one sample before ``now - window``;
* a transition is reported once: BEHIND only from KEEPING_UP, CAUGHT_UP only from BEHIND.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import threading

from opframe.kube.clock import REAL_CLOCK, Clock

#: The issue's minute: a queue growing for longer than this is not a burst any more.
DEFAULT_WINDOW = 60.0
#: Depth is sampled at most this often: 60 samples per default window, a constant cost.
SAMPLE_PERIOD = 1.0


class State(enum.Enum):
    KEEPING_UP = "keeping up"
    BEHIND = "falling behind"


@dataclasses.dataclass(frozen=True)
class Sample:
    at: float
    depth: int


@dataclasses.dataclass(frozen=True)
class Transition:
    """A change of state, with the figures for its one log line."""

    state: State
    depth: int
    depth_a_window_ago: int
    nonempty_for: float


def falling_behind(start: Sample | None, depth: int, nonempty_since: float | None, now: float,
                   window: float) -> bool:
    """Not empty for ``window`` seconds, and deeper now than at ``start``, the last sample a window
    ago or earlier (pure)."""
    if depth == 0 or nonempty_since is None or now - nonempty_since < window:
        return False
    return start is not None and depth > start.depth


class Backlog:
    def __init__(self, *, window: float = DEFAULT_WINDOW, clock: Clock = REAL_CLOCK) -> None:
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self.state = State.KEEPING_UP
        self._nonempty_since: float | None = None
        self._samples: collections.deque[Sample] = collections.deque()
        self.last: Transition | None = None

    def observe(self, depth: int) -> Transition | None:
        """The queue's depth now; the transition it causes, if any."""
        now = self._clock.now()
        with self._lock:
            if depth == 0:
                self._nonempty_since = None
                self._samples.clear()
            else:
                if self._nonempty_since is None:
                    self._nonempty_since = now
                if self._samples and now - self._samples[-1].at < SAMPLE_PERIOD:
                    return None  # decided at the samples (and when empty): O(1) for most adds and gets
                self._samples.append(Sample(now, depth))
                while len(self._samples) > 1 and self._samples[1].at <= now - self.window:
                    self._samples.popleft()  # keep one sample at or before the window's start
            first = self._samples[0] if self._samples else None
            start = first if first is not None and first.at <= now - self.window else None
            if self.state is State.KEEPING_UP:
                if not falling_behind(start, depth, self._nonempty_since, now, self.window):
                    return None
                self.state = State.BEHIND
            else:
                if depth and (start is None or depth >= start.depth):
                    return None  # behind until empty, or smaller than a window before
                self.state = State.KEEPING_UP
            self.last = Transition(self.state, depth, start.depth if start is not None else 0,
                                   now - self._nonempty_since if self._nonempty_since is not None else 0.0)
            return self.last

    def detail(self) -> str | None:
        """For /readyz: a line while the queue falls behind, else None."""
        with self._lock:
            last = self.last
            if self.state is not State.BEHIND or last is None:
                return None
            return (f"falling behind: {last.depth} keys waiting, {last.depth_a_window_ago} a "
                    f"{self.window:.0f} s before, never empty for {last.nonempty_for:.0f} s")
