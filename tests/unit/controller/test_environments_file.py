"""The controller's view of the environments declaration: the mounted file, read again when
it changes, the last good one kept when a change does not load."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from controller.config import ConfigError, Settings
from controller.environments_file import WatchedEnvironments
from plattr.environments import ENVIRONMENTS_FILE_VARIABLE, shipped
from tests.unit.controller.test_config import MINIMAL

ONE = "environments:\n  - name: staging\n"
TWO = "environments:\n  - name: staging\n  - name: qa\n    previews: true\n"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_a_file_the_shipped_declaration_applies() -> None:
    assert WatchedEnvironments(None).current() is shipped()


def test_a_changed_file_is_read_at_the_next_check(tmp_path: Path) -> None:
    path = tmp_path / "environments.yaml"
    path.write_text(ONE)
    clock = Clock()
    watched = WatchedEnvironments(path, check_seconds=10, clock=clock)
    first = watched.current()
    assert first.names == ("staging",)
    path.write_text(TWO)
    assert watched.current() is first  # not looked at before the next check
    clock.now = 10
    assert watched.current().names == ("staging", "qa")
    clock.now = 20
    assert watched.current() is watched.current()  # unchanged: the same object, not re-read


def test_a_broken_change_keeps_the_last_good_declaration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "environments.yaml"
    path.write_text(TWO)
    clock = Clock()
    watched = WatchedEnvironments(path, check_seconds=1, clock=clock)
    path.write_text("environments:\n  - name: Bad Name\n")
    clock.now = 1
    with caplog.at_level(logging.ERROR):
        assert watched.current().names == ("staging", "qa")
    assert "the last good one stays in force" in caplog.text
    path.write_text(ONE)
    clock.now = 2
    assert watched.current().names == ("staging",)


def test_the_settings_refuse_a_declaration_that_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "environments.yaml"
    path.write_text("environments:\n  - name: production\n  - name: production\n")
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({**MINIMAL, ENVIRONMENTS_FILE_VARIABLE: str(path)})
    assert f"{ENVIRONMENTS_FILE_VARIABLE}={path}" in str(refused.value)
    assert "'production' declared more than once" in str(refused.value)
    path.write_text(TWO)
    settings = Settings.from_env({**MINIMAL, ENVIRONMENTS_FILE_VARIABLE: str(path)})
    assert settings.environments_file == path
