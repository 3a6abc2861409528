"""A Git repository on loopback, as a forge would host it: a bare repository served over smart
HTTP by `git http-backend` (clone, fetch and push, no authentication), whose post-receive hook
sends a GitHub-style push event to webhook receivers (Argo CD's), so a push is seen at once.
The server and the hook are devstack/githttp.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.ports import LOOPBACK, free_port
from devstack.probes import http_status
from devstack.process import Service, run, spawn, wait_until

BRANCH = "main"
# stdlib only, run as a script: the hook starts fast, without the devstack package
GITHTTP = str(Path(__file__).with_name("githttp.py"))
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class GitServer:
    """`url` is what to clone, push to and name as repoURL; `bare` the repository on disk."""

    url: str
    bare: Path
    process: Service

    @property
    def html_url(self) -> str:
        """The repository's web address, as a forge's push event names it (no .git)."""
        return self.url.removesuffix(".git")

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.process,)

    def notify_on_push(self, webhooks: list[str]) -> None:
        """Send every push to these webhook receivers (the post-receive hook)."""
        hook = self.bare / "hooks" / "post-receive"
        argv = [sys.executable, GITHTTP, "notify", self.html_url, *webhooks]
        hook.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in argv) + "\n")
        hook.chmod(0o755)

    def stop(self) -> None:
        self.process.stop()


def start_git_server(state_dir: Path, name: str = "gitops") -> GitServer:
    """An empty bare repository <state_dir>/git/<name>.git (branch main), served on loopback."""
    root = state_dir / "git"
    bare = root / f"{name}.git"
    run(["git", "init", "--quiet", "--bare", "--initial-branch", BRANCH, bare], "git init")
    run(["git", "-C", bare, "config", "http.receivepack", "true"], "git config")
    port = free_port()
    process = spawn(
        "git-http",
        [sys.executable, GITHTTP, "serve", root, str(port)],
        state_dir / "logs",
    )
    server = GitServer(f"http://{LOOPBACK}:{port}/{name}.git", bare, process)
    try:
        refs = f"{server.url}/info/refs?service=git-upload-pack"
        wait_until(lambda: http_status(refs) == 200, "serving", READY_TIMEOUT, process)
    except BaseException:
        server.stop()
        raise
    return server
