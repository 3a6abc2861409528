"""Counts of the calls a provisioner makes to its dependency, split into reads and writes.

The reconciler's promise is that a no-op reconcile writes nothing; these counters let a test
(and the `/metrics` endpoint) prove it. Each provisioner feeds its counter from the lowest
level it can see: every SQL statement, every botocore operation, every Keycloak admin HTTP
request. Apart from those, each counts the answers that told it to slow down (throttled, then
retried at the client level).
"""

from __future__ import annotations

import threading
from typing import NamedTuple


class CallCounts(NamedTuple):
    reads: int
    writes: int

    def __sub__(self, other: tuple[int, ...]) -> CallCounts:
        return CallCounts(self.reads - other[0], self.writes - other[1])


class CallCounter:
    """Thread-safe running totals; take a `snapshot()` before and after an operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads = 0
        self._writes = 0
        self._throttled = 0

    def record(self, *, write: bool) -> None:
        with self._lock:
            if write:
                self._writes += 1
            else:
                self._reads += 1

    def throttle(self) -> None:
        """One answer that said: too many requests, slow down."""
        with self._lock:
            self._throttled += 1

    @property
    def throttled(self) -> int:
        with self._lock:
            return self._throttled

    def snapshot(self) -> CallCounts:
        with self._lock:
            return CallCounts(self._reads, self._writes)
