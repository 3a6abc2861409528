"""The errors the renderer raises on purpose, each a `plattr.errors.PlattrError` whose message
names the file, field or setting, the value, and the fix."""

from __future__ import annotations

from typing import NamedTuple

from plattr.errors import PlattrError
from plattr.validation import FieldError


class RenderError(PlattrError):
    """A spec that validates but cannot be rendered with these options; says what to set."""


class KustomizeError(RenderError):
    """The kustomization was refused, or kustomize failed (its own message included)."""


class Problem(NamedTuple):
    """One thing wrong with the input, located as precisely as we can."""

    source: str
    line: int | None
    error: FieldError

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.error}"


class SpecErrors(PlattrError):
    """Everything wrong with a set of inputs, reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems
