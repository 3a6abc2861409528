"""From paths on disk to the final manifest stream: read, validate, render, kustomize, and
check the result against the tenancy rules (`renderer.tenancy`), after every patch.

Shared by `plattr render` and the Argo CD plugin, so both give the same output for the same
app directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from plattr.models import Application
from plattr.validation import FieldError
from renderer import tenancy
from renderer.errors import Problem, SpecErrors
from renderer.options import RenderOptions
from renderer.plan import preview_renames
from renderer.render import render
from renderer.sources import decode_applications, find_kustomization, read_specs

Manifest = dict[str, Any]


def render_paths(
    paths: Iterable[str | os.PathLike[str]], options: RenderOptions, *, recursive: bool = True
) -> list[Manifest]:
    """Render every spec under `paths`; each directory's own kustomization patches its apps."""
    sources = [os.fspath(path) for path in paths]
    documents = read_specs(sources, recursive=recursive)
    if not documents:
        shown = ", ".join(sources)
        raise SpecErrors(
            [
                Problem(
                    shown,
                    None,
                    FieldError(
                        "",
                        "no Application found: expected a YAML document with "
                        "apiVersion: platform.internal/v1alpha1 and kind: Application",
                    ),
                )
            ]
        )
    applications = decode_applications(documents, options.environments)
    by_directory: dict[str, list[Application]] = {}
    for document, app in zip(documents, applications, strict=True):
        by_directory.setdefault(os.path.dirname(document.source) or ".", []).append(app)
    manifests: list[Manifest] = []
    refused: list[Problem] = []
    for directory, apps in by_directory.items():
        final = _render_directory(directory, apps, options)
        refused += tenancy.check(directory, tenancy.tenant(apps, options), final)
        manifests += final
    if refused:
        raise SpecErrors(refused)
    _require_unique(manifests)
    return manifests


def _render_directory(
    directory: str, apps: list[Application], options: RenderOptions
) -> list[Manifest]:
    """The directory's apps rendered, then patched by its kustomization if it has one."""
    rendered = [manifest for app in apps for manifest in render(app, options)]
    if find_kustomization(directory) is None:
        return rendered
    from renderer.kustomize import Retarget, post_process  # only when needed

    renames = preview_renames(apps, options)
    retarget = Retarget(*renames) if renames else None
    return post_process(directory, rendered, retarget)


def _require_unique(manifests: list[Manifest]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for manifest in manifests:
        metadata = manifest.get("metadata") or {}
        key = (manifest.get("kind", ""), metadata.get("namespace", ""), metadata.get("name", ""))
        if key in seen:
            kind, namespace, name = key
            raise SpecErrors(
                [
                    Problem(
                        f"{namespace}/{name}",
                        None,
                        FieldError(
                            "metadata.name",
                            f"two specs render the same {kind}; give each app a unique name "
                            "per environment",
                        ),
                    )
                ]
            )
        seen.add(key)
