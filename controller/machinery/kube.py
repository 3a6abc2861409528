"""A thin JSON client over the official `kubernetes` client's transport.

The kubernetes client brings kubeconfig and in-cluster loading, token refresh and TLS; this
module keeps objects as plain dicts (what the cache holds and what merge patches are made
of) and reports every request's verb, so API writes can be counted.

An API server under load answers 429 Too Many Requests with a Retry-After (API Priority and
Fairness): the request was not carried out. The client waits as asked (at most
MAX_RETRY_AFTER_SECONDS; 0.5, 1, 2, 4, 8 s without a Retry-After) and sends it again, up to
THROTTLE_RETRIES times, reporting each such answer (`on_throttled`), so a busy API server
costs time, not the caller's own retries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import urllib3
from kubernetes import client
from kubernetes import config as _config
from kubernetes.watch import watch as _watch

from controller.machinery.objects import KubeObject

_TRANSPORT_ERRORS: Final = (OSError, urllib3.exceptions.HTTPError)

REQUEST_TIMEOUT: Final = 30.0
MERGE_PATCH: Final = "application/merge-patch+json"
WRITE_VERBS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""The verbs `on_request` sees for a write (a read is GET, or WATCH for a watch)."""
TOO_MANY_REQUESTS: Final = 429
THROTTLE_RETRIES: Final = 5
MAX_RETRY_AFTER_SECONDS: Final = 10.0
TRANSPORT_RETRIES: Final = 3
"""urllib3's own retries of a failed connection (its default)."""


class KubeError(Exception):
    """A request the API server refused, or that could not reach it (status 0)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def gone(self) -> bool:
        return self.status == 410


def load_api_client() -> Any:
    """An ApiClient from $KUBECONFIG / ~/.kube/config, else the pod's service account."""
    config: Any = _config
    try:
        config.load_kube_config()
    except config.ConfigException:
        config.load_incluster_config()
    return api_client_for(client.Configuration.get_default_copy())


def api_client_for(configuration: Any) -> Any:
    """An ApiClient whose transport leaves 429s to `Kube`: urllib3 would otherwise wait out
    three of them unseen (idempotent verbs only), so they could be neither counted nor
    retried for POST and PATCH. Connection errors are still retried by urllib3."""
    configuration.retries = urllib3.Retry(TRANSPORT_RETRIES, respect_retry_after_header=False)
    return client.ApiClient(configuration)


class Kube:
    """GET/WATCH/POST/PUT/PATCH/DELETE on API paths; `on_request(verb, path)` sees each
    request sent, `on_throttled()` each 429 that was waited out and sent again."""

    def __init__(
        self,
        api_client: Any,
        on_request: Callable[[str, str], None] = lambda verb, path: None,
        on_throttled: Callable[[], None] = lambda: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = api_client
        self._on_request = on_request
        self._on_throttled = on_throttled
        self._sleep = sleep

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: object = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] = REQUEST_TIMEOUT,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = self._api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        for retry in range(THROTTLE_RETRIES + 1):
            self._on_request(_verb(method, query), path)
            try:
                response = self._api.call_api(*request, _request_timeout=timeout)
            except (*_TRANSPORT_ERRORS, client.exceptions.ApiException) as exc:
                raise KubeError(0, "Unreachable", f"{method} {path}: {exc}") from exc
            if response.status != TOO_MANY_REQUESTS or retry == THROTTLE_RETRIES:
                break
            self._on_throttled()
            response.read()  # the connection goes back to the pool
            self._sleep(_retry_after(response.headers.get("Retry-After"), retry))
        if not 200 <= response.status <= 299:
            data = response.read()
            raise KubeError(response.status, str(response.reason), _message(data))
        return response

    def request(self, method: str, path: str, **kwargs: Any) -> KubeObject:
        response = self._call(method, path, **kwargs)
        try:
            answer: KubeObject = json.loads(response.read())
        except _TRANSPORT_ERRORS as exc:
            raise KubeError(0, "Unreachable", f"{method} {path}: {exc}") from exc
        return answer

    def get(self, path: str) -> KubeObject | None:
        """The object at `path`, or None if it does not exist."""
        try:
            return self.request("GET", path)
        except KubeError as exc:
            if exc.not_found:
                return None
            raise

    def list(self, path: str, query: Mapping[str, str | int | bool] | None = None) -> KubeObject:
        return self.request("GET", path, query=query)

    def create(self, path: str, body: KubeObject) -> KubeObject:
        return self.request("POST", path, body=body)

    def merge_patch(self, path: str, body: KubeObject) -> KubeObject:
        return self.request("PATCH", path, body=body, content_type=MERGE_PATCH)

    def replace(self, path: str, body: KubeObject) -> KubeObject:
        return self.request("PUT", path, body=body)

    def delete(self, path: str) -> bool:
        """Delete the object at `path`; False if it was already gone."""
        try:
            self.request("DELETE", path)
        except KubeError as exc:
            if exc.not_found:
                return False
            raise
        return True

    def watch(
        self, path: str, query: Mapping[str, str | int | bool], timeout_seconds: int
    ) -> Iterator[KubeObject]:
        """The events of a watch on `path`, until the server ends it after `timeout_seconds`."""
        watch_query = {**query, "watch": True, "timeoutSeconds": timeout_seconds}
        response = self._call(
            "GET", path, query=watch_query, timeout=(REQUEST_TIMEOUT, timeout_seconds + 30)
        )
        raw = response.response
        try:
            for line in lines(raw):
                if line:
                    event: KubeObject = json.loads(line)
                    yield event
        except _TRANSPORT_ERRORS as exc:
            raise KubeError(0, "Unreachable", f"watch {path}: {exc}") from exc
        finally:
            raw.release_conn()


lines: Callable[[Any], Iterator[str]] = _watch.iter_resp_lines


def _verb(method: str, query: Mapping[str, str | int | bool] | None) -> str:
    if method == "GET" and query and query.get("watch"):
        return "WATCH"
    return method


def _retry_after(header: str | None, retry: int) -> float:
    """The wait a 429 asks for in seconds (capped), else an exponential one from 0.5 s."""
    asked = -1.0
    if header is not None:
        try:
            asked = float(header)
        except ValueError:
            asked = -1.0  # an HTTP date: the API server sends seconds; take the default wait
    if asked < 0:
        return min(0.5 * 2.0**retry, MAX_RETRY_AFTER_SECONDS)
    return min(asked, MAX_RETRY_AFTER_SECONDS)


def _message(data: bytes) -> str:
    try:
        status = json.loads(data)
    except ValueError:
        return data[:200].decode(errors="replace")
    return str(status.get("message", "")) if isinstance(status, dict) else str(status)
