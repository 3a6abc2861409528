"""python -m devstack up|down|status|serve|gitops-url  (`make up` / `make down`).

`up` starts `serve` in the background, waits until the stack is ready and prints where
everything is; `serve` runs the stack until SIGTERM; `down` stops it and removes the state
directory, so the next `up` starts clean; `gitops-url` prints the GitOps repo's clone URL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.errors import StackError
from devstack.stack import COMPONENTS, Stack

STATE_FILE = "state.json"
ENV_FILE = "env"
PID_FILE = "devstack.pid"
LOG_FILE = "devstack.log"
UP_TIMEOUT = 300.0
DOWN_TIMEOUT = 30.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _supervisor(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / PID_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


def serve(state_dir: Path, components: list[str]) -> int:
    """Run the stack in the foreground until SIGTERM or SIGINT."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / PID_FILE).write_text(str(os.getpid()))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack = Stack.start(state_dir, components, kubeconfig=state_dir.resolve() / "kubeconfig")
    except StackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    try:
        exports = "".join(f"export {k}='{v}'\n" for k, v in sorted(stack.env().items()))
        _write_private(state_dir / ENV_FILE, exports)
        state = {
            "lines": stack.describe(),
            "processes": {s.name: s.pid for s in stack.services},
            "postgres_home": str(stack.postgres.data_dir.parent) if stack.postgres else None,
            "gitops_url": stack.argocd.repo.url if stack.argocd else None,
        }
        (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
        print("devstack: ready", flush=True)
        while True:
            signal.pause()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stack.stop()
        (state_dir / STATE_FILE).unlink(missing_ok=True)


def up(state_dir: Path, components: list[str]) -> int:
    if _supervisor(state_dir):
        print(f"devstack is already up in {state_dir}")
        return status(state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    log = state_dir / LOG_FILE
    with log.open("ab") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack",
                "serve",
                f"--state-dir={state_dir}",
                f"--components={','.join(components)}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command: `make down` ends it
        )
    started = time.monotonic()
    while not (state_dir / STATE_FILE).exists():
        if child.poll() is not None or time.monotonic() - started > UP_TIMEOUT:
            _stop_supervisor(state_dir)
            print(
                f"devstack failed to start; {log}:\n{log.read_text()[-4000:]}\n"
                f"every log is in {state_dir / 'logs'}; `make down` removes them",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.2)
    print(f"devstack up in {time.monotonic() - started:.1f} s (pid {child.pid}, log {log})")
    return status(state_dir)


def status(state_dir: Path) -> int:
    try:
        state = json.loads((state_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        print(f"devstack is not running (no {state_dir / STATE_FILE})")
        return 1
    for line in state["lines"]:
        print(f"  {line}")
    dead = [name for name, pid in state["processes"].items() if not _pid_alive(pid)]
    print(f"  credentials: {state_dir / ENV_FILE} (source it for the controller's environment)")
    if dead:
        print(f"  NOT RUNNING: {', '.join(dead)}; logs in {state_dir / 'logs'}")
        return 1
    return 0


def gitops_url(state_dir: Path) -> int:
    try:
        url = json.loads((state_dir / STATE_FILE).read_text()).get("gitops_url")
    except FileNotFoundError:
        url = None
    if not url:
        print(
            f"no GitOps repo: the stack in {state_dir} is not running with Argo CD", file=sys.stderr
        )
        return 1
    print(url)
    return 0


def _stop_supervisor(state_dir: Path) -> None:
    if pid := _supervisor(state_dir):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):  # its children die with it (parent-death signal)
            os.kill(pid, signal.SIGKILL)


def down(state_dir: Path) -> int:
    _stop_supervisor(state_dir)
    try:  # a supervisor killed hard leaves Postgres' data directory behind
        state = json.loads((state_dir / STATE_FILE).read_text())
        if state.get("postgres_home"):
            shutil.rmtree(state["postgres_home"], ignore_errors=True)
    except FileNotFoundError:
        pass
    shutil.rmtree(state_dir, ignore_errors=True)
    print(f"devstack is down ({state_dir} removed)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "serve", "gitops-url"])
    parser.add_argument("--state-dir", type=Path, default=Path(".plattr"))
    parser.add_argument(
        "--components", default=",".join(COMPONENTS), help=f"comma-separated, of {COMPONENTS}"
    )
    args = parser.parse_args(argv)
    components = [c for c in args.components.split(",") if c]
    match args.command:
        case "up":
            return up(args.state_dir, components)
        case "serve":
            return serve(args.state_dir, components)
        case "status":
            return status(args.state_dir)
        case "gitops-url":
            return gitops_url(args.state_dir)
        case _:
            return down(args.state_dir)
