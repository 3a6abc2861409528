"""A dashboard over an in-memory cache, for the unit tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from controller.config import DashboardSettings
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import Kube
from controller.machinery.objects import ObjectKey
from controller.metrics import Metrics
from controller.runtime import ControllerView
from controller.web.app import install
from controller.web.events import EventsUnavailable, KubeEvents
from plattr.api import EventOut
from plattr.environments import Environments, shipped

TOKEN = "s3cret-dashboard-token-0123456789"


@dataclass
class FakeEvents:
    events: list[EventOut] = field(default_factory=list)
    unavailable: bool = False
    asked: list[ObjectKey] = field(default_factory=list)

    def recent(self, key: ObjectKey) -> tuple[EventOut, ...]:
        self.asked.append(key)
        if self.unavailable:
            raise EventsUnavailable("the API server did not list the Events in 2 s")
        return tuple(self.events)


def view_of(
    cache: ObjectCache, environments: Callable[[], Environments] = shipped
) -> ControllerView:
    return ControllerView(
        cache=cache,
        metrics=Metrics(),
        ready=lambda: True,
        healthy=lambda: True,
        leading=lambda: False,  # a standby serves the dashboard too
        base_domain="apps.example.com",
        environments=environments,
    )


def client(
    cache: ObjectCache,
    settings: DashboardSettings | None = None,
    events: FakeEvents | None = None,
    environments: Callable[[], Environments] = shipped,
) -> TestClient:
    app = FastAPI()
    install(
        app,
        view_of(cache, environments),
        settings or DashboardSettings(argocd_url="https://argocd.example.com"),
        events or FakeEvents(),
    )
    return TestClient(app)


def token_settings() -> DashboardSettings:
    return DashboardSettings(auth="token", token=TOKEN)


@contextmanager
def serving(cache: ObjectCache, settings: DashboardSettings | None = None) -> Iterator[str]:
    """The dashboard over `cache` on a free loopback port; yields its base URL."""
    app = FastAPI()
    install(app, view_of(cache), settings or DashboardSettings(), FakeEvents())
    with serve_app(app) as url:
        yield url


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """`app` served by uvicorn on `port` (a free loopback port if None), in a thread; yields
    its base URL."""
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def dashboard_url(view: ControllerView, api_client: Any) -> Iterator[str]:
    """The dashboard of a real controller's view, Events from the real API server, served
    over HTTP; yields its base URL."""
    app = FastAPI()
    settings = DashboardSettings(argocd_url="https://argocd.example.test")
    install(app, view, settings, KubeEvents(lambda: Kube(api_client)))
    with serve_app(app) as url:
        yield url
