"""The manifest diff a reviewer reads: two renders (directories or git refs), object by object."""

from __future__ import annotations

import difflib
import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plattr.errors import PlattrError
from plattr.yamlio import dump_all

Manifest = dict[str, Any]


class SourceError(PlattrError):
    """A side of the diff is neither a directory nor a git ref that holds the path."""


def object_key(manifest: Manifest) -> str:
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))
    return f"{manifest.get('kind')} {name}"


def diff_manifests(base: list[Manifest], head: list[Manifest]) -> str:
    """Unified diffs of every object added, removed or changed, in a stable order."""
    before = {object_key(m): dump_all([m]) for m in base}
    after = {object_key(m): dump_all([m]) for m in head}
    chunks: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, ""), after.get(key, "")
        if old == new:
            continue
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"base/{key}" if old else "/dev/null",
                tofile=f"head/{key}" if new else "/dev/null",
            )
        )
    return "".join(chunks)


def materialise(source: str, scratch: Path, path_in_repo: str) -> Path:
    """`source` itself when it is a directory, else the tree of git ref `source` at
    `path_in_repo`, extracted into `scratch` (no checkout, no hooks, no symlinks)."""
    if Path(source).is_dir():
        return Path(source)
    result = subprocess.run(
        ["git", "archive", "--format=tar", source, "--", path_in_repo],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise SourceError(
            f"{source!r} is neither a directory nor a git ref with {path_in_repo!r}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    target = scratch / source.replace("/", "_")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(target, filter="data")
    return target / path_in_repo


def diff_sources(
    base: str,
    head: str,
    path_in_repo: str,
    scratch: Path,
    render: Callable[[Path], list[Manifest]],
) -> str:
    return diff_manifests(
        render(materialise(base, scratch, path_in_repo)),
        render(materialise(head, scratch, path_in_repo)),
    )
