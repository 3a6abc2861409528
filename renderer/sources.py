"""Finding, reading and validating spec documents in files and directories.

A document is a Plattr spec when its `apiVersion` is in our group, or when it is a bare
`kind: Application` with a wrong or missing `apiVersion` (so that a typo is reported, not
skipped). Every other document (kustomize patches, plain manifests) is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from plattr.environments import Environments
from plattr.models import GROUP, Application
from plattr.validation import FieldError, InvalidDocument, decode
from plattr.yamlio import MAX_DOCUMENT_BYTES, YamlError, iter_paths, line_of, load_all
from renderer.errors import Problem, SpecErrors

YAML_SUFFIXES: Final = (".yaml", ".yml")
KUSTOMIZATION_FILES: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FOREIGN_GROUPS: Final = ("argoproj.io/",)
ENVIRONMENT_FIELD: Final = "spec.environment"
"""Argo CD has a kind `Application` too; its documents are not ours."""
_SYMLINK: Final = "is a symlink; specs must be regular files of the repository"


class SpecDocument(NamedTuple):
    source: str
    position: int
    data: Any
    text: str


def find_kustomization(directory: str) -> str | None:
    """The directory's kustomization file, if it has one (a symlink does not count)."""
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and not os.path.islink(candidate):
            return candidate
    return None


def is_spec(document: Any) -> bool:
    """Whether a parsed YAML document is ours to validate (see the module's docstring)."""
    if not isinstance(document, dict):
        return False
    api_version = document.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith(f"{GROUP}/"):
        return True
    if isinstance(api_version, str) and api_version.startswith(FOREIGN_GROUPS):
        return False
    return document.get("kind") == "Application"


def yaml_files(path: str, *, recursive: bool = True) -> list[str]:
    """`path` itself, or the YAML files under it (sorted; hidden and kustomize files skipped)."""
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []
    for root, dirs, files in os.walk(path):  # never follows directory symlinks
        dirs[:] = [name for name in dirs if recursive and not name.startswith(".")]
        found += [
            os.path.join(root, name)
            for name in files
            if name.endswith(YAML_SUFFIXES)
            and not name.startswith(".")
            and name not in KUSTOMIZATION_FILES
        ]
    return sorted(found)


def read_specs(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True
) -> list[SpecDocument]:
    """Every spec document in `paths`; `SpecErrors` for unreadable or unparseable files.

    Symlinks are refused: a spec is a regular file of the repository, and following a link
    could read (and echo in an error) a file from outside it.
    """
    documents: list[SpecDocument] = []
    problems: list[Problem] = []
    for path in [os.fspath(each) for each in paths]:
        if not os.path.lexists(path):
            problems.append(Problem(path, None, FieldError("", "no such file or directory")))
            continue
        for file in yaml_files(path, recursive=recursive):
            if os.path.islink(file):
                problems.append(Problem(file, None, FieldError("", _SYMLINK)))
                continue
            try:
                with open(file, encoding="utf-8") as stream:
                    text = stream.read(MAX_DOCUMENT_BYTES + 1)
                loaded = load_all(text, file)
            except (OSError, UnicodeDecodeError, YamlError) as error:
                problems.append(Problem(file, None, FieldError("", str(error))))
                continue
            documents += [
                SpecDocument(file, index, data, text)
                for index, data in enumerate(loaded)
                if is_spec(data)
            ]
    if problems:
        raise SpecErrors(problems)
    return documents


def decode_applications(
    documents: Iterable[SpecDocument], environments: Environments
) -> list[Application]:
    """The documents as Applications in `environments`' declared environments; `SpecErrors`
    with every problem of every document."""
    applications: list[Application] = []
    problems: list[Problem] = []
    for document in documents:
        try:
            app = decode(document.data, Application)
        except InvalidDocument as invalid:
            errors = invalid.errors
        else:
            applications.append(app)
            if app.spec.environment in environments:
                continue
            reason = environments.undeclared_reason(app.spec.environment)
            errors = [FieldError(ENVIRONMENT_FIELD, reason)]
        problems += [
            Problem(
                document.source,
                line_of(document.text, document.position, iter_paths(error.path)),
                error,
            )
            for error in errors
        ]
    if problems:
        raise SpecErrors(problems)
    return applications
