"""Keeps secrets out of messages that end in logs, Events and status conditions."""

from __future__ import annotations

REDACTED = "[REDACTED]"


def redact(message: str, *secrets: str | None) -> str:
    """`message` with every non-empty secret replaced, longest first (one may contain another)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, REDACTED)
    return message
