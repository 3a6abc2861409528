"""A GitOps repo's platform settings: `plattr-settings.yaml` at the repository's root.

```yaml
baseDomain: apps.example.com   # apps live under it
awsAccountId: "123456789012"   # for the IAM role ARN of apps with storage
```

`plattr` finds the file from the first path it is given (else the working directory)
upwards, stopping at the directory that holds `.git`, or at `/`. Flags and the environment
(`BASE_DOMAIN`, `AWS_ACCOUNT_ID`) override it. The Argo CD plugin never reads it: its settings
come from Argo CD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

from plattr.errors import SettingsError
from plattr.settings import aws_account_id_problem, base_domain_problem
from plattr.validation import InvalidDocument, decode
from plattr.yamlio import MAX_DOCUMENT_BYTES, YamlError, load_all

SETTINGS_FILE: Final = "plattr-settings.yaml"


class RepoSettings(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True
):
    """What the file may hold; every key is optional."""

    base_domain: str | None = None
    aws_account_id: str | None = None


class FoundSettings(msgspec.Struct, frozen=True):
    path: Path
    settings: RepoSettings

    def source(self, key: str) -> str:
        """Where a value came from, for messages: `<file>: <key>`."""
        return f"{self.path}: {key}"


def find_settings_file(start: Path) -> Path | None:
    """`plattr-settings.yaml` in `start` (a file's directory) or above it, up to the
    repository's root (the directory holding `.git`) or `/`."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        path = candidate / SETTINGS_FILE
        if path.is_file():
            return path
        if (candidate / ".git").exists():
            return None
    return None


def read_settings(path: Path) -> RepoSettings:
    """The file's settings, each checked by the rule every part of Plattr applies to it."""
    try:
        with path.open(encoding="utf-8") as stream:
            text = stream.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot read it: {error}") from None
    try:
        documents = load_all(text, str(path))
    except YamlError as error:
        raise SettingsError(str(error)) from None
    document = documents[0] if len(documents) == 1 else None
    if not isinstance(document, dict):
        raise SettingsError(
            f"{path}: must hold one mapping with baseDomain and/or awsAccountId, such as "
            "`baseDomain: apps.example.com`"
        )
    try:
        settings = decode(document, RepoSettings)
    except InvalidDocument as invalid:
        raise SettingsError("\n".join(f"{path}: {error}" for error in invalid.errors)) from None
    checks = (
        ("baseDomain", settings.base_domain, base_domain_problem),
        ("awsAccountId", settings.aws_account_id, aws_account_id_problem),
    )
    for key, value, check in checks:
        problem = None if value is None else check(value)
        if problem:
            raise SettingsError(f"{path}: {key}: {problem}")
    return settings


def find_settings(start: Path) -> FoundSettings | None:
    """The settings of the GitOps repo that holds `start`, if it has the file."""
    path = find_settings_file(start)
    return None if path is None else FoundSettings(path, read_settings(path))
