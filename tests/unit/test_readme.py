"""The README's reference tables say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from plattr.frameworks import DEFAULTS

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()


def test_framework_table_matches_the_defaults() -> None:
    rows = re.findall(
        r"^\| (\w+) \| (\d+) \| (http `(\S+)`|tcp) \| (\S+) / (\S+) \| (\S+) \|", README, re.M
    )
    documented = {row[0]: row for row in rows}
    assert set(documented) == set(DEFAULTS)
    for framework, defaults in DEFAULTS.items():
        _, port, _, path, cpu, memory, limit = documented[framework]
        assert int(port) == defaults.port, framework
        assert (path or None) == defaults.probe_path, framework
        assert (cpu, memory, limit) == (
            defaults.cpu_request,
            defaults.memory_request,
            defaults.memory_limit,
        ), framework


def test_framework_table_names_each_liveness_and_startup_probe() -> None:
    rows = re.findall(r"^\| (\w+) \|.*\| (http `(\S+)`|tcp) \| (5 min|none) \|$", README, re.M)
    documented = {row[0]: row for row in rows}
    assert set(documented) == set(DEFAULTS)
    for framework, defaults in DEFAULTS.items():
        _, _, liveness_path, startup = documented[framework]
        assert (liveness_path or None) == defaults.liveness_path, framework
        assert (startup != "none") is defaults.startup_probe, framework
