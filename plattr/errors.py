"""The root of Plattr's own errors, and the exit codes every command shares.

Everything Plattr raises on purpose derives from `PlattrError` and carries a message for
people: the field or setting, the value, and the fix. Anything else that escapes is a bug of
ours, and every entry point says so ("internal error ...; please report it") instead of
dressing it up as a user's mistake. Each package defines the few subclasses it needs next to
the code that raises them (`renderer.errors`, `controller.errors`, ...).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of `plattr`, `plattr-cmp` and `plattr-controller`."""

    OK = 0
    INVALID = 1
    """Invalid input, or the work could not be done; the message says why."""
    USAGE = 2
    """A missing or malformed flag, setting or environment variable."""
    CHANGED = 3
    """`plattr diff --exit-code` found differences."""
    TERMINATED = 143
    """SIGTERM arrived before the work finished (128 + 15, the shell's convention)."""


class PlattrError(Exception):
    """An error Plattr raises on purpose; its message is written for the person who can fix it."""

    exit_code: ExitCode = ExitCode.INVALID


class SettingsError(PlattrError):
    """A platform setting (flag, environment variable, settings file) is missing or malformed."""

    exit_code = ExitCode.USAGE
