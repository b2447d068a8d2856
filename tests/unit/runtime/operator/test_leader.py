"""LeaderElector: client-go semantics 6, against an in-memory Lease and a FakeClock.

The fake API keeps one Lease, bumps its resourceVersion on every write, answers 404
when it is absent and 409 when a write carries a stale resourceVersion. Each replica
talks to it through its own ``FakeLeaseClient``, which can be partitioned (every call
raises ``TransportError``) without affecting the other replicas.

Decisions (6.2, 6.4, 6.6) are tested with ``_try_acquire_or_renew()`` directly; the
leadership loop (6.5, 6.7) with ``step()``, whose sleeps on the FakeClock are ended by
``run_step`` stepping the clock once the elector is known to be waiting.
"""

from __future__ import annotations

import copy
import datetime
import random
import socket
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.clock import FakeClock
from opframe.kube.resources import Resource
from opframe.runtime.operator import leader
from opframe.runtime.operator.leader import LEASES, LeaderElector, LeaseConfig, State

NAME = "opframe-lock"
NAMESPACE = "operators"
JOIN_SECONDS = 2.0
WALL_START = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)


def micro(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the fake API ---------------------------------------------------------------------------


class LeaseStore:
    """The API server's side: one Lease, or none."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.resource_version = 0
        self.writes = 0

    def seed(self, spec: dict[str, Any]) -> None:
        """Put a Lease as another process (or an operator's kubectl) would."""
        self.put({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                  "metadata": {"name": NAME, "namespace": NAMESPACE}, "spec": spec})

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        self.resource_version += 1
        self.writes += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self.resource_version)
        self.lease = stored
        return copy.deepcopy(stored)

    def change_spec(self, **changes: Any) -> None:
        assert self.lease is not None
        self.put({**self.lease, "spec": {**self.lease["spec"], **changes}})

    @property
    def spec(self) -> dict[str, Any]:
        assert self.lease is not None
        return cast(dict[str, Any], self.lease["spec"])


class FakeLeaseClient:
    """The few KubeClient methods the elector uses, for one replica."""

    def __init__(self, store: LeaseStore) -> None:
        self.store = store
        self.partitioned = False
        self.calls: list[str] = []
        self.replaced: list[dict[str, Any]] = []
        #: Runs inside a write, after this replica's read: another replica's racing write.
        self.before_write: Callable[[], object] | None = None

    def _enter(self, verb: str, resource: Resource, namespace: str | None) -> None:
        assert resource == LEASES
        assert namespace in (None, NAMESPACE)
        self.calls.append(verb)
        if self.partitioned:
            raise errors.TransportError(f"{verb} lease: connection refused (partitioned)")

    def _race(self) -> None:
        if self.before_write is not None:
            racing, self.before_write = self.before_write, None
            racing()

    def get(self, resource: Resource, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        self._enter("get", resource, namespace)
        assert name == NAME
        if self.store.lease is None:
            raise errors.NotFound(404, f'leases.coordination.k8s.io "{name}" not found', reason="NotFound")
        return copy.deepcopy(self.store.lease)

    def create(self, resource: Resource, body: dict[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        self._enter("create", resource, namespace)
        assert body["metadata"]["name"] == NAME
        assert body["metadata"]["namespace"] == NAMESPACE
        self._race()
        if self.store.lease is not None:
            raise errors.Conflict(409, f'leases.coordination.k8s.io "{NAME}" already exists', reason="AlreadyExists")
        return self.store.put(body)

    def replace(self, resource: Resource, name: str, body: dict[str, Any], *,
                namespace: str | None = None) -> dict[str, Any]:
        self._enter("replace", resource, namespace)
        assert name == NAME == body["metadata"]["name"]
        self.replaced.append(copy.deepcopy(body))
        self._race()
        if self.store.lease is None:
            raise errors.NotFound(404, f'leases.coordination.k8s.io "{name}" not found', reason="NotFound")
        if body["metadata"].get("resourceVersion") != self.store.lease["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "the object has been modified; please apply your changes to the latest "
                                  "version and try again", reason="Conflict")
        return self.store.put(body)


# -- the elector under test -----------------------------------------------------------------


class NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


class SleepSignal(threading.Event):
    """Stands in for the elector's stop event, whose ``wait`` is how ``_sleep`` waits for the FakeClock.

    ``waiting`` is set on the first wait, so a test moves the clock only once the sleep's
    deadline is fixed. Waits last at most a millisecond: ``_sleep`` re-checks the clock
    in a loop, so an early return is allowed and only makes the test quicker.
    """

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(0.001 if timeout is None else min(timeout, 0.001))


class Replica:
    def __init__(self, store: LeaseStore, clock: FakeClock, identity: str, **timing: float) -> None:
        self.client = FakeLeaseClient(store)
        self.clock = clock
        self.started = 0
        self.stopped = 0
        self.elector = LeaderElector(cast(KubeClient, self.client), LeaseConfig(NAME, NAMESPACE, identity, **timing),
                                     on_started_leading=self._on_started, on_stopped_leading=self._on_stopped,
                                     clock=clock, rng=NoJitter())
        self.sleep_signal = SleepSignal()
        self.elector._stop = self.sleep_signal

    def _on_started(self) -> None:
        self.started += 1

    def _on_stopped(self) -> None:
        self.stopped += 1

    def try_once(self) -> bool:
        return self.elector._try_acquire_or_renew()

    def run_step(self, advance: float | None = None) -> State:
        """One ``step()`` on a helper thread; if it sleeps, the FakeClock moves ``advance`` seconds, once."""
        result: list[State] = []
        finished = threading.Event()

        def step() -> None:
            try:
                result.append(self.elector.step())
            finally:
                finished.set()
                self.sleep_signal.waiting.set()

        self.sleep_signal.waiting.clear()
        thread = threading.Thread(target=step, daemon=True)
        thread.start()
        assert self.sleep_signal.waiting.wait(JOIN_SECONDS), "step() neither slept nor returned"
        if not finished.is_set():
            assert advance is not None, "step() slept but the test did not expect it to"
            self.clock.step(advance)
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive(), "step() still sleeping after the clock moved"
        return result[0]


class WallClock:
    """Replaces the wall clock the elector writes into acquireTime and renewTime."""

    def __init__(self) -> None:
        self.current = WALL_START

    def advance(self, seconds: float) -> None:
        self.current += datetime.timedelta(seconds=seconds)

    @property
    def stamp(self) -> str:
        return micro(self.current)


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    wall_clock = WallClock()

    class FixedDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
            return wall_clock.current if tz is None else wall_clock.current.astimezone(tz)

    monkeypatch.setattr(leader, "datetime", types.SimpleNamespace(datetime=FixedDatetime, UTC=datetime.UTC))
    return wall_clock


@pytest.fixture
def store() -> LeaseStore:
    return LeaseStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def replicas(store: LeaseStore, clock: FakeClock) -> Iterator[Callable[..., Replica]]:
    made: list[Replica] = []

    def make(identity: str, **timing: float) -> Replica:
        replica = Replica(store, clock, identity, **timing)
        made.append(replica)
        return replica

    yield make
    for replica in made:
        replica.sleep_signal.set()  # ends any sleep a failed test left behind


def other_holder(holder: str = "other", *, renew: str = "2000-01-01T00:00:00.000000Z", duration: int = 15,
                 transitions: int = 3) -> dict[str, Any]:
    return {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": "2000-01-01T00:00:00.000000Z",
            "renewTime": renew, "leaseTransitions": transitions}


# -- 6.1 config validation -----------------------------------------------------------------------


@pytest.mark.parametrize(("lease", "deadline", "retry"), [
    (15, 10, 2),
    (3, 2.5, 2),      # 2.5 > 1.2 x 2 = 2.4
    (1.0, 0.5, 0.1),
])
def test_6_1_valid_timings_are_accepted(lease: float, deadline: float, retry: float) -> None:
    LeaseConfig(NAME, NAMESPACE, "me", lease_duration=lease, renew_deadline=deadline, retry_period=retry).validate()


@pytest.mark.parametrize(("lease", "deadline", "retry"), [
    (10, 10, 2),      # lease duration must exceed the renew deadline
    (9, 10, 2),
    (15, 2.4, 2),     # renew deadline must exceed 1.2 x retry period
    (15, 2, 2),
    (15, 10, 0),      # retry period must be > 0
    (15, 10, -1),
    (0, -1, -2),
])
def test_6_1_invalid_timings_are_rejected(lease: float, deadline: float, retry: float) -> None:
    config = LeaseConfig(NAME, NAMESPACE, "me", lease_duration=lease, renew_deadline=deadline, retry_period=retry)
    with pytest.raises(ValueError):
        config.validate()
    with pytest.raises(ValueError):
        LeaderElector(cast(KubeClient, FakeLeaseClient(LeaseStore())), config, on_started_leading=lambda: None,
                      on_stopped_leading=lambda: None, clock=FakeClock())


def test_6_1_identity_must_be_non_empty() -> None:
    config = LeaseConfig(NAME, NAMESPACE, "")
    with pytest.raises(ValueError, match="identity"):
        config.validate()
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(cast(KubeClient, FakeLeaseClient(LeaseStore())), config, on_started_leading=lambda: None,
                      on_stopped_leading=lambda: None, clock=FakeClock())


# -- 6.2 the Lease record and optimistic concurrency ----------------------------------------------


def test_6_2_acquiring_an_absent_lease_creates_it_with_every_field(
        store: LeaseStore, replicas: Callable[..., Replica], wall: WallClock) -> None:
    a = replicas("a")
    assert a.try_once()
    assert a.client.calls == ["get", "create"]
    assert store.lease is not None
    assert store.lease["apiVersion"] == "coordination.k8s.io/v1"
    assert store.lease["kind"] == "Lease"
    assert store.lease["metadata"]["name"] == NAME
    assert store.lease["metadata"]["namespace"] == NAMESPACE
    assert store.spec == {"holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": wall.stamp,
                          "renewTime": wall.stamp, "leaseTransitions": 0}
    assert wall.stamp == "2024-05-01T12:00:00.000000Z"


def test_6_2_lease_duration_written_is_the_configured_one(
        store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a = replicas("a", lease_duration=30, renew_deadline=20, retry_period=4)
    assert a.try_once()
    assert store.spec["leaseDurationSeconds"] == 30


def test_6_2_updates_carry_the_resource_version_last_read(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica], wall: WallClock) -> None:
    store.seed(other_holder())
    a = replicas("a")
    assert not a.try_once()
    clock.step(15)
    seen = store.lease["metadata"]["resourceVersion"] if store.lease else None
    assert a.try_once()  # acquires the expired lease
    assert a.client.replaced[-1]["metadata"]["resourceVersion"] == seen
    renewed_from = store.lease["metadata"]["resourceVersion"] if store.lease else None
    assert renewed_from != seen  # every write bumps it
    clock.step(2)
    assert a.try_once()  # renews
    assert a.client.replaced[-1]["metadata"]["resourceVersion"] == renewed_from
    assert store.spec["holderIdentity"] == "a"
    assert store.spec["renewTime"] == wall.stamp


def test_6_2_racing_updates_give_one_leader_and_one_conflict(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    store.seed(other_holder("gone"))
    a, b = replicas("a"), replicas("b")
    assert not a.try_once()
    assert not b.try_once()
    clock.step(15)  # the old holder's lease has expired for both

    # b reads the lease; before b's write lands, a reads the same version and writes first.
    b.client.before_write = a.run_step
    assert b.run_step(advance=2.0) is State.CANDIDATE  # b got a 409, and waits a retry period
    assert a.elector.state is State.LEADER
    assert (a.started, b.started) == (1, 0)
    assert not b.elector.is_leader()
    assert a.client.replaced[-1]["metadata"]["resourceVersion"] == b.client.replaced[-1]["metadata"][
        "resourceVersion"]
    assert store.spec["holderIdentity"] == "a"
    assert store.spec["leaseTransitions"] == 4  # one transition, not two

    # b's next attempt sees a's fresh lease and respects it.
    assert b.run_step(advance=2.0) is State.CANDIDATE
    assert b.started == 0
    assert store.spec["holderIdentity"] == "a"


def test_6_2_racing_creates_give_one_leader(store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a, b = replicas("a"), replicas("b")
    b.client.before_write = a.run_step
    assert b.run_step(advance=2.0) is State.CANDIDATE  # b's create got 409 AlreadyExists
    assert a.elector.state is State.LEADER
    assert (a.started, b.started) == (1, 0)
    assert b.client.calls == ["get", "create"]
    assert store.spec["holderIdentity"] == "a"
    assert store.writes == 1


def test_6_2_a_leader_whose_lease_was_overwritten_gets_a_conflict_not_a_renewal(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    assert a.try_once()
    a.client.before_write = lambda: store.change_spec(holderIdentity="intruder")
    clock.step(2)
    assert not a.try_once()
    assert store.spec["holderIdentity"] == "intruder"


# -- 6.4 respecting another holder; transitions and acquireTime -----------------------------------


@pytest.mark.parametrize("renew_time", [
    "2000-01-01T00:00:00.000000Z",   # long past by the holder's clock
    "2999-01-01T00:00:00.000000Z",   # far future: a skewed clock must not buy extra time either
])
def test_6_4_another_holders_lease_is_respected_for_its_duration_on_the_local_clock(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica], wall: WallClock,
        renew_time: str) -> None:
    store.seed(other_holder(renew=renew_time))
    b = replicas("b")
    writes = store.writes
    assert not b.try_once()  # first sight: observed now, however old renewTime says it is
    clock.step(10)
    assert not b.try_once()
    clock.step(4.5)
    assert not b.try_once()  # 14.5 s after it was observed
    assert store.writes == writes
    assert b.client.calls.count("replace") == 0
    clock.step(0.5)
    assert b.try_once()  # observed_time + 15 s
    assert store.spec == {"holderIdentity": "b", "leaseDurationSeconds": 15, "acquireTime": wall.stamp,
                          "renewTime": wall.stamp, "leaseTransitions": 4}


def test_6_4_observed_time_restarts_only_when_the_record_changes(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    store.seed(other_holder())
    b = replicas("b")
    assert not b.try_once()  # observed at t0
    clock.step(10)
    assert not b.try_once()  # unchanged record: still observed at t0
    clock.step(5)
    assert b.try_once()  # t0 + 15: re-reading an unchanged record did not extend it

    store.seed(other_holder("c", transitions=9))
    d = replicas("d")
    assert not d.try_once()  # observed at t1
    clock.step(10)
    store.change_spec(renewTime="2000-01-01T00:00:10.000000Z")  # c renews at t1 + 10
    clock.step(2)
    assert not d.try_once()  # sees the change at t1 + 12: observed again
    clock.step(14.5)
    assert not d.try_once()  # t1 + 26.5 < t1 + 12 + 15
    clock.step(0.5)
    assert d.try_once()  # t1 + 27
    assert store.spec["holderIdentity"] == "d"
    assert store.spec["leaseTransitions"] == 10


def test_6_4_the_records_lease_duration_is_what_is_respected(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    store.seed(other_holder(duration=30))
    b = replicas("b")  # configured with 15 s; the holder asked for 30 s
    assert not b.try_once()
    clock.step(29.5)
    assert not b.try_once()
    clock.step(0.5)
    assert b.try_once()
    assert store.spec["leaseDurationSeconds"] == 15


def test_6_4_acquiring_increments_transitions_and_renewing_keeps_acquire_time(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica], wall: WallClock) -> None:
    a, b = replicas("a"), replicas("b")
    assert a.try_once()
    acquired = wall.stamp
    assert store.spec["leaseTransitions"] == 0

    for _ in range(3):
        clock.step(2)
        wall.advance(2)
        assert a.try_once()
        assert store.spec["holderIdentity"] == "a"
        assert store.spec["acquireTime"] == acquired
        assert store.spec["renewTime"] == wall.stamp != acquired
        assert store.spec["leaseTransitions"] == 0

    assert not b.try_once()  # b observes a's lease
    clock.step(15)
    wall.advance(15)
    assert b.try_once()  # a stopped renewing: b takes over
    assert store.spec["holderIdentity"] == "b"
    assert store.spec["acquireTime"] == wall.stamp != acquired
    assert store.spec["leaseTransitions"] == 1

    clock.step(2)
    wall.advance(2)
    assert b.try_once()
    assert store.spec["leaseTransitions"] == 1
    assert store.spec["acquireTime"] != store.spec["renewTime"]


# -- 6.5 renewing and losing -----------------------------------------------------------------------


def test_6_5_one_failed_renew_within_the_deadline_keeps_leadership(
        store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    assert a.run_step() is State.LEADER
    a.client.partitioned = True
    assert a.run_step(advance=2.0) is State.LEADER  # failed at +2
    a.client.partitioned = False
    assert a.run_step(advance=2.0) is State.LEADER  # renewed at +4: the deadline restarts
    a.client.partitioned = True
    for _ in range(4):
        assert a.run_step(advance=2.0) is State.LEADER  # +6 .. +12: 8 s since the last renewal
    assert a.stopped == 0
    assert a.elector.is_leader()
    assert a.run_step(advance=2.0) is State.LOST  # +14: 10 s
    assert a.stopped == 1


def test_6_5_no_renewal_within_the_deadline_loses_leadership_once_and_for_good(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    assert a.run_step() is State.LEADER
    elected_at = clock.now()
    a.client.partitioned = True
    for _ in range(4):
        assert a.run_step(advance=2.0) is State.LEADER
        assert a.stopped == 0
    assert a.run_step(advance=2.0) is State.LOST
    assert clock.now() - elected_at == 10.0
    assert a.stopped == 1
    assert not a.elector.is_leader()

    # LOST is final: no callbacks, no API calls, even once the API is reachable again.
    a.client.partitioned = False
    calls = len(a.client.calls)
    for _ in range(3):
        assert a.run_step() is State.LOST
    assert a.stopped == 1
    assert a.started == 1
    assert len(a.client.calls) == calls
    a.elector.run()  # returns at once: a lost elector never campaigns again
    assert len(a.client.calls) == calls


def test_6_5_a_lease_taken_by_another_is_not_a_renewal(
        store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    assert a.run_step() is State.LEADER
    store.change_spec(holderIdentity="usurper")  # e.g. a replica that saw the lease expire
    for _ in range(4):
        assert a.run_step(advance=2.0) is State.LEADER
    assert a.run_step(advance=2.0) is State.LOST
    assert a.stopped == 1
    assert store.spec["holderIdentity"] == "usurper"


def test_6_5_a_partitioned_leader_stops_before_a_standby_may_take_over(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    a, b = replicas("a"), replicas("b")
    assert a.run_step() is State.LEADER
    assert not b.try_once()  # b observes a's lease at t0
    a.client.partitioned = True
    lost_at = None
    taken_at = None
    for _ in range(10):
        if a.elector.state is State.LEADER:
            if a.run_step(advance=2.0) is State.LOST:
                lost_at = clock.now()
        else:
            clock.step(2.0)
        if b.try_once() and taken_at is None:
            taken_at = clock.now()
    assert lost_at is not None
    assert taken_at is not None
    assert lost_at < taken_at
    assert taken_at - lost_at >= 15.0 - 10.0 - 2.0  # the margin LeaseDuration - RenewDeadline, to a retry
    assert a.stopped == 1
    assert store.spec["holderIdentity"] == "b"


def test_6_5_a_candidate_that_cannot_reach_the_api_does_not_lead(
        store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    a.client.partitioned = True
    assert not a.try_once()
    assert a.run_step(advance=2.0) is State.CANDIDATE
    assert a.started == 0
    assert store.lease is None
    a.client.partitioned = False
    assert a.run_step() is State.LEADER
    assert a.started == 1


# -- 6.6 release -----------------------------------------------------------------------------------


def test_6_6_release_empties_the_holder_and_a_standby_takes_over_at_once(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica], wall: WallClock) -> None:
    a, b = replicas("a"), replicas("b")
    assert a.run_step() is State.LEADER
    acquired = wall.stamp
    assert not b.try_once()  # b respects a's lease, observed just now
    wall.advance(1)
    assert a.elector.release()
    assert a.elector.state is State.RELEASED
    assert not a.elector.is_leader()
    assert store.spec["holderIdentity"] == ""
    assert store.spec["leaseDurationSeconds"] == 1
    assert store.spec["renewTime"] == wall.stamp
    assert store.spec["acquireTime"] == acquired
    assert store.spec["leaseTransitions"] == 0
    assert a.stopped == 0  # a release is not a loss

    assert b.try_once()  # no clock movement: the released lease is free now
    assert store.spec["holderIdentity"] == "b"
    assert store.spec["leaseDurationSeconds"] == 15
    assert store.spec["leaseTransitions"] == 1
    assert clock.now() == 1000.0


def test_6_6_only_a_leader_releases(store: LeaseStore, replicas: Callable[..., Replica]) -> None:
    a, b = replicas("a"), replicas("b")
    assert a.run_step() is State.LEADER
    writes = store.writes
    assert not b.elector.release()
    assert b.elector.state is State.CANDIDATE
    assert store.writes == writes
    assert store.spec["holderIdentity"] == "a"


def test_6_6_stopping_a_running_leader_releases_its_lease(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    a = replicas("a")
    a.elector._stop = threading.Event()  # the real stop event: stop() must interrupt the sleep itself
    elected = threading.Event()
    a.elector._on_started = elected.set
    a.elector.start()
    assert elected.wait(JOIN_SECONDS)
    assert a.elector.is_leader()
    a.elector.stop(timeout=JOIN_SECONDS)
    assert a.elector._thread is not None
    assert not a.elector._thread.is_alive()
    assert a.elector.state is State.RELEASED
    assert store.spec["holderIdentity"] == ""
    assert store.spec["leaseDurationSeconds"] == 1


# -- 6.7 defaults and callbacks --------------------------------------------------------------------


def test_6_7_default_identity_is_hostname_underscore_uuid() -> None:
    identity = leader.default_identity()
    host, sep, suffix = identity.rpartition("_")
    assert sep == "_"
    assert host == socket.gethostname()
    assert str(uuid.UUID(suffix)) == suffix
    assert leader.default_identity() != identity


def test_6_7_default_timings_are_controller_runtimes() -> None:
    config = LeaseConfig(NAME, NAMESPACE, "me")
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (15.0, 10.0, 2.0)
    config.validate()


def test_6_7_on_started_leading_is_called_once_on_acquisition(
        store: LeaseStore, clock: FakeClock, replicas: Callable[..., Replica]) -> None:
    store.seed(other_holder())
    a = replicas("a")
    assert a.run_step(advance=2.0) is State.CANDIDATE
    assert a.started == 0
    clock.step(13)
    assert a.run_step() is State.LEADER  # 15 s after it first saw the other holder's lease
    assert a.started == 1
    for _ in range(5):
        assert a.run_step(advance=2.0) is State.LEADER
    assert a.started == 1
    assert a.stopped == 0
    assert store.spec["holderIdentity"] == "a"
