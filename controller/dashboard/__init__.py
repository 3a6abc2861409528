"""The status dashboard and its JSON API, served by the controller's HTTP app on every
replica from the watch cache: `install(app, view)` adds the routes and the error handlers
(JSON `{"message": ...}` for the API, a page for people)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from controller.config import DashboardSettings
from controller.dashboard.api import api_router
from controller.dashboard.events import EventReader, KubeEvents
from controller.dashboard.oidc import CALLBACK_PATH
from controller.dashboard.pages import page_router, templates, wants_html
from controller.dashboard.service import Dashboard
from controller.kube import Kube, load_api_client
from controller.runtime import ControllerView


def install(
    app: FastAPI,
    view: ControllerView,
    settings: DashboardSettings | None = None,
    events: EventReader | None = None,
) -> Dashboard:
    """Mount the dashboard on `app`; settings default to the environment's."""
    events = events or KubeEvents(lambda: Kube(load_api_client(), view.metrics.count_request))
    dashboard = Dashboard.build(view, settings or DashboardSettings.from_env(os.environ), events)
    app.include_router(api_router(dashboard))
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
        return JSONResponse({"message": message}, status_code=code, headers=dict(headers or {}))
    if code == 401 and request.url.path != CALLBACK_PATH:  # a failed sign-in is shown, not retried
        return RedirectResponse("/login", status_code=303)
    return templates.TemplateResponse(
        request, "error.html", {"code": code, "message": message}, status_code=code
    )


__all__ = ["Dashboard", "install"]
