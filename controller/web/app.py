"""The FastAPI app served on METRICS_PORT by every replica, the standbys included (their
caches are as warm as the leader's): `/healthz`, `/readyz` and `/metrics` for Kubernetes
and Prometheus, and the dashboard: its JSON API under `/api/v1`, its pages, and the error
handlers (JSON `{"message": ...}` for the API, a page for people)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from controller.config import DashboardSettings
from controller.machinery.kube import Kube, load_api_client
from controller.runtime import ControllerView
from controller.subjects import prepare_models
from controller.web.api import api_router, encoded, publish_schemas
from controller.web.events import EventReader, KubeEvents
from controller.web.oidc import CALLBACK_PATH
from controller.web.pages import page_router, templates, wants_html
from controller.web.service import Dashboard
from plattr.api import ErrorOut


def create_app(
    view: ControllerView, settings: DashboardSettings, events: EventReader | None = None
) -> FastAPI:
    """The controller's HTTP app; `settings` is `Settings.dashboard`, `events` defaults to
    the API server's."""
    app = FastAPI(title="Plattr controller", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        healthy = view.healthy()
        return JSONResponse({"healthy": healthy}, status_code=200 if healthy else 500)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        ready = view.ready()
        body = {"ready": ready, "leader": view.leading()}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(view.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    install(app, view, settings, events)
    return app


def install(
    app: FastAPI,
    view: ControllerView,
    settings: DashboardSettings,
    events: EventReader | None = None,
) -> Dashboard:
    """Mount the dashboard on `app`: its routes and its error handlers."""
    prepare_models()  # the server's threads decode specs (a no-op after `Controller.start`)
    events = events or KubeEvents(
        lambda: Kube(
            load_api_client(), view.metrics.count_request, view.metrics.kube_throttling.throttle
        )
    )
    dashboard = Dashboard.build(view, settings, events)
    app.include_router(api_router(dashboard))
    publish_schemas(app)
    app.include_router(page_router(dashboard))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    return dashboard


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    return _error(request, exc.status_code, str(exc.detail), exc.headers)


async def _invalid(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return _error(request, 422, f"invalid request: {problems}")


def _error(
    request: Request, code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if not wants_html(request):
        return encoded(ErrorOut(message=message), code, headers)
    if code == 401 and request.url.path != CALLBACK_PATH:  # a failed sign-in is shown, not retried
        return RedirectResponse("/login", status_code=303)
    return templates.TemplateResponse(
        request, "error.html", {"code": code, "message": message}, status_code=code
    )
