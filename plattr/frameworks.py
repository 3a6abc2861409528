"""Per-framework defaults: the one table to read when a default surprises you.

Probes (docs/workloads.md explains each choice): readiness (`probe_type`, `probe_path`) says
"send me traffic"; liveness (`liveness_path`) says only "the process is alive", so a busy pod
that leaves the Service's endpoints is not also restarted. A framework with a liveness endpoint
of its own (Spring Boot's `/actuator/health/liveness`) is asked there; every other one is
checked with a TCP connect to its port. A startup probe (`startup_probe`) only where the
runtime takes long to start (the JVM); elsewhere liveness's own budget covers start-up.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

Framework = Literal["nextjs", "node", "python", "go", "java", "static", "custom"]


class FrameworkDefaults(NamedTuple):
    port: int
    probe_type: Literal["http", "tcp"]
    probe_path: str | None
    cpu_request: str
    memory_request: str
    memory_limit: str
    read_only_root_fs: bool
    """False where the runtime writes next to its code (Next.js cache, nginx temp)."""
    run_as_user: int
    liveness_path: str | None = None
    """The framework's own liveness endpoint; `None`: a TCP check on the port."""
    startup_probe: bool = False
    """Whether start-up is slow enough to need its own budget before liveness applies."""


DEFAULTS: Final[dict[Framework, FrameworkDefaults]] = {
    "nextjs": FrameworkDefaults(3000, "http", "/", "100m", "256Mi", "512Mi", False, 1001),
    "node": FrameworkDefaults(3000, "http", "/healthz", "100m", "128Mi", "512Mi", True, 1001),
    "python": FrameworkDefaults(8000, "http", "/healthz", "100m", "128Mi", "512Mi", True, 1001),
    "go": FrameworkDefaults(8080, "http", "/healthz", "50m", "64Mi", "256Mi", True, 65532),
    "java": FrameworkDefaults(
        8080,
        "http",
        "/actuator/health",
        "250m",
        "512Mi",
        "1Gi",
        True,
        1001,
        liveness_path="/actuator/health/liveness",
        startup_probe=True,
    ),
    "static": FrameworkDefaults(8080, "http", "/", "25m", "32Mi", "128Mi", False, 101),
    "custom": FrameworkDefaults(8080, "tcp", None, "100m", "128Mi", "512Mi", False, 10001),
}
