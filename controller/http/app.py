"""The FastAPI app served on METRICS_PORT: `/healthz`, `/readyz`, `/metrics`.

The dashboard issue extends it: `app = create_app(controller.view)`, then
`app.include_router(router)`, and in a route `view_of(request).cache.list("Application")`.
Every replica serves it, the standbys included: their caches are as warm as the leader's.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller import dashboard
from controller.runtime import ControllerView


def create_app(view: ControllerView) -> FastAPI:
    app = FastAPI(title="Plattr controller", docs_url=None, redoc_url=None)
    app.state.view = view

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

    dashboard.install(app, view)
    return app


def view_of(request: Request) -> ControllerView:
    """The controller's view, for routes added to the app (a FastAPI dependency)."""
    view: ControllerView = request.app.state.view
    return view
