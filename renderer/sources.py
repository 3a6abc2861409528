"""Finding, reading and validating spec documents in files and directories.

A document is a Plattr spec when its `apiVersion` is in our group, or when it is a bare
`kind: Application` with a wrong or missing `apiVersion` (so that a typo is reported, not
skipped). Every other document (kustomize patches, plain manifests) is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, NamedTuple

from plattr.models import GROUP, Application
from plattr.validation import FieldError, InvalidDocument, decode
from plattr.yamlio import YamlError, iter_paths, line_of, load_all

YAML_SUFFIXES: Final = (".yaml", ".yml")
KUSTOMIZATION_FILES: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FOREIGN_GROUPS: Final = ("argoproj.io/",)
"""Argo CD has a kind `Application` too; its documents are not ours."""


class Problem(NamedTuple):
    """One thing wrong with the input, located as precisely as we can."""

    source: str
    line: int | None
    error: FieldError

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.error}"


class SpecErrors(Exception):
    """Everything wrong with a set of inputs, reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class SpecDocument(NamedTuple):
    source: str
    position: int
    data: Any
    text: str


def find_kustomization(directory: Path) -> Path | None:
    """The directory's kustomization file, if it has one (a symlink does not count)."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def is_spec(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    api_version = document.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith(f"{GROUP}/"):
        return True
    if isinstance(api_version, str) and api_version.startswith(FOREIGN_GROUPS):
        return False
    return document.get("kind") == "Application"


def yaml_files(path: Path, *, recursive: bool = True) -> list[Path]:
    """`path` itself, or the YAML files under it (sorted, hidden and kustomize files skipped)."""
    if not path.is_dir():
        return [path]
    pattern = "**/*" if recursive else "*"
    return sorted(
        file
        for file in path.glob(pattern)
        if file.suffix in YAML_SUFFIXES
        and file.name not in KUSTOMIZATION_FILES
        and not any(part.startswith(".") for part in file.relative_to(path).parts)
        and file.is_file()
    )


def read_specs(paths: Iterable[Path], *, recursive: bool = True) -> list[SpecDocument]:
    """Every spec document in `paths`; `SpecErrors` for unreadable or unparseable files."""
    documents: list[SpecDocument] = []
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            problems.append(Problem(str(path), None, FieldError("", "no such file or directory")))
            continue
        for file in yaml_files(path, recursive=recursive):
            try:
                text = file.read_text(encoding="utf-8")
                loaded = load_all(text, str(file))
            except (OSError, UnicodeDecodeError, YamlError) as error:
                problems.append(Problem(str(file), None, FieldError("", str(error))))
                continue
            documents += [
                SpecDocument(str(file), index, data, text)
                for index, data in enumerate(loaded)
                if is_spec(data)
            ]
    if problems:
        raise SpecErrors(problems)
    return documents


def decode_applications(documents: Iterable[SpecDocument]) -> list[Application]:
    """The documents as Applications; `SpecErrors` with every problem of every document."""
    applications: list[Application] = []
    problems: list[Problem] = []
    for document in documents:
        try:
            applications.append(decode(document.data, Application))
        except InvalidDocument as invalid:
            problems += [
                Problem(
                    document.source,
                    line_of(document.text, document.position, iter_paths(error.path)),
                    error,
                )
                for error in invalid.errors
            ]
    if problems:
        raise SpecErrors(problems)
    return applications
