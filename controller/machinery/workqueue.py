"""A work queue keyed by object, with client-go's semantics.

- A key is queued at most once (duplicates collapse) and handed to at most one worker at a
  time: a key added while being processed is queued again when the worker calls `done`.
- `add_after` holds a key back until a delay has passed (the earliest request wins).
- `retry` re-adds a failed key after the retry schedule's next delay (by default 1 s, 2 s,
  4 s) and says whether the retries are used up; `forget` clears its failure count after a
  success.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from controller.machinery.backoff import RetrySchedule

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(
        self,
        retries: RetrySchedule | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retries = retries or RetrySchedule()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._delayed: list[tuple[float, int, K]] = []
        self._ready_at: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._sequence = itertools.count()
        self._shutting_down = False

    def add(self, key: K) -> None:
        with self._cond:
            self._add(key)

    def _add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            ready_at = self._clock() + delay
            if self._ready_at.get(key, float("inf")) <= ready_at:
                return
            self._ready_at[key] = ready_at
            heapq.heappush(self._delayed, (ready_at, next(self._sequence), key))
            self._cond.notify()

    def retry(self, key: K) -> bool:
        """Re-add `key` after its next retry delay; False (and not re-added) when the
        schedule is used up."""
        with self._cond:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
        delay = self._retries.delay(failures)
        if delay is None:
            return False
        self.add_after(key, delay)
        return True

    def failures(self, key: K) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def retries_exhausted(self, key: K) -> bool:
        """Whether the next failure of `key` is past the retry schedule."""
        return self.failures(key) >= self._retries.attempts

    def forget(self, key: K) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def get(self, timeout: float | None = None) -> K | None:
        """The next key (the caller must call `done` with it), or None on shutdown or after
        `timeout` seconds without work."""
        with self._cond:
            deadline = None if timeout is None else self._clock() + timeout
            while True:
                self._promote_due()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    return key
                if self._shutting_down:
                    return None
                now = self._clock()
                waits = [self._delayed[0][0] - now] if self._delayed else []
                if deadline is not None:
                    if deadline <= now:
                        return None
                    waits.append(deadline - now)
                self._cond.wait(min(waits) if waits else None)

    def _promote_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._delayed)
            if self._ready_at.get(key) == ready_at:
                del self._ready_at[key]
                self._add(key)

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing queued, held back or being processed."""
        with self._cond:
            return not (self._queue or self._ready_at or self._processing)

    def __len__(self) -> int:
        """Keys ready to be processed (the queue depth)."""
        with self._cond:
            return len(self._queue)

    @property
    def waiting(self) -> int:
        """Keys held back by `add_after`."""
        with self._cond:
            return len(self._ready_at)
