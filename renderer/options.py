"""The platform's options for a render, validated when they are made.

`plattr render` (flags, environment, the GitOps repo's settings file) and `plattr-cmp` (Argo
CD's parameters and env) both build these types, so a value one refuses the other refuses too,
with the same rule. A refused value raises `InvalidOption`, which names the option and the
rule; the entry point adds where the value came from (`InvalidOption.came_from`).
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from plattr import environments as declared
from plattr import patterns
from plattr.environments import Environments
from plattr.errors import SettingsError
from plattr.settings import aws_account_id_problem, base_domain_problem

DEFAULT_TTL: Final = "72h"
MAX_PULL_REQUEST: Final = 999_999_999
_IMAGE_TAG: Final = re.compile(r"[\w][\w.-]{0,127}")
_HEAD_SHA: Final = re.compile(r"[0-9a-f]{7,40}")
_TTL: Final = re.compile(patterns.TTL)
_IMAGE_REPOSITORY: Final = re.compile(patterns.IMAGE_REPOSITORY)

WHAT: Final = {
    "base_domain": "base domain",
    "aws_account_id": "AWS account id",
    "environment": "environment override",
    "pull_request": "preview PR number",
    "image_tag": "preview image tag",
    "head_sha": "preview head SHA",
    "ttl": "preview TTL",
    "image_repository": "preview image repository",
}
"""Each option's name for people, by field."""


class InvalidOption(SettingsError):
    """A render option whose value breaks its rule; names the option, the value and the rule,
    and, once the entry point knows it, where the value came from."""

    def __init__(self, field: str, problem: str, source: str | None = None) -> None:
        where = f" (from {source})" if source else ""
        super().__init__(f"{WHAT[field]}{where}: {problem}")
        self.field = field
        self.problem = problem

    def came_from(self, source: str) -> InvalidOption:
        """The same error, naming the flag, variable, parameter or file the value came from."""
        return InvalidOption(self.field, self.problem, source)


def pull_request_number(text: str) -> int:
    """A preview's pull request number given as text (plugin parameters are text)."""
    if not text.isdigit():
        raise InvalidOption("pull_request", _pull_request_problem(text))
    return int(text)


def _pull_request_problem(value: object) -> str:
    return f"{value!r} is not a pull request number (a whole number from 1 to {MAX_PULL_REQUEST})"


class PreviewParams(msgspec.Struct, frozen=True):
    """Render the app as the preview of pull request `pull_request`."""

    pull_request: int
    image_tag: str | None = None
    """The preview image's tag; else `<app>-<head_sha>`; else the spec's image."""
    head_sha: str | None = None
    ttl: str = DEFAULT_TTL
    image_repository: str | None = None
    """Where preview images are pushed (`<registry>/<path>`, no tag), e.g. an ECR repository
    for previews apart from the apps'; else the spec image's repository. Used only with a
    preview tag (`image_tag` or `head_sha`)."""

    def __post_init__(self) -> None:
        if not 1 <= self.pull_request <= MAX_PULL_REQUEST:
            raise InvalidOption("pull_request", _pull_request_problem(self.pull_request))
        if self.image_tag is not None and not _IMAGE_TAG.fullmatch(self.image_tag):
            raise InvalidOption(
                "image_tag",
                f"{self.image_tag!r} is not an image tag (up to 128 letters, digits, '_', '.' "
                "and '-', not starting with '.' or '-')",
            )
        if self.head_sha is not None and not _HEAD_SHA.fullmatch(self.head_sha):
            raise InvalidOption(
                "head_sha", f"{self.head_sha!r} is not a commit id (7 to 40 lowercase hex digits)"
            )
        if self.image_repository is not None and not _IMAGE_REPOSITORY.fullmatch(
            self.image_repository
        ):
            raise InvalidOption(
                "image_repository",
                f"{self.image_repository!r} is not an image repository such as "
                "123456789012.dkr.ecr.ca-central-1.amazonaws.com/plattr-previews (a registry and "
                "a lowercase path, without a tag or digest)",
            )
        if not _TTL.fullmatch(self.ttl):
            raise InvalidOption("ttl", f"{self.ttl!r} is not a duration such as 30m, 72h or 7d")


class RenderOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The platform's settings for a render, and the preview to render, if any.

    Change one with `msgspec.structs.replace`, which validates the result again.
    """

    base_domain: str
    aws_account_id: str | None = None
    """For the IRSA role ARN of apps with storage (`None`: such apps cannot be rendered)."""
    environment: str | None = None
    """Render into this environment instead of the spec's."""
    environments: Environments = msgspec.field(default_factory=declared.shipped)
    """The platform's declared environments (`plattr.environments`): the ones an app may
    name, with their namespaces, host patterns and defaults."""
    preview: PreviewParams | None = None
    ingress_namespace: str = "ingress-nginx"
    ingress_class: str = "nginx"
    cluster_issuer: str = "letsencrypt-prod"

    def __post_init__(self) -> None:
        problem = base_domain_problem(self.base_domain)
        if problem:
            raise InvalidOption("base_domain", problem)
        problem = (
            None if self.aws_account_id is None else aws_account_id_problem(self.aws_account_id)
        )
        if problem:
            raise InvalidOption("aws_account_id", problem)
        if self.environment is not None and self.environment not in self.environments:
            raise InvalidOption(
                "environment",
                f"{self.environment!r} is not a declared environment; declared: "
                f"{', '.join(self.environments.names)} (from {self.environments.source})",
            )
