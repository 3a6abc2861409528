"""Kustomize post-processing: the rendered manifests become a base the user's
`kustomization.yaml` patches.

The app directory is copied into a private temporary directory (regular files only: a
symlink, or a path that leaves the directory, is refused), the rendered stream is added
to the copy's `resources`, and kustomize builds it with load restrictions on. We never pass
the flags that enable exec/KRM plugins or Helm, and we refuse remote resources, so nothing
but files of the app directory is read and nothing is executed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from plattr.yamlio import YamlError, dump_all, load_all
from renderer.errors import KustomizeError
from renderer.sources import find_kustomization

RENDERED_FILE: Final = "plattr-rendered.yaml"
TIMEOUT_SECONDS: Final = 60
MAX_FILES: Final = 500
REFERENCE_FIELDS: Final = ("resources", "components", "patchesStrategicMerge", "crds")
_KLOG_HEADER: Final = re.compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] ")
FORBIDDEN_FIELDS: Final = ("helmCharts", "helmGlobals", "helmChartInflationGenerator")


def kustomize_command() -> list[str]:
    """`kustomize build` where installed, else kubectl's built-in kustomize."""
    if shutil.which("kustomize"):
        return ["kustomize", "build", "--load-restrictor", "LoadRestrictionsRootOnly"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsRootOnly"]
    raise KustomizeError(
        "this app has a kustomization.yaml but neither kustomize nor kubectl is on PATH; "
        "install one of them in the plugin image"
    )


class Retarget(NamedTuple):
    """For a preview: the app's object names and namespace as the preview has them, so that
    patches written against the app (`name: reports`, `namespace: staging`) reach the
    preview's objects (`reports-pr-7` in `preview-reports-pr-7`)."""

    names: Mapping[str, str]
    namespaces: Mapping[str, str]


def post_process(
    app_dir: str, manifests: list[dict[str, Any]], retarget: Retarget | None = None
) -> list[dict[str, Any]]:
    """`manifests` patched by the kustomization in `app_dir`."""
    found = find_kustomization(app_dir)
    if found is None:
        return manifests
    directory, kustomization_path = Path(app_dir), Path(found)
    command = kustomize_command()
    with tempfile.TemporaryDirectory(prefix="plattr-kustomize-") as scratch:
        work = Path(scratch) / "app"
        _copy_app_dir(directory.resolve(), work)
        kustomization = _checked_kustomization(kustomization_path)
        if retarget is not None:
            _retarget_patches(kustomization, work, retarget)
        kustomization["resources"] = [RENDERED_FILE, *kustomization.get("resources", [])]
        (work / RENDERED_FILE).write_text(dump_all(manifests), encoding="utf-8")
        (work / kustomization_path.name).write_text(dump_all([kustomization]), "utf-8")
        try:
            result = subprocess.run(
                [*command, str(work)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                env={"PATH": os.environ.get("PATH", ""), "HOME": scratch},
                cwd=scratch,
            )
        except subprocess.TimeoutExpired:
            raise KustomizeError(f"kustomize took longer than {TIMEOUT_SECONDS}s") from None
    if result.returncode != 0:
        raise KustomizeError(f"kustomize failed: {_readable(result.stderr, work, directory)}")
    try:
        return [doc for doc in load_all(result.stdout, "kustomize output") if doc is not None]
    except YamlError as error:
        raise KustomizeError(str(error)) from None


def _retarget_patches(kustomization: dict[str, Any], work: Path, retarget: Retarget) -> None:
    """Point the kustomization's patches at the preview's names and namespace."""
    for entry in kustomization.get("patches") or []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("target"), dict):
            _retarget_reference(entry["target"], retarget)
        if isinstance(entry.get("path"), str):
            _retarget_file(work / entry["path"], retarget)
        if isinstance(entry.get("patch"), str):
            entry["patch"] = _retarget_text(entry["patch"], retarget)
    strategic = kustomization.get("patchesStrategicMerge") or []
    for index, entry in enumerate(strategic):
        if (work / entry).is_file():
            _retarget_file(work / entry, retarget)
        else:
            strategic[index] = _retarget_text(entry, retarget)
    for entry in kustomization.get("replicas") or []:
        _retarget_reference(entry, retarget)


def _retarget_reference(reference: dict[str, Any], retarget: Retarget) -> None:
    if reference.get("name") in retarget.names:
        reference["name"] = retarget.names[reference["name"]]
    if reference.get("namespace") in retarget.namespaces:
        reference["namespace"] = retarget.namespaces[reference["namespace"]]


def _retarget_file(path: Path, retarget: Retarget) -> None:
    if path.is_file():
        path.write_text(_retarget_text(path.read_text(encoding="utf-8"), retarget), "utf-8")


def _retarget_text(text: str, retarget: Retarget) -> str:
    """A strategic-merge patch with its metadata retargeted; anything else unchanged."""
    try:
        documents = load_all(text, "patch")
    except YamlError:
        return text  # kustomize reports it, with its own words
    objects = [doc for doc in documents if isinstance(doc, dict)]
    if not objects or len(objects) != len([d for d in documents if d is not None]):
        return text
    for document in objects:
        if isinstance(document.get("metadata"), dict):
            _retarget_reference(document["metadata"], retarget)
    return dump_all(objects)


def _readable(stderr: str, work: Path, directory: Path) -> str:
    """kustomize's message without kubectl's log framing or our scratch paths."""
    lines = [
        line.strip()
        for line in stderr.replace(str(work), directory.name).splitlines()
        if not _KLOG_HEADER.match(line) and line.strip() not in ("", ">")
    ]
    return " ".join(lines)


def _checked_kustomization(path: Path) -> dict[str, Any]:
    try:
        documents = load_all(path.read_text(encoding="utf-8"), path.name)
    except YamlError as error:
        raise KustomizeError(str(error)) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise KustomizeError(f"{path.name}: must hold exactly one mapping")
    kustomization: dict[str, Any] = documents[0]
    for field in FORBIDDEN_FIELDS:
        if field in kustomization:
            raise KustomizeError(
                f"{path.name}: {field} is not allowed (Helm is off in Plattr's kustomize); "
                "render the chart elsewhere or drop it"
            )
    for field in REFERENCE_FIELDS:
        for entry in kustomization.get(field) or []:
            _check_reference(path.name, field, entry)
    return kustomization


def _check_reference(file_name: str, field: str, entry: object) -> None:
    if not isinstance(entry, str):
        raise KustomizeError(f"{file_name}: {field} entries must be relative paths")
    if "://" in entry or entry.startswith(("github.com/", "git@", "/")) or "?ref=" in entry:
        raise KustomizeError(
            f"{file_name}: {field} entry {entry!r} is remote or absolute; only files of the "
            "app directory may be used"
        )
    if ".." in Path(entry).parts:
        raise KustomizeError(
            f"{file_name}: {field} entry {entry!r} leaves the app directory; move the file in"
        )


def _copy_app_dir(source: Path, destination: Path) -> None:
    """Copy regular files and directories; refuse symlinks and oversized trees."""
    count = 0
    for root, dirs, files in os.walk(source, followlinks=False):
        relative = Path(root).relative_to(source)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in [*files, *dirs]:
            if (Path(root) / name).is_symlink():
                raise KustomizeError(
                    f"{relative / name} is a symlink; the plugin reads only regular files of "
                    "the app directory"
                )
        for name in files:
            count += 1
            if count > MAX_FILES:
                raise KustomizeError(f"the app directory holds more than {MAX_FILES} files")
            shutil.copyfile(Path(root) / name, destination / relative / name)
