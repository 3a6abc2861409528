"""Counts of the calls a provisioner makes to its dependency, split into reads and writes.

The reconciler's promise is that a no-op reconcile writes nothing; these counters let a test
(and the `/metrics` endpoint) prove it. Each provisioner feeds its counter from the lowest
level it can see: every SQL statement, every botocore operation, every Keycloak admin HTTP
request.
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

    def record(self, *, write: bool) -> None:
        with self._lock:
            if write:
                self._writes += 1
            else:
                self._reads += 1

    def snapshot(self) -> CallCounts:
        with self._lock:
            return CallCounts(self._reads, self._writes)
