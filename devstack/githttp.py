"""The processes behind devstack.gitserver, run as `python devstack/githttp.py`:

serve ROOT PORT                  serve every bare repository under ROOT over smart HTTP on
                                 loopback (`git http-backend`: clone, fetch and push)
notify HTML_URL WEBHOOK_URL...   the post-receive hook: a GitHub-style push event for each
                                 updated ref (stdin: git's `<old> <new> <ref>` lines)
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree


class _GitHandler(http.server.BaseHTTPRequestHandler):
    """CGI by hand: each request runs `git http-backend` once."""

    root = ""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # git's big pushes
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _backend(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        env = {
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        answer = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        sys.stderr.buffer.write(answer.stderr)  # the hook's output, http-backend's errors
        head, separator, payload = answer.stdout.partition(b"\r\n\r\n")
        if not separator:
            head, _, payload = answer.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _backend
    do_POST = _backend


def serve(root: str, port: int) -> None:
    _GitHandler.root = root
    http.server.ThreadingHTTPServer((LOOPBACK, port), _GitHandler).serve_forever()


def _changed_files(git_dir: str, before: str, after: str) -> dict[str, list[str]]:
    """What a push changed, in a push event's terms (added, modified, removed)."""
    changes: dict[str, list[str]] = {"added": [], "modified": [], "removed": []}
    if after == ZERO:
        return changes
    base = EMPTY_TREE if before == ZERO else before
    diff = _git(git_dir, "diff", "--name-status", "--no-renames", base, after)
    kinds = {"A": "added", "D": "removed"}
    for line in diff.splitlines():
        status, _, path = line.partition("\t")
        changes[kinds.get(status[:1], "modified")].append(path)
    return changes


def _git(git_dir: str, *args: str) -> str:
    argv = ["git", "--git-dir", git_dir, *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _default_branch(git_dir: str) -> str:
    return _git(git_dir, "symbolic-ref", "--short", "HEAD").strip()


def push_event(html_url: str, git_dir: str, line: str) -> dict[str, object]:
    """GitHub's push event payload for one updated ref (the fields Argo CD reads)."""
    before, after, ref = line.split()
    name = html_url.rstrip("/").rsplit("/", 1)[-1]
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": {
            "name": name,
            "full_name": f"local/{name}",
            "html_url": html_url,
            "clone_url": f"{html_url}.git",
            "default_branch": _default_branch(git_dir),
        },
        "commits": [{"id": after, **_changed_files(git_dir, before, after)}],
        "head_commit": {"id": after},
    }


def notify(html_url: str, webhooks: list[str], lines: list[str], git_dir: str) -> int:
    """POST each updated ref to every webhook; a receiver that fails is reported, not fatal."""
    for line in filter(str.strip, lines):
        body = json.dumps(push_event(html_url, git_dir, line)).encode()
        for webhook in webhooks:
            request = urllib.request.Request(  # noqa: S310 (loopback receivers)
                webhook,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
            except (urllib.error.URLError, OSError) as exc:
                print(f"webhook {webhook} not told of the push: {exc}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["serve", root, port]:
            serve(root, int(port))
            return 0
        case ["notify", html_url, *webhooks]:
            return notify(html_url, webhooks, sys.stdin.read().splitlines(), git_dir=".")
        case _:
            print(__doc__, file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
