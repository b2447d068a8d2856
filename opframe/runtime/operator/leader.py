"""LeaderElector: one active replica through a coordination.k8s.io/v1 Lease (client-go semantics 6).

States, one step function::

    CANDIDATE --acquired--> LEADER --renewed within RenewDeadline--> LEADER
        ^  \\--held by another, or conflict: wait RetryPeriod x jitter 1.2
        |                           \\--no renewal within RenewDeadline--> LOST (final)
        +-- (a lost leader never becomes a candidate again: the process exits)
    LEADER --stop()--> RELEASED (holder "", duration 1 s, so a standby takes over at once)

Invariants:

* another holder's lease is respected until ``observed_time + lease_duration``, where
  ``observed_time`` is THIS process's monotonic clock when it last saw the record
  change: no trust in other machines' clocks (6.4);
* every write carries the resourceVersion last read, so two candidates racing get one
  success and one 409 (6.2);
* a leader that cannot renew within RenewDeadline calls ``on_stopped_leading`` and never
  leads again; LeaseDuration > RenewDeadline > 1.2 x RetryPeriod leaves the others a
  margin before they may take over (6.1, 6.5).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import random
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.clock import REAL_CLOCK, Clock
from opframe.kube.resources import Resource

logger = logging.getLogger("opframe.leader")

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
#: controller-runtime's defaults (semantics 6.7).
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0
#: client-go's JitterFactor for acquire attempts (6.3).
JITTER_FACTOR = 1.2
#: A released lease says "expired in a second" (6.6).
RELEASED_LEASE_DURATION = 1


class State(enum.Enum):
    CANDIDATE = "candidate"
    LEADER = "leader"
    LOST = "lost"
    RELEASED = "released"


@dataclasses.dataclass(frozen=True)
class LeaseConfig:
    name: str
    namespace: str
    identity: str
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD

    def validate(self) -> None:
        """semantics 6.1."""
        if not self.identity:
            raise ValueError("leader election needs a non-empty identity")
        if not self.lease_duration > self.renew_deadline:
            raise ValueError(f"lease duration ({self.lease_duration} s) must exceed the renew deadline "
                             f"({self.renew_deadline} s)")
        if not self.renew_deadline > JITTER_FACTOR * self.retry_period:
            raise ValueError(f"the renew deadline ({self.renew_deadline} s) must exceed {JITTER_FACTOR} x the retry "
                             f"period ({self.retry_period} s)")
        if self.retry_period <= 0:
            raise ValueError("the retry period must be > 0")


def default_identity() -> str:
    """hostname + "_" + a UUID, as controller-runtime (6.7)."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: KubeClient, config: LeaseConfig, *,
                 on_started_leading: Callable[[], None], on_stopped_leading: Callable[[], None],
                 clock: Clock = REAL_CLOCK, rng: random.Random | None = None) -> None:
        config.validate()
        self.client = client
        self.config = config
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._clock = clock
        self._rng = rng or random.Random()
        self.state = State.CANDIDATE
        self._stop = threading.Event()
        self._observed: dict[str, Any] | None = None  # the lease spec as last seen
        self._observed_rv = ""
        self._observed_at = 0.0
        self._last_renew = 0.0
        self.transitions_seen = 0
        self._thread: threading.Thread | None = None

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="opframe-leader", daemon=True)
        self._thread.start()

    def run(self) -> None:
        while self.state in (State.CANDIDATE, State.LEADER) and not self._stop.is_set():
            self.step()
        if self._stop.is_set() and self.state is State.LEADER:
            self.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop campaigning; a leader releases its lease (6.6)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def is_leader(self) -> bool:
        return self.state is State.LEADER

    def step(self) -> State:
        if self.state is State.CANDIDATE:
            if self._try_acquire_or_renew():
                self.state = State.LEADER
                self._last_renew = self._clock.now()
                logger.info("became leader of lease %s/%s as %s", self.config.namespace, self.config.name,
                            self.config.identity)
                self._on_started()
            else:
                # client-go wait.Jitter(RetryPeriod, 1.2): a wait in [d, 2.2 d).
                self._sleep(self.config.retry_period * (1.0 + self._rng.random() * JITTER_FACTOR))
        elif self.state is State.LEADER:
            self._sleep(self.config.retry_period)
            if self._stop.is_set():
                return self.state
            if self._try_acquire_or_renew():
                self._last_renew = self._clock.now()
            elif self._clock.now() - self._last_renew >= self.config.renew_deadline:
                self.state = State.LOST
                logger.error("lost the lease %s/%s: no renewal within %.0f s", self.config.namespace,
                             self.config.name, self.config.renew_deadline)
                self._on_stopped()
        return self.state

    def _sleep(self, seconds: float) -> None:
        deadline = self._clock.now() + seconds
        while not self._stop.is_set():
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 0.05))

    # -- the lease ------------------------------------------------------------------------

    def _try_acquire_or_renew(self) -> bool:
        """One attempt (client-go tryAcquireOrRenew). Never raises for API failures."""
        now_wall = datetime.datetime.now(datetime.UTC)
        now = self._clock.now()
        try:
            lease = self.client.get(LEASES, self.config.name, namespace=self.config.namespace)
        except errors.NotFound:
            return self._create(now_wall, now)
        except (errors.KubeError, OSError) as exc:
            logger.warning("cannot read lease %s/%s: %s", self.config.namespace, self.config.name, exc)
            return False
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observed, self._observed_at = spec, now
        self._observed_rv = lease["metadata"]["resourceVersion"]
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.config.lease_duration)
        if holder and holder != self.config.identity and now < self._observed_at + duration:
            return False
        ours = holder == self.config.identity
        new_spec = {
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": int(self.config.lease_duration),
            "acquireTime": spec.get("acquireTime") if ours and spec.get("acquireTime") else _micro_time(now_wall),
            "renewTime": _micro_time(now_wall),
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (0 if ours else 1),
        }
        return self._update(new_spec, now)

    def _create(self, now_wall: datetime.datetime, now: float) -> bool:
        spec = {"holderIdentity": self.config.identity, "leaseDurationSeconds": int(self.config.lease_duration),
                "acquireTime": _micro_time(now_wall), "renewTime": _micro_time(now_wall), "leaseTransitions": 0}
        try:
            created = self.client.create(LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                                  "metadata": {"name": self.config.name,
                                                               "namespace": self.config.namespace},
                                                  "spec": spec})
        except (errors.KubeError, OSError) as exc:
            logger.debug("cannot create lease: %s", exc)
            return False
        self._observed, self._observed_at = created["spec"], now
        self._observed_rv = created["metadata"]["resourceVersion"]
        return True

    def _update(self, spec: dict[str, Any], now: float) -> bool:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.config.name, "namespace": self.config.namespace,
                             "resourceVersion": self._observed_rv},
                "spec": spec}
        try:
            updated = self.client.replace(LEASES, self.config.name, body, namespace=self.config.namespace)
        except errors.Conflict:
            return False
        except (errors.KubeError, OSError) as exc:
            logger.warning("cannot update lease %s/%s: %s", self.config.namespace, self.config.name, exc)
            return False
        self._observed, self._observed_at = updated["spec"], now
        self._observed_rv = updated["metadata"]["resourceVersion"]
        return True

    def release(self) -> bool:
        """Give the lease up: holder "", duration 1 s (6.6). Only a leader releases."""
        if self.state is not State.LEADER:
            return False
        spec = dict(self._observed or {})
        spec.update({"holderIdentity": "", "leaseDurationSeconds": RELEASED_LEASE_DURATION,
                     "renewTime": _micro_time(datetime.datetime.now(datetime.UTC))})
        released = self._update(spec, self._clock.now())
        self.state = State.RELEASED
        if released:
            logger.info("released the lease %s/%s", self.config.namespace, self.config.name)
        return released
