"""Lease-based leader election: acquire, renew, wait out a live holder on one's own clock,
take over a stale lease, stop leading before anyone else can start, hand the lease back."""

from __future__ import annotations

import copy

from controller.machinery.kube import KubeError
from controller.machinery.leader import LEASE, LeaderElector, LeaseSettings
from controller.machinery.objects import KubeObject

PATH = LEASE.item("plattr-system", "plattr-operator-leader")


class LeaseApi:
    """One Lease with optimistic concurrency, as the API server keeps it."""

    def __init__(self) -> None:
        self.lease: KubeObject | None = None
        self.version = 0

    def get(self, path: str) -> KubeObject | None:
        assert path == PATH
        return copy.deepcopy(self.lease)

    def create(self, path: str, body: KubeObject) -> KubeObject:
        if self.lease is not None:
            raise KubeError(409, "AlreadyExists", "lease exists")
        return self._store(body)

    def replace(self, path: str, body: KubeObject) -> KubeObject:
        assert self.lease is not None
        if body["metadata"]["resourceVersion"] != self.lease["metadata"]["resourceVersion"]:
            raise KubeError(409, "Conflict", "stale")
        return self._store(body)

    def _store(self, body: KubeObject) -> KubeObject:
        self.version += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.lease)

    @property
    def holder(self) -> str | None:
        return None if self.lease is None else self.lease["spec"]["holderIdentity"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def elector(api: LeaseApi, clock: Clock, identity: str) -> LeaderElector:
    settings = LeaseSettings(
        namespace="plattr-system",
        name="plattr-operator-leader",
        identity=identity,
        lease_seconds=15,
        renew_seconds=5,
        retry_seconds=2,
    )
    return LeaderElector(api, settings, clock=clock)  # type: ignore[arg-type]


def test_the_first_replica_acquires_and_the_second_waits() -> None:
    api, clock = LeaseApi(), Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert (a.is_leader(), b.is_leader(), api.holder) == (True, False, "a")


def test_a_renewing_leader_keeps_the_lease() -> None:
    api, clock = LeaseApi(), Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    a.try_acquire_or_renew()
    for _ in range(10):
        clock.now += 5
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
    assert api.holder == "a"
    assert api.lease is not None
    assert api.lease["spec"]["leaseTransitions"] == 0


def test_a_standby_takes_over_once_the_record_is_unchanged_for_the_lease_duration() -> None:
    api, clock = LeaseApi(), Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b first sees the record at t=0
    clock.now = 14.9
    assert not b.try_acquire_or_renew()
    clock.now = 15
    assert b.try_acquire_or_renew()
    assert api.holder == "b"
    assert api.lease is not None
    assert api.lease["spec"]["leaseTransitions"] == 1
    assert not a.is_leader()  # a's own deadline (lease - renew) passed long before


def test_the_leader_stops_leading_before_the_lease_can_expire() -> None:
    api, clock = LeaseApi(), Clock()
    a = elector(api, clock, "a")
    a.try_acquire_or_renew()
    clock.now = 9.9
    assert a.is_leader()
    clock.now = 10
    assert not a.is_leader()


def test_release_hands_the_lease_over_at_once() -> None:
    api, clock = LeaseApi(), Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert api.holder is None
    assert b.try_acquire_or_renew()
    assert api.holder == "b"


def test_seeing_another_holder_ends_leadership_at_once() -> None:
    api, clock = LeaseApi(), Clock()
    a = elector(api, clock, "a")
    a.try_acquire_or_renew()
    assert api.lease is not None
    api.lease["spec"]["holderIdentity"] = "intruder"  # e.g. edited by hand
    assert not a.try_acquire_or_renew()
    assert not a.is_leader()
