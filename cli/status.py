"""`plattr status [APP] [--env E] [-o table|json] [--watch]`: where apps stand, read from the
dashboard's JSON API on the controller (`--url`, else $PLATTR_API_URL, else
http://127.0.0.1:9090; a token from $PLATTR_API_TOKEN). HTTP only, with the standard
library's urllib, and the API's own types (`plattr.api`) to decode the answers: the CLI never
imports the controller. `--watch` follows one app through the API's live stream.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from typing import Any, Final, TypeVar
from urllib.parse import urlencode, urlsplit

import msgspec

from plattr.api import (
    APPLICATIONS_PATH,
    ENVIRONMENTS_PATH,
    PREVIEWS_PATH,
    STREAM_DELETE,
    STREAM_PATH,
    STREAM_UPSERT,
    ApplicationList,
    ApplicationSummary,
    EnvironmentList,
    ErrorOut,
    PreviewList,
    PreviewSummary,
    Removed,
)
from plattr.errors import ExitCode, PlattrError, SettingsError

DEFAULT_URL: Final = "http://127.0.0.1:9090"
TIMEOUT_SECONDS: Final = 10.0
PREVIEWS: Final = "previews"
COLUMNS: Final = ("APP", "ENV", "PHASE", "URL", "PROBLEM")

T = TypeVar("T")


class StatusError(PlattrError):
    """The API could not answer, or had no such app: a message for people (exit 1)."""


def add_parser(commands: Any) -> None:
    status = commands.add_parser("status", help="where apps stand (reads the controller's API)")
    status.add_argument("app", nargs="?", help="one app (all apps if left out)")
    status.add_argument(
        "--env", help=f"one declared environment, or {PREVIEWS} (the API lists them in order)"
    )
    status.add_argument("-o", "--output", choices=("table", "json"), default="table")
    status.add_argument("--watch", action="store_true", help="follow APP's changes as they come")
    status.add_argument("--url", help=f"the API (default: $PLATTR_API_URL or {DEFAULT_URL})")
    status.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    api = Api(args.url or os.environ.get("PLATTR_API_URL") or DEFAULT_URL)
    if args.watch:
        if not args.app:
            raise SettingsError("--watch needs an APP to follow")
        return watch(api, args.app, args.env)
    if args.env and args.env != PREVIEWS:
        declared = [env.name for env in api.get(ENVIRONMENTS_PATH, {}, EnvironmentList).items]
        if args.env not in declared:
            raise StatusError(
                f"--env: {args.env!r} is not a declared environment; declared: "
                f"{', '.join(declared)}, or {PREVIEWS}"
            )
    items = select(api, args.app, args.env)
    if args.app and not items:
        where = f" in {args.env}" if args.env else ""
        raise StatusError(f"no app {args.app!r}{where} at {api.base}")
    if args.output == "json":
        print(msgspec.json.format(msgspec.json.encode(items), indent=2).decode())
    else:
        print(table(items, details=bool(args.app)))
    return ExitCode.OK


def select(api: Api, app: str | None, env: str | None) -> list[ApplicationSummary]:
    query = {"text": app} if app else {}
    items: list[ApplicationSummary] = []
    if env != PREVIEWS:
        apps = {**query, **({"environment": env} if env else {})}
        items += every_application(api, apps)
    if env in (None, PREVIEWS):
        items += api.get(PREVIEWS_PATH, query, PreviewList).items
    return [item for item in items if app is None or item.app == app]


def every_application(api: Api, query: dict[str, str]) -> list[ApplicationSummary]:
    """Every page of the Applications `query` selects, following `continue`."""
    items: list[ApplicationSummary] = []
    after: dict[str, str] = {}
    while True:
        listed = api.get(APPLICATIONS_PATH, {**query, **after}, ApplicationList)
        items += listed.items
        if listed.continue_ is None:
            return items
        after = {"continue": listed.continue_}


def table(items: list[ApplicationSummary], *, details: bool) -> str:
    rows = [COLUMNS] + [
        (
            _name(item),
            item.environment,
            item.phase,
            item.url or "-",
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
            f"  {item.environment}: {c.type} {c.status} ({c.reason}): {c.message}"
            for item in items
            for c in item.failing
        ]
    return "\n".join(line.rstrip() for line in lines)


def _name(item: ApplicationSummary) -> str:
    """The app, and a preview's pull request: `shop #42`."""
    if isinstance(item, PreviewSummary) and item.pull_request:
        return f"{item.app} #{item.pull_request}"
    return item.app


def _problem(item: ApplicationSummary) -> str:
    if item.failing:
        first = item.failing[0]
        more = f" (+{len(item.failing) - 1})" if len(item.failing) > 1 else ""
        return f"{first.type}: {first.reason}{more}"
    if isinstance(item, PreviewSummary) and item.time_left:
        return f"{item.time_left} left"
    return ""


def watch(api: Api, app: str, env: str | None) -> int:
    """Print a line per change to APP until interrupted."""
    try:
        for event, data in api.stream(STREAM_PATH, {"name": app}):
            stamp = time.strftime("%H:%M:%S")
            if event == STREAM_DELETE:
                gone = api.decode(data, Removed, STREAM_PATH)
                print(f"{stamp}  {gone.namespace}/{gone.name} deleted", flush=True)
            elif event == STREAM_UPSERT:
                # an app's summary is a preview's without the preview's fields
                item = api.decode(data, PreviewSummary, STREAM_PATH)
                if env and item.environment != env:
                    continue
                print(f"{stamp}  {table([item], details=False).splitlines()[1]}", flush=True)
    except KeyboardInterrupt:
        return ExitCode.OK
    return ExitCode.OK


class Api:
    def __init__(self, base: str) -> None:
        if urlsplit(base).scheme not in ("http", "https"):
            raise SettingsError(f"--url / PLATTR_API_URL {base!r}: not an http(s) URL")
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

    def get(self, path: str, query: dict[str, str], answer: type[T]) -> T:
        with self._open(path, query, "application/json", TIMEOUT_SECONDS) as response:
            return self.decode(response.read(), answer, path)

    def decode(self, body: bytes, answer: type[T], path: str) -> T:
        """The API's answer on `path` as the `plattr.api` type it must be."""
        try:
            return msgspec.json.decode(body, type=answer)
        except msgspec.DecodeError as error:
            raise StatusError(
                f"the API at {self.base} answered {path} with something this plattr does not "
                f"understand ({error}); is the controller the same Plattr version?"
            ) from None

    def stream(self, path: str, query: dict[str, str]) -> Iterator[tuple[str, bytes]]:
        """(event, data) of each server-sent event."""
        with self._open(path, query, "text/event-stream", None) as response:
            event, data = "message", b""
            for raw in response:
                line = raw.rstrip(b"\r\n")
                if line.startswith(b"event:"):
                    event = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data += line[5:].strip()
                elif not line and data:
                    yield event, data
                    event, data = "message", b""


def _refusal(code: int, body: bytes) -> str:
    try:
        message = msgspec.json.decode(body, type=ErrorOut).message
    except msgspec.DecodeError:
        message = body[:200].decode(errors="replace")
    if code == 401:
        return f"the API wants a token: set PLATTR_API_TOKEN ({message})"
    return f"the API answered {code}: {message}"
