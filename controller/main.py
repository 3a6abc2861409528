"""`plattr-controller`: read the settings, start the controller, serve HTTP on
METRICS_PORT until SIGTERM or SIGINT, then stop and hand the lease back."""

from __future__ import annotations

import logging
import os
import signal
import sys

import uvicorn

from controller import logs
from controller.config import ConfigError, Settings
from controller.machinery.kube import Kube, load_api_client
from controller.metrics import Metrics
from controller.provisioners.interfaces import ProvisionerError
from controller.runtime import Controller
from controller.services import build_provisioners
from controller.web import create_app
from plattr.errors import ExitCode

log = logging.getLogger("controller")


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    keycloak_password = settings.keycloak.admin_password if settings.keycloak else None
    logs.configure(settings.log_level, secrets=[s for s in (keycloak_password,) if s])
    metrics = Metrics()
    kube = Kube(load_api_client(), metrics.count_request, metrics.kube_throttling.throttle)
    try:
        provisioners = build_provisioners(settings, kube, metrics)
    except ProvisionerError as exc:
        log.error("cannot start: %s", exc, extra={"reason": exc.reason})
        return ExitCode.USAGE  # the provisioners cannot be built from these settings
    controller = Controller(settings, kube, provisioners, metrics)
    controller.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(controller.view, settings.dashboard),
            host=settings.metrics_host,
            port=settings.metrics_port,
            log_config=None,
            access_log=False,
        )
    )
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        # uvicorn handles these while it runs, then re-raises the one it caught: with the
        # default handlers that would end the process before the lease is handed back.
        signal.signal(stop_signal, _after_uvicorn)
    try:
        server.run()
    finally:
        controller.stop()
    return ExitCode.OK


def _after_uvicorn(signum: int, frame: object) -> None:
    """The stop signal, re-raised by uvicorn after its shutdown: `main` goes on to stop."""
