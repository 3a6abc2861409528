"""A developer's side of the GitOps repo for the end-to-end tests: a clone that commits and
pushes over HTTP as to a forge, and the small app they push."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml


def greeter(environment: str, **overrides: Any) -> dict[str, Any]:
    """An app with a database and no Ingress, so Argo CD's health of it rests on the
    Deployment and the Plattr Application alone."""
    return {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "greeter"},
        "spec": {
            "framework": "custom",
            "environment": environment,
            "imageRef": "registry.example.test/greeter:1.0.0",
            "port": 8080,
            "ingress": {"enabled": False},
            "database": {"enabled": True},
            **overrides,
        },
    }


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
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
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
