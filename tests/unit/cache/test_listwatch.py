"""The list/watch helpers (opframe.cache.listwatch): the Backoff policy between attempts (client-go semantics 1.2, on a
FakeClock) and the request each call of ResourceListerWatcher makes.
"""

from __future__ import annotations

import random
from typing import Any, cast

import pytest

from opframe.cache.listwatch import Backoff, ResourceListerWatcher
from opframe.kube.client import KubeClient, ListPage
from opframe.kube.clock import FakeClock
from opframe.kube.resources import Resource

# -- the request each call makes (ResourceListerWatcher) ------------------------------------------


class RecordingClient:
    """Stands in for KubeClient: keeps the keyword arguments of each list and watch."""

    def __init__(self) -> None:
        self.lists: list[dict[str, Any]] = []
        self.watches: list[dict[str, Any]] = []

    def list(self, resource: Resource, **options: Any) -> ListPage:
        self.lists.append(options)
        return ListPage([], "1", None, None)

    def watch(self, resource: Resource, **options: Any) -> Any:
        self.watches.append(options)
        return None


def test_1_5_1_8_1_14_resource_lister_watcher_requests() -> None:
    client = RecordingClient()
    lw = ResourceListerWatcher(cast(KubeClient, client), Resource("", "v1", "pods"), namespace="ns")
    lw.list(resource_version="0", limit=500, continue_token=None)
    lw.watch(resource_version="10", timeout_seconds=400, inactivity_timeout=430.0)
    lw.watch(resource_version=None, timeout_seconds=400, inactivity_timeout=430.0, send_initial_events=True)
    # 1.5: a plain list never sets resourceVersionMatch.
    assert client.lists[0]["resource_version_match"] is None
    assert (client.lists[0]["resource_version"], client.lists[0]["limit"]) == ("0", 500)
    # 1.8: a watch asks for bookmarks, from the given RV, with the given timeout.
    plain = client.watches[0]
    assert (plain["allow_bookmarks"], plain["resource_version"]) == (True, "10")
    assert plain["timeout_seconds"] == 400
    assert (plain["send_initial_events"], plain["resource_version_match"]) == (None, None)
    # 1.14: a streaming list asks for initial events not older than the RV, with bookmarks.
    streaming = client.watches[1]
    assert (streaming["allow_bookmarks"], streaming["send_initial_events"],
            streaming["resource_version_match"]) == (True, True, "NotOlderThan")


# -- 1.2 Backoff ------------------------------------------------------------------------------------


class FixedRandom(random.Random):
    """random() always returns ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_1_2_backoff_starts_at_0_8_s_and_doubles_up_to_a_30_s_cap(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    delays = [backoff.next_delay() for _ in range(9)]
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0])


def test_1_2_jitter_puts_each_delay_in_d_to_2d(clock: FakeClock) -> None:
    highest = Backoff(clock=clock, rng=FixedRandom(0.999999))
    delays = [highest.next_delay() for _ in range(8)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert all(base <= delay < 2 * base for base, delay in zip(bases, delays, strict=True))
    assert delays[-1] == pytest.approx(60.0, abs=1e-4)


def test_1_2_random_jitter_stays_in_d_to_2d_and_capped_delays_in_30_to_60_s(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(200)]
    assert 0.8 <= delays[0] < 1.6
    assert 1.6 <= delays[1] < 3.2
    assert all(30.0 <= delay < 60.0 for delay in delays[6:])
    assert len({round(delay, 6) for delay in delays[6:]}) > 100  # jittered, not constant


def test_1_2_backoff_resets_to_0_8_s_after_two_quiet_minutes(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    assert [backoff.next_delay() for _ in range(3)] == pytest.approx([0.8, 1.6, 3.2])
    clock.step(120.0)  # not more than two minutes yet
    assert backoff.next_delay() == pytest.approx(6.4)
    clock.step(120.001)
    assert backoff.next_delay() == pytest.approx(0.8)
    assert backoff.next_delay() == pytest.approx(1.6)


def test_1_2_failures_closer_than_two_minutes_keep_growing_the_delay(clock: FakeClock) -> None:
    backoff = Backoff(clock=clock, rng=FixedRandom(0.0))
    delays = []
    for _ in range(8):
        delays.append(backoff.next_delay())
        clock.step(60.0)
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0])
