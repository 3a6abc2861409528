"""The JSON client through the real kubernetes client, against an HTTP server on loopback that
answers as the API server does: objects as JSON, refusals as `Status` objects (404, 409,
410, 422 with causes, 429 with Retry-After), watch events as JSON lines, and no server at all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client

from controller.machinery.kube import (
    MAX_RETRY_AFTER_SECONDS,
    MERGE_PATCH,
    THROTTLE_RETRIES,
    Kube,
    KubeError,
    api_client_for,
)
from controller.machinery.objects import KubeObject

TOKEN = "loopback-token"
PATH = "/apis/example.com/v1/namespaces/staging/widgets"


@dataclass
class Answer:
    status: int
    body: Any = None
    """JSON (dumped), bytes (sent as is), or a list of watch events (JSON lines, streamed)."""
    headers: dict[str, str] = field(default_factory=dict)
    cut_short: bool = False
    """Stream the events, then drop the connection without ending the chunked body."""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """By lower-case name."""
    body: Any


def status(code: int, reason: str, message: str, **details: Any) -> KubeObject:
    """A `Status` as the API server sends it with every refusal."""
    answer: KubeObject = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        answer["details"] = details
    return answer


class ApiServer:
    """Answers each request from `route(method, path)`, and remembers every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test asserts what it needs."""

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server.seen.append(
                    Seen(
                        self.command,
                        url.path,
                        parse_qs(url.query),
                        {name.lower(): value for name, value in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                answers = server.routes.get((self.command, url.path))
                if answers is None:
                    answer = Answer(404, status(404, "NotFound", f"{url.path} not found"))
                else:  # in turn; the last one stays
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer.body, list):
                    self._stream(answer)
                    return
                body = answer.body
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, answer: Answer) -> None:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in answer.body:
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                if answer.cut_short:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        """Answer with each in turn, then with the last one every time."""
        self.routes[(method, path)] = list(answers)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def api_client(url: str) -> Any:
    configuration = client.Configuration(host=url)
    configuration.api_key = {"BearerToken": f"Bearer {TOKEN}"}
    return api_client_for(configuration)


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer() as running:
        yield running


@pytest.fixture
def requests() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def kube(server: ApiServer, requests: list[tuple[str, str]]) -> Kube:
    return Kube(api_client(server.url), lambda verb, path: requests.append((verb, path)))


def refusal(kube_call: Callable[[], object]) -> KubeError:
    with pytest.raises(KubeError) as caught:
        kube_call()
    return caught.value


def test_an_object_comes_back_as_a_dict_with_the_token_sent_and_the_request_reported(
    server: ApiServer, kube: Kube, requests: list[tuple[str, str]]
) -> None:
    widget = {"metadata": {"name": "a", "namespace": "staging", "resourceVersion": "7"}}
    server.answer("GET", f"{PATH}/a", Answer(200, widget))
    assert kube.get(f"{PATH}/a") == widget
    (seen,) = server.seen
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["accept"] == "application/json"
    assert requests == [("GET", f"{PATH}/a")]


def test_a_list_passes_its_query_on(server: ApiServer, kube: Kube) -> None:
    server.answer("GET", PATH, Answer(200, {"metadata": {"resourceVersion": "9"}, "items": []}))
    answer = kube.list(PATH, {"labelSelector": "app.kubernetes.io/managed-by=x", "limit": 500})
    assert answer["items"] == []
    assert server.seen[0].query == {
        "labelSelector": ["app.kubernetes.io/managed-by=x"],
        "limit": ["500"],
    }


def test_writes_send_json_and_a_merge_patch_says_so(
    server: ApiServer, kube: Kube, requests: list[tuple[str, str]]
) -> None:
    body = {"metadata": {"name": "a"}, "data": {"k": "v"}}
    server.answer("POST", PATH, Answer(201, body))
    server.answer("PUT", f"{PATH}/a", Answer(200, body))
    server.answer("PATCH", f"{PATH}/a", Answer(200, body))
    assert kube.create(PATH, body) == body
    assert kube.replace(f"{PATH}/a", body) == body
    assert kube.merge_patch(f"{PATH}/a", {"data": {"k": None}}) == body
    assert [(s.method, s.headers["content-type"], s.body) for s in server.seen] == [
        ("POST", "application/json", body),
        ("PUT", "application/json", body),
        ("PATCH", MERGE_PATCH, {"data": {"k": None}}),
    ]
    assert [verb for verb, _ in requests] == ["POST", "PUT", "PATCH"]


def test_a_missing_object_is_none_to_get_and_false_to_delete(server: ApiServer, kube: Kube) -> None:
    server.answer("DELETE", f"{PATH}/here", Answer(200, status(200, "", "deleted")))
    assert kube.get(f"{PATH}/gone") is None
    assert kube.delete(f"{PATH}/gone") is False
    assert kube.delete(f"{PATH}/here") is True
    error = refusal(lambda: kube.request("GET", f"{PATH}/gone"))
    assert (error.status, error.not_found) == (404, True)
    assert f"{PATH}/gone not found" in str(error)


def test_a_conflict_is_a_conflict_with_the_servers_message(server: ApiServer, kube: Kube) -> None:
    message = 'Operation cannot be fulfilled on widgets "a": the object has been modified'
    server.answer("PUT", f"{PATH}/a", Answer(409, status(409, "Conflict", message)))
    error = refusal(lambda: kube.replace(f"{PATH}/a", {"metadata": {"name": "a"}}))
    assert (error.status, error.conflict, error.not_found, error.gone) == (409, True, False, False)
    assert message in str(error)


def test_410_gone_says_list_again(server: ApiServer, kube: Kube) -> None:
    server.answer("GET", PATH, Answer(410, status(410, "Expired", "too old resource version")))
    error = refusal(lambda: kube.list(PATH))
    assert (error.status, error.gone) == (410, True)
    assert "too old resource version" in str(error)


def test_422_names_the_invalid_fields(server: ApiServer, kube: Kube) -> None:
    message = 'Widget.example.com "a" is invalid: spec.replicas: Invalid value: -1: must be >= 0'
    causes = [{"reason": "FieldValueInvalid", "message": "must be >= 0", "field": "spec.replicas"}]
    invalid = status(422, "Invalid", message, name="a", kind="Widget", causes=causes)
    server.answer("POST", PATH, Answer(422, invalid))
    error = refusal(lambda: kube.create(PATH, {"spec": {"replicas": -1}}))
    assert error.status == 422
    assert "spec.replicas: Invalid value: -1: must be >= 0" in str(error)


BUSY = status(429, "TooManyRequests", "too many requests, retry later", retryAfterSeconds=1)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_a_429_is_waited_out_as_retry_after_asks_counted_and_sent_again(
    server: ApiServer, method: str
) -> None:
    """API Priority and Fairness answers 429 with Retry-After: the request was not carried
    out, so any verb is sent again after the wait, and the caller sees only the answer."""
    waits: list[float] = []
    throttled: list[None] = []
    kube = Kube(
        api_client(server.url), on_throttled=lambda: throttled.append(None), sleep=waits.append
    )
    path = f"{PATH}/a" if method != "POST" else PATH
    server.answer(
        method,
        path,
        Answer(429, BUSY, headers={"Retry-After": "1"}),
        Answer(429, BUSY, headers={"Retry-After": "30"}),
        Answer(200, {"metadata": {"name": "a"}}),
    )
    done = {
        "GET": lambda: kube.get(path),
        "POST": lambda: kube.create(path, {"metadata": {"name": "a"}}),
        "PATCH": lambda: kube.merge_patch(path, {"spec": {}}),
    }[method]()
    assert done == {"metadata": {"name": "a"}}
    assert [seen.method for seen in server.seen] == [method] * 3
    assert waits == [1.0, MAX_RETRY_AFTER_SECONDS]
    assert len(throttled) == 2


def test_a_429_without_retry_after_backs_off_and_the_last_one_is_reported(
    server: ApiServer,
) -> None:
    waits: list[float] = []
    kube = Kube(api_client(server.url), sleep=waits.append)
    server.answer("GET", f"{PATH}/a", Answer(429, BUSY))
    error = refusal(lambda: kube.get(f"{PATH}/a"))
    assert error.status == 429
    assert "too many requests" in str(error)
    assert len(server.seen) == THROTTLE_RETRIES + 1
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_an_error_body_that_is_not_json_is_quoted_not_decoded(
    server: ApiServer, kube: Kube
) -> None:
    server.answer("GET", f"{PATH}/a", Answer(503, b"upstream connect error"))
    error = refusal(lambda: kube.get(f"{PATH}/a"))
    assert error.status == 503
    assert "upstream connect error" in str(error)


def test_no_server_is_unreachable_status_zero() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kube = Kube(api_client(f"http://127.0.0.1:{port}"))
    error = refusal(lambda: kube.get(f"{PATH}/a"))
    assert (error.status, error.reason, error.not_found) == (0, "Unreachable", False)
    assert f"GET {PATH}/a" in str(error)


def test_a_watch_streams_events_with_its_query_and_is_reported_as_watch(
    server: ApiServer, kube: Kube, requests: list[tuple[str, str]]
) -> None:
    events = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "11"}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
    ]
    server.answer("GET", PATH, Answer(200, events))
    assert list(kube.watch(PATH, {"resourceVersion": "10"}, timeout_seconds=5)) == events
    query = server.seen[0].query
    assert (query["watch"], query["timeoutSeconds"], query["resourceVersion"]) == (
        ["true"],
        ["5"],
        ["10"],
    )
    assert requests == [("WATCH", PATH)]


def test_a_watch_refused_up_front_raises(server: ApiServer, kube: Kube) -> None:
    server.answer("GET", PATH, Answer(410, status(410, "Expired", "too old resource version")))
    error = refusal(lambda: list(kube.watch(PATH, {"resourceVersion": "1"}, timeout_seconds=5)))
    assert error.gone


def test_a_watch_cut_off_mid_stream_is_unreachable_after_the_events_it_got(
    server: ApiServer, kube: Kube
) -> None:
    event = {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "11"}}}
    server.answer("GET", PATH, Answer(200, [event], cut_short=True))
    stream = kube.watch(PATH, {"resourceVersion": "10"}, timeout_seconds=5)
    assert next(stream) == event
    with pytest.raises(KubeError) as caught:
        next(stream)
    assert (caught.value.status, caught.value.reason) == (0, "Unreachable")


def test_the_api_client_comes_from_kubeconfig(server: ApiServer, tmp_path: Path) -> None:
    """In a process of its own: the kubernetes client reads $KUBECONFIG when imported."""
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "loopback", "cluster": {"server": server.url}}],
        "users": [{"name": "tester", "user": {"token": TOKEN}}],
        "contexts": [{"name": "here", "context": {"cluster": "loopback", "user": "tester"}}],
        "current-context": "here",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(kubeconfig))  # JSON is YAML
    server.answer("GET", f"{PATH}/a", Answer(200, {"metadata": {"name": "a"}}))
    program = (
        "from controller.machinery.kube import Kube, load_api_client\n"
        f"print(Kube(load_api_client()).get({f'{PATH}/a'!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "KUBECONFIG": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "{'metadata': {'name': 'a'}}"
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
