"""JSON log lines carry their extra fields and never a password."""

from __future__ import annotations

import json
import logging

from controller.logs import JsonFormatter


def line(formatter: JsonFormatter, message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("controller", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    parsed: dict[str, object] = json.loads(formatter.format(record))
    return parsed


def test_a_line_is_json_with_app_namespace_and_generation() -> None:
    parsed = line(JsonFormatter(), "status Running", app="shop", namespace="staging", generation=3)
    assert (parsed["message"], parsed["app"], parsed["namespace"], parsed["generation"]) == (
        "status Running",
        "shop",
        "staging",
        3,
    )
    assert parsed["level"] == "INFO"


def test_registered_secrets_and_url_passwords_are_masked() -> None:
    formatter = JsonFormatter(secrets=["kc-admin-pw"])
    parsed = line(formatter, "login kc-admin-pw failed", url="postgresql://admin:hunter2@db:5432/x")
    assert "kc-admin-pw" not in json.dumps(parsed)
    assert parsed["url"] == "postgresql://admin:***@db:5432/x"
