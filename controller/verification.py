"""When a resync verifies an app's external resources again, and when it trusts the last
verification.

Each provisioner (database, storage, auth) of each app has a record: the inputs it verified
(the spec's generation) and when. A reconcile whose inputs are unchanged, and whose slot has
not come round since that verification, makes no call to Postgres, S3/IAM or Keycloak. The
slots of an app are `offset(uid) + k * period` (`*_VERIFY_SECONDS`), its offset a stable hash
of its uid spread over the period, so a fleet of apps verifies evenly through each period
instead of all at once. A period of 0 verifies on every reconcile. Anything that may have
changed outside the spec (a failed step, a changed or deleted Secret or ConfigMap of the app,
a rotated platform Secret) forgets the record: the next reconcile verifies in full.

The records live in memory: a restarted controller verifies every app once, then by slot.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

PROVISIONERS: Final = ("database", "storage", "auth")


def offset(uid: str, period: float) -> float:
    """A stable place for `uid` in [0, period): the same on every replica and restart."""
    if period <= 0:
        return 0.0
    digest = hashlib.sha256(uid.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * period


def due(verified_at: float, now: float, period: float, start: float) -> bool:
    """Whether one of the slots `start + k * period` lies in (verified_at, now]."""
    if period <= 0:
        return True
    return math.floor((now - start) / period) > math.floor((verified_at - start) / period)


class Verified(NamedTuple):
    inputs: str
    at: float
    message: str
    """The step's condition message, reported again while the verification is current."""


class Verifications:
    """The last verification of each (app uid, provisioner), thread-safe. `periods` maps a
    provisioner to its verify period in seconds (missing or 0: verify every time)."""

    def __init__(
        self, periods: Mapping[str, float], clock: Callable[[], float] = time.time
    ) -> None:
        self._periods = dict(periods)
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], Verified] = {}

    def current(self, uid: str, provisioner: str, inputs: str) -> str | None:
        """The message of a verification of these `inputs` whose next slot has not come;
        None when the provisioner must verify now."""
        period = self._periods.get(provisioner, 0.0)
        with self._lock:
            record = self._records.get((uid, provisioner))
        if record is None or record.inputs != inputs:
            return None
        if due(record.at, self._clock(), period, offset(uid, period)):
            return None
        return record.message

    def record(self, uid: str, provisioner: str, inputs: str, message: str) -> None:
        with self._lock:
            self._records[(uid, provisioner)] = Verified(inputs, self._clock(), message)

    def forget(self, uid: str | None = None, provisioner: str | None = None) -> None:
        """Drop the records of `uid` (every app when None) for `provisioner` (every one when
        None): their next reconcile verifies in full."""
        with self._lock:
            for key in [
                key
                for key in self._records
                if uid in (None, key[0]) and provisioner in (None, key[1])
            ]:
                del self._records[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
