"""`python -m benchmarks [NAME...]`: run the benchmarks (all by default) and print figures."""

from __future__ import annotations

import importlib
import sys
from typing import Final

BENCHMARKS: Final = {
    "render": "benchmarks.render_bench",
    "dashboard": "benchmarks.dashboard_bench",
    "controller": "benchmarks.controller_bench",
    "keycloak": "benchmarks.keycloak_bench",
    "drift": "benchmarks.drift_bench",
    "scale": "benchmarks.scale_bench",
    "monorepo": "benchmarks.monorepo_bench",
}


def main(names: list[str]) -> None:
    for name in names or list(BENCHMARKS):
        print(f"== {name} ==", flush=True)
        importlib.import_module(BENCHMARKS[name]).main()
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
