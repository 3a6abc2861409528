"""`plattr status [APP] [--env E] [-o table|json] [--watch]`: where apps stand, read from the
dashboard's JSON API on the controller (`--url`, else $PLATTR_API_URL, else
http://127.0.0.1:9090; a token from $PLATTR_API_TOKEN). HTTP only: the renderer never
imports the controller. `--watch` follows one app through the API's live stream.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

DEFAULT_URL: Final = "http://127.0.0.1:9090"
TIMEOUT_SECONDS: Final = 10.0
ENVIRONMENTS: Final = ("production", "staging", "uat", "previews")
COLUMNS: Final = ("APP", "ENV", "PHASE", "URL", "PROBLEM")
EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2

Item = dict[str, Any]


class StatusError(Exception):
    """The API could not answer: a message for people, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def add_parser(commands: Any) -> None:
    status = commands.add_parser("status", help="where apps stand (reads the controller's API)")
    status.add_argument("app", nargs="?", help="one app (all apps if left out)")
    status.add_argument("--env", choices=ENVIRONMENTS, help="one environment")
    status.add_argument("-o", "--output", choices=("table", "json"), default="table")
    status.add_argument("--watch", action="store_true", help="follow APP's changes as they come")
    status.add_argument("--url", help=f"the API (default: $PLATTR_API_URL or {DEFAULT_URL})")
    status.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    try:
        api = Api(args.url or os.environ.get("PLATTR_API_URL") or DEFAULT_URL)
        if args.watch:
            if not args.app:
                print("plattr status: --watch needs an APP to follow", file=sys.stderr)
                return EXIT_USAGE
            return watch(api, args.app, args.env)
        items = select(api, args.app, args.env)
    except StatusError as error:
        print(f"plattr status: {error}", file=sys.stderr)
        return error.code
    if args.app and not items:
        where = f" in {args.env}" if args.env else ""
        print(f"plattr status: no app {args.app!r}{where} at {api.base}", file=sys.stderr)
        return EXIT_INVALID
    if args.output == "json":
        print(json.dumps(items, indent=2))
    else:
        print(table(items, details=bool(args.app)))
    return EXIT_OK


def select(api: Api, app: str | None, env: str | None) -> list[Item]:
    query = {"text": app} if app else {}
    items: list[Item] = []
    if env != "previews":
        apps = {**query, **({"environment": env} if env else {})}
        items += api.get_json("/api/v1/applications", apps)["items"]
    if env in (None, "previews"):
        items += api.get_json("/api/v1/previews", query)["items"]
    return [item for item in items if app is None or item["app"] == app]


def table(items: list[Item], *, details: bool) -> str:
    rows = [COLUMNS] + [
        (
            item["app"] + (f" #{item['pullRequest']}" if item.get("pullRequest") else ""),
            item["environment"],
            item["phase"],
            item.get("url") or "-",
            _problem(item),
        )
        for item in items
    ]
    widths = [max(len(row[n]) for row in rows) for n in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    if details:
        lines += [
            f"  {item['environment']}: {c['type']} {c['status']} ({c['reason']}): {c['message']}"
            for item in items
            for c in item["failing"]
        ]
    return "\n".join(line.rstrip() for line in lines)


def _problem(item: Item) -> str:
    failing = item.get("failing") or []
    if failing:
        more = f" (+{len(failing) - 1})" if len(failing) > 1 else ""
        return f"{failing[0]['type']}: {failing[0]['reason']}{more}"
    if item.get("timeLeft"):
        return f"{item['timeLeft']} left"
    return ""


def watch(api: Api, app: str, env: str | None) -> int:
    """Print a line per change to APP until interrupted."""
    try:
        for event, data in api.stream("/api/v1/stream", {"name": app}):
            if event == "reset":
                continue
            if env and data.get("environment", env) != env:
                continue
            stamp = time.strftime("%H:%M:%S")
            if event == "delete":
                print(f"{stamp}  {data['namespace']}/{data['name']} deleted", flush=True)
            else:
                print(f"{stamp}  {table([data], details=False).splitlines()[1]}", flush=True)
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


class Api:
    def __init__(self, base: str) -> None:
        if urlsplit(base).scheme not in ("http", "https"):
            raise StatusError(f"--url / PLATTR_API_URL {base!r}: not an http(s) URL", EXIT_USAGE)
        self.base = base.rstrip("/")
        token = os.environ.get("PLATTR_API_TOKEN")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _open(self, path: str, query: dict[str, str], accept: str, timeout: float | None) -> Any:
        import urllib.error
        import urllib.request  # only `plattr status` pays for it

        url = f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")
        request = urllib.request.Request(url, headers={**self._headers, "Accept": accept})  # noqa: S310 - http(s) checked above
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        except urllib.error.HTTPError as error:
            raise StatusError(_refusal(error.code, error.read())) from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise StatusError(
                f"cannot reach the Plattr API at {self.base} ({reason}); "
                "pass --url or set PLATTR_API_URL"
            ) from error

    def get_json(self, path: str, query: dict[str, str]) -> Any:
        with self._open(path, query, "application/json", TIMEOUT_SECONDS) as response:
            return json.load(response)

    def stream(self, path: str, query: dict[str, str]) -> Iterator[tuple[str, Item]]:
        """(event, data) of each server-sent event."""
        with self._open(path, query, "text/event-stream", None) as response:
            event, data = "message", ""
            for raw in response:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    yield event, json.loads(data)
                    event, data = "message", ""


def _refusal(code: int, body: bytes) -> str:
    try:
        message = str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        message = body[:200].decode(errors="replace")
    if code == 401:
        return f"the API wants a token: set PLATTR_API_TOKEN ({message})"
    return f"the API answered {code}: {message}"
