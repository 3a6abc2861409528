"""`plattr status` against a running dashboard API: the table, one app with its failing
conditions, JSON, the exit codes, the token, and --watch following the live stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.dashboard_samples import application, preview, put
from cli.main import run
from controller.machinery.cache import ObjectCache
from plattr.api import DEFAULT_PAGE_LIMIT
from tests.support.dashboard_app import TOKEN, serving, token_settings


@pytest.fixture
def cache() -> ObjectCache:
    cache = ObjectCache()
    put(cache, application("shop", "production"))
    put(cache, application("shop", "staging", "Failed"))
    put(cache, application("blog", "uat"))
    put(cache, preview("shop", 42))
    return cache


@pytest.fixture
def api(cache: ObjectCache, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serving(cache) as url:
        monkeypatch.setenv("PLATTR_API_URL", url)
        yield url


@pytest.mark.usefixtures("api")
def test_table_of_every_app(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["APP", "ENV", "PHASE", "URL", "PROBLEM"]
    assert [line.split()[:3] for line in lines[1:4]] == [
        ["blog", "uat", "Running"],
        ["shop", "production", "Running"],
        ["shop", "staging", "Failed"],
    ]
    assert "DatabaseReady: DatabaseUnreachable" in lines[3]
    assert lines[4].split()[:4] == ["shop", "#42", "previews", "Running"]


def test_every_page_of_a_long_list(
    cache: ObjectCache, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(DEFAULT_PAGE_LIMIT):
        put(cache, application(f"app-{n:04d}", "uat"))
    assert run(["status", "--env", "uat", "-o", "json"]) == 0
    listed = [(item["name"], item["environment"]) for item in json.loads(capsys.readouterr().out)]
    assert listed == [
        *((f"app-{n:04d}", "uat") for n in range(DEFAULT_PAGE_LIMIT)),
        ("blog", "uat"),
    ]


@pytest.mark.usefixtures("api")
def test_one_app_with_its_failing_conditions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "shop", "--env", "staging"]) == 0
    out = capsys.readouterr().out
    assert "shop  staging" in out
    assert "production" not in out
    assert "staging: DatabaseReady False (DatabaseUnreachable): could not connect" in out


@pytest.mark.usefixtures("api")
def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "shop", "-o", "json", "--env", "previews"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert (item["app"], item["pullRequest"]) == ("shop", 42)


@pytest.mark.usefixtures("api")
def test_unknown_app_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "nope"]) == 1
    assert "no app 'nope'" in capsys.readouterr().err


def test_unreachable_api_and_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach the Plattr API at http://127.0.0.1:9" in capsys.readouterr().err
    assert run(["status", "--url", "file:///etc/passwd"]) == 2
    assert run(["status", "--watch"]) == 2


@pytest.mark.usefixtures("api")
def test_an_undeclared_environment_is_refused_by_the_api(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The controller holds the declaration, so the API, not the CLI, names the choices."""
    assert run(["status", "--env", "moon"]) == 1
    err = capsys.readouterr().err
    assert "'moon' is not a declared environment; declared: production, staging, uat" in err


def test_token_from_the_environment(
    cache: ObjectCache, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(cache, token_settings()) as url:
        monkeypatch.setenv("PLATTR_API_URL", url)
        assert run(["status"]) == 1
        assert "set PLATTR_API_TOKEN" in capsys.readouterr().err
        monkeypatch.setenv("PLATTR_API_TOKEN", TOKEN)
        assert run(["status", "blog"]) == 0
        assert TOKEN not in capsys.readouterr().out


def test_watch_prints_each_change(cache: ObjectCache, api: str) -> None:
    plattr = str(Path(sys.executable).parent / "plattr")
    env = {**os.environ, "PLATTR_API_URL": api, "PYTHONUNBUFFERED": "1"}
    seen = threading.Event()

    def change_until_seen() -> None:  # the first changes may come before the stream opens
        while not seen.wait(0.2):
            put(cache, application("shop", "uat", "Provisioning"))

    changer = threading.Thread(target=change_until_seen, daemon=True)
    with subprocess.Popen(
        [plattr, "status", "shop", "--watch"], stdout=subprocess.PIPE, text=True, env=env
    ) as watcher:
        changer.start()
        try:
            assert watcher.stdout is not None
            line = watcher.stdout.readline()
        finally:
            seen.set()
            watcher.terminate()
    changer.join()
    assert line.split()[1:4] == ["shop", "uat", "Provisioning"]
