"""Delays between attempts: a retry schedule that gives up after a fixed number of retries
(for work items), and a capped, jittered exponential backoff that never gives up (for
reconnecting to the API server)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    """`attempts` retries after a failure, `base`, `base*factor`, ... seconds apart (by
    default 1 s, 2 s and 4 s, then no more)."""

    base: float = 1.0
    factor: float = 2.0
    attempts: int = 3

    def delay(self, failures: int) -> float | None:
        """Seconds to wait after the `failures`-th consecutive failure (1-based), or None
        when the retries are used up."""
        if failures < 1:
            raise ValueError(f"failures must be at least 1, not {failures}")
        if failures > self.attempts:
            return None
        return self.base * self.factor ** (failures - 1)

    @property
    def delays(self) -> tuple[float, ...]:
        return tuple(self.base * self.factor**n for n in range(self.attempts))


class Backoff:
    """Exponential backoff with full jitter, capped: for reconnects that must not busy-loop
    yet should come back quickly once the API server is there again."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: random.Random | None = None,
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._factor = factor
        self._random = jitter or random.Random()  # noqa: S311 - jitter, not cryptography
        self._ceiling = initial

    def next(self) -> float:
        """The next delay: uniform in [ceiling/2, ceiling], the ceiling doubling up to max."""
        ceiling = self._ceiling
        self._ceiling = min(self._maximum, self._ceiling * self._factor)
        return self._random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._ceiling = self._initial
