"""What the reliability suite shares: a bound on each fuzz case, the plugin run as Argo CD's
sidecar runs it, canaries that must never be created or echoed, and the figures file the
docs table is filled from (figures are reported, never asserted on)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final

from tests.support.argocd_env import plugin_env

ROOT: Final = Path(__file__).resolve().parents[2]
FIGURES: Final = ROOT / "test-artifacts" / "reliability-figures.json"
PLUGIN: Final = [sys.executable, "-c", "from cli.cmp import main; main()", "generate"]
PLUGIN_TIMEOUT: Final = 90.0
CASE_BOUND_SECONDS: Final = 10.0
"""A case that runs this long is a hang, not a slow machine: specs are tiny."""

APP_SPEC: Final = """\
apiVersion: platform.internal/v1alpha1
kind: Application
metadata:
  name: {name}
spec:
  framework: python
  environment: staging
  imageRef: registry.example.com/team/app:1.0.0
"""


class CaseHung(AssertionError):
    """One fuzz case ran past its bound."""


@contextmanager
def bounded(what: str, seconds: float = CASE_BOUND_SECONDS) -> Iterator[None]:
    """Fail (with `what`) instead of hanging when the body runs past `seconds`."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise CaseHung(f"{what}: still running after {seconds:.0f}s (a hang)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def argocd_env(app_dir: Path, **extra: str) -> dict[str, str]:
    """The environment real Argo CD gives the sidecar, for an app at repo/apps/staging/hostile."""
    return plugin_env(
        app_dir,
        app_name="hostile",
        source_path="apps/staging/hostile",
        destination_namespace="staging",
        **extra,
    )


def run_plugin(app_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`plattr-cmp generate` in `app_dir`, as the sidecar runs it (bounded in time)."""
    try:
        return subprocess.run(
            PLUGIN,
            cwd=app_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=PLUGIN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CaseHung(f"plattr-cmp generate in {app_dir} hung past {PLUGIN_TIMEOUT}s") from None


def record(name: str, value: Any) -> None:
    """Add one measured figure to test-artifacts/reliability-figures.json."""
    FIGURES.parent.mkdir(exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures = {k: v for k, v in figures.items() if not k.endswith(".measured_at")}
    figures[name] = value
    figures["_updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


COUNTS: Final[dict[str, int]] = {}
"""Counters of this session (fuzz cases run, hostile inputs tried), written at its end."""


def bump(name: str, by: int = 1) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + by
