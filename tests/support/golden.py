"""Golden renders of the gitops-repo-template apps: `make golden` (`python -m
tests.support.golden --update`) rewrites them; tests/unit/test_golden.py fails on any
difference."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from plattr.yamlio import dump_all
from renderer.options import RenderOptions
from renderer.pipeline import render_paths

ROOT: Final = Path(__file__).resolve().parents[2]
APPS: Final = ROOT / "gitops-repo-template" / "apps"
GOLDEN: Final = ROOT / "tests" / "golden"
OPTIONS: Final = RenderOptions(base_domain="apps.example.com", aws_account_id="123456789012")


def app_dirs() -> list[Path]:
    return sorted(path.parent for path in APPS.glob("*/*/application.yaml"))


def golden_path(app_dir: Path) -> Path:
    return GOLDEN / app_dir.parent.name / f"{app_dir.name}.yaml"


def render_app_dir(app_dir: Path) -> str:
    return dump_all(render_paths([app_dir], OPTIONS, recursive=False))


def update() -> None:
    for app_dir in app_dirs():
        path = golden_path(app_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_app_dir(app_dir), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.support.golden --update")
    update()
