"""A developer's clone of the local platform's GitOps repo: commit and push over HTTP as to a
forge (the push reaches Argo CD by webhook). Used by the end-to-end tests and the benchmarks."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from devstack.errors import StackError


class Clone:
    """A clone of the GitOps repo in `path` (`Clone.of(url, path)` makes one)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, url: str, path: Path) -> Clone:
        """A fresh clone of `url`, on branch main (an empty repo has no branch yet)."""
        subprocess.run(["git", "clone", "--quiet", url, str(path)], check=True, timeout=60)
        clone = cls(path)
        clone.git("checkout", "-B", "main")
        return clone

    def git(self, *args: str) -> str:
        argv = ["git", "-C", str(self.path), "-c", "user.name=dev", "-c", "user.email=dev@test"]
        done = subprocess.run(
            [*argv, *args], capture_output=True, text=True, check=False, timeout=60
        )
        if done.returncode != 0:
            raise StackError(f"git {' '.join(args)} in {self.path}: {done.stderr.strip()}")
        return done.stdout.strip()

    def write_app(self, manifest: dict[str, Any]) -> Path:
        """apps/<environment>/<name>/application.yaml, as a developer adds an app."""
        environment: str = manifest["spec"]["environment"]
        name: str = manifest["metadata"]["name"]
        app_dir = self.path / "apps" / environment / name
        app_dir.mkdir(parents=True, exist_ok=True)
        (app_dir / "application.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        return app_dir

    def push(self, message: str) -> str:
        """Commit everything and push main; returns the commit."""
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)
        self.git("push", "--quiet", "origin", "main")
        return self.git("rev-parse", "HEAD")
