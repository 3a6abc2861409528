"""The small app the end-to-end tests push to the GitOps repo (devstack.gitclone.Clone)."""

from __future__ import annotations

from typing import Any


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
