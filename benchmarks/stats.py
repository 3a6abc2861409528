"""Small statistics helpers for the benchmarks."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1e3:7.1f} ms   "
        f"p90 {percentile(samples, 0.9) * 1e3:7.1f} ms   min {min(samples) * 1e3:7.1f} ms"
    )


def time_command(command: Sequence[str], cwd: str, env: Mapping[str, str]) -> float:
    """Wall time of one run; the command must succeed."""
    started = time.perf_counter()
    result = subprocess.run(list(command), cwd=cwd, env=dict(env), capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.decode()[-500:]}")
    return elapsed
