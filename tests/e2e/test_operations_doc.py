"""Every command of docs/operations.md, run as an operator would, against a local platform.

The page's `bash` blocks carry a marker (its section "How the commands on this page are
tested"): `<!-- ops-test -->` blocks run here in the page's order, each in a fresh
`bash -euo pipefail` in one working directory, with `expect="..."` checked in the output;
`<!-- not run locally: REASON -->` blocks are only checked for their reason. The platform is
an API server of this module's own (the page installs the chart into it, as a new cluster),
with kwok's simulated nodes, the session's PostgreSQL, moto and Keycloak, and
`plattr-controller` running as a process whose log and port 9090 the simulated pods of the
chart's Deployment stand in for (devstack's PodStandIn): `kubectl logs` and
`kubectl port-forward` of those pods reach the real controller.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack import ControlPlane, Keycloak, Moto, Postgres, start_control_plane, wait_until
from devstack.controllers import PodStandIn, start_kube_controllers
from devstack.ports import LOOPBACK, free_port
from devstack.process import Service, spawn
from devstack.tools import binary
from tests.support.controller_harness import controller_env
from tests.support.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "operations.md"
TEMPLATE = ROOT / "gitops-repo-template"
BIN = Path(sys.executable).parent
SYSTEM_NAMESPACE = "plattr-system"
CONTROLLER_PORT = 9090  # the chart's `port`: what the Service and the pods expose
BLOCK_TIMEOUT = 600.0
# What the page's commands expect from the operator's shell (the page lists them).
GITHUB_CLIENT = {"GITHUB_CLIENT_ID": "ops-doc-github", "GITHUB_CLIENT_SECRET": "gh-ops-doc"}

FENCE = re.compile(r"^```(\w*)\s*$")
RUN = re.compile(r'^<!-- ops-test(?: expect="(?P<expect>[^"]+)")? -->$')
NOT_RUN = re.compile(r"^<!-- not run locally: (?P<reason>\S.*) -->$")


@dataclass(frozen=True)
class Block:
    """One `bash` block of the page: its first line's number, its script and its marker."""

    line: int
    script: str
    marker: str

    @property
    def runs(self) -> bool:
        return RUN.match(self.marker) is not None

    @property
    def expect(self) -> str | None:
        found = RUN.match(self.marker)
        return found["expect"] if found else None


def bash_blocks(text: str) -> list[Block]:
    """The page's fenced blocks in `bash`, with the line just before each (its marker)."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        if fence[1] == "bash":
            marker = lines[index - 1].strip() if index else ""
            blocks.append(Block(index + 2, "\n".join(lines[index + 1 : end]) + "\n", marker))
        index = end + 1
    return blocks


def test_every_command_block_is_marked() -> None:
    text = PAGE.read_text()
    blocks = bash_blocks(text)
    unmarked = [b.line for b in blocks if not (b.runs or NOT_RUN.match(b.marker))]
    assert not unmarked, (
        f"docs/operations.md: the bash blocks at lines {unmarked} have neither "
        "<!-- ops-test --> nor <!-- not run locally: REASON --> on the line before them"
    )
    other_shells = [m[0] for m in re.finditer(r"^```(sh|shell|console|zsh)\s*$", text, re.M)]
    assert not other_shells, f"commands go in ```bash blocks (found {other_shells})"
    assert sum(b.runs for b in blocks) > sum(not b.runs for b in blocks)


# --- the local platform ------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    plane: ControlPlane
    controller: Service
    workdir: Path
    env: dict[str, str]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).json().get("leader") is True
    except (httpx.HTTPError, ValueError):
        return False


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _workdir(scratch: Path) -> Path:
    """What the page's commands run in: this repository's `charts/`, and `gitops/`, a clone
    of a GitOps repo made from the template."""
    workdir = scratch / "operator"
    workdir.mkdir()
    (workdir / "charts").symlink_to(ROOT / "charts")
    origin = scratch / "gitops.git"
    seed = scratch / "seed"
    shutil.copytree(TEMPLATE, seed)
    _git(seed, "init", "-q", "--initial-branch=main")
    _git(seed, "add", "-A")
    _git(seed, "commit", "-q", "-m", "platform: from gitops-repo-template")
    _git(scratch, "clone", "-q", "--bare", str(seed), str(origin))
    _git(workdir, "clone", "-q", str(origin), "gitops")
    return workdir


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, moto: Moto, keycloak: Keycloak
) -> Iterator[Platform]:
    scratch = tmp_path_factory.mktemp("ops-doc")
    plane = start_control_plane(scratch / "stack")
    port = free_port()
    log = scratch / "stack" / "logs" / "plattr-controller.log"
    stand_in = PodStandIn(SYSTEM_NAMESPACE, log, {CONTROLLER_PORT: port})
    kube = start_kube_controllers(plane, scratch / "stack", stand_ins=[stand_in])
    stops: list[Callable[[], None]] = [plane.stop, kube.stop]
    try:
        plane.api.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
        )
        stack = LocalStack(plane, kube, postgres, moto, keycloak, None)
        env = {k: v for k, v in controller_env(stack).items() if not k.startswith("KEYCLOAK_")}
        env |= {
            # what the values on the page give the chart's pods, where they matter here
            "KEYCLOAK_URL": keycloak.url,
            "KEYCLOAK_ADMIN_SECRET": f"{SYSTEM_NAMESPACE}/keycloak-admin",
            "BASE_DOMAIN": "apps.example.com",
            "AWS_ACCOUNT_ID": "123456789012",
            "LEADER_ELECTION": "true",
            "LEASE_NAMESPACE": SYSTEM_NAMESPACE,
            "METRICS_HOST": LOOPBACK,
            "METRICS_PORT": str(port),
        }
        controller = spawn(
            "plattr-controller", [BIN / "plattr-controller"], log.parent, env=env, cri_log=True
        )
        stops.append(controller.stop)  # SIGTERM: it hands its Lease back
        wait_until(lambda: _ready(f"http://{LOOPBACK}:{port}"), "leading", 120.0, controller)
        shell_env = {
            "PATH": os.pathsep.join(
                map(
                    str,
                    (BIN, binary("helm").parent, binary("kustomize").parent, os.environ["PATH"]),
                )
            ),
            "HOME": str(scratch),
            "KUBECONFIG": str(plane.kubeconfig),
            "KEYCLOAK_ADMIN_USER": keycloak.admin_user,
            "KEYCLOAK_ADMIN_PASSWORD": keycloak.admin_password,
            "GIT_AUTHOR_NAME": "Platform Team",
            "GIT_AUTHOR_EMAIL": "platform@example.com",
            "GIT_COMMITTER_NAME": "Platform Team",
            "GIT_COMMITTER_EMAIL": "platform@example.com",
            **GITHUB_CLIENT,
        }
        yield Platform(plane, controller, _workdir(scratch), shell_env)
    finally:
        for stop in reversed(stops):
            stop()


def _run(block: Block, platform: Platform) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.script],
        cwd=platform.workdir,
        env=platform.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=BLOCK_TIMEOUT,
    )
    where = f"docs/operations.md:{block.line}"
    shown = f"\n{block.script}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, f"{where}: exit {result.returncode}{shown}"
    if block.expect:
        assert block.expect in result.stdout, f"{where}: no {block.expect!r} in the output{shown}"


@pytest.mark.stack
@pytest.mark.slow
def test_operations_doc_commands_run(platform: Platform) -> None:
    runnable = [b for b in bash_blocks(PAGE.read_text()) if b.runs]
    for block in runnable:
        _run(block, platform)
    assert platform.controller.running(), platform.controller.tail()
