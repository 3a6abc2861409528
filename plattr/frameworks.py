"""Per-framework defaults: the one table to read when a default surprises you."""

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


DEFAULTS: Final[dict[Framework, FrameworkDefaults]] = {
    "nextjs": FrameworkDefaults(3000, "http", "/", "100m", "256Mi", "512Mi", False, 1001),
    "node": FrameworkDefaults(3000, "http", "/healthz", "100m", "128Mi", "512Mi", True, 1001),
    "python": FrameworkDefaults(8000, "http", "/healthz", "100m", "128Mi", "512Mi", True, 1001),
    "go": FrameworkDefaults(8080, "http", "/healthz", "50m", "64Mi", "256Mi", True, 65532),
    "java": FrameworkDefaults(8080, "http", "/actuator/health", "250m", "512Mi", "1Gi", True, 1001),
    "static": FrameworkDefaults(8080, "http", "/", "25m", "32Mi", "128Mi", False, 101),
    "custom": FrameworkDefaults(8080, "tcp", None, "100m", "128Mi", "512Mi", False, 10001),
}
