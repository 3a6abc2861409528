"""`python -m devstack up|status|down` (what `make up` and `make down` run): the stack runs
in the background, answers, and leaves no process or file behind once down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

pytestmark = pytest.mark.stack


def _devstack(command: str, state_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack", command, f"--state-dir={state_dir}", *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_up_status_down_leaves_nothing_behind(tmp_path: Path):
    state_dir = tmp_path / "plattr"
    up = _devstack("up", state_dir, "--components=kube,postgres")
    assert up.returncode == 0, up.stderr
    assert str(state_dir / "kubeconfig") in up.stdout
    assert "postgres" in up.stdout
    env_file = (state_dir / "env").read_text()
    password = env_file.split("DB_ADMIN_URL='postgresql://plattr_admin:")[1].split("@")[0]
    assert password not in up.stdout  # credentials are pointed to, never printed

    api = client.VersionApi(config.new_client_from_config(str(state_dir / "kubeconfig")))
    assert api.get_code().git_version.startswith("v1.31.")
    assert _devstack("status", state_dir).returncode == 0

    state = json.loads((state_dir / "state.json").read_text())
    pids = [int((state_dir / "devstack.pid").read_text()), *state["processes"].values()]
    down = _devstack("down", state_dir)
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids if _alive(pid)]
    assert not state_dir.exists()
    assert not Path(state["postgres_home"]).exists()
