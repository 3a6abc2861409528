"""`/api/v1`: the dashboard's JSON API, served from the controller's watch cache (never a
list from the API server per request), on every replica. Read-only."""

from __future__ import annotations

import threading
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from controller.web.models import (
    ApplicationDetail,
    ApplicationList,
    ApplicationSummary,
    ErrorOut,
    Phase,
    PreviewList,
)
from controller.web.service import Dashboard, Filters
from controller.web.stream import sse
from controller.kinds import APPLICATION, ObjectKey
from plattr.models import Environment

JSON: Final = "application/json"
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorOut, "description": "Not signed in (DASHBOARD_AUTH=token)"},
    422: {"model": ErrorOut, "description": "A parameter is not valid"},
}
Text = Annotated[
    str | None, Query(max_length=100, description="Part of the name, namespace or image")
]


class LastBody:
    """The JSON of the unfiltered list, kept while the projector returns the same tuple."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[tuple[ApplicationSummary, ...], bytes] | None = None

    def of(self, summaries: tuple[ApplicationSummary, ...]) -> bytes:
        with self._lock:
            last = self._last
        if last is not None and last[0] is summaries:
            return last[1]
        body = ApplicationList(items=list(summaries)).model_dump_json(by_alias=True).encode()
        with self._lock:
            self._last = (summaries, body)
        return body


def api_router(dashboard: Dashboard) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["dashboard"], dependencies=[Depends(dashboard.guard)]
    )

    unfiltered = LastBody()

    @router.get("/applications", response_model=ApplicationList, responses=ERRORS)
    def list_applications(
        environment: Environment | None = None,
        phase: Phase | None = None,
        text: Text = None,
    ) -> Response:
        """Every Application, filtered, sorted by app then environment."""
        wanted = Filters(environment, phase, text)
        summaries = dashboard.projector.applications()
        if wanted == Filters():
            return Response(unfiltered.of(summaries), media_type=JSON)
        items = [item for item in summaries if wanted(item)]
        return Response(
            ApplicationList(items=items).model_dump_json(by_alias=True), media_type=JSON
        )

    @router.get(
        "/applications/{namespace}/{name}",
        response_model=ApplicationDetail,
        response_model_by_alias=True,
        responses={**ERRORS, 404: {"model": ErrorOut, "description": "No such Application"}},
    )
    def get_application(namespace: str, name: str) -> ApplicationDetail:
        """One Application: spec summary, every condition, Secret names, recent Events."""
        found = dashboard.detail(ObjectKey(APPLICATION.name, namespace, name))
        if found is None:
            raise HTTPException(404, f"no Application {name} in namespace {namespace}")
        return found

    @router.get("/previews", response_model=PreviewList, responses=ERRORS)
    def list_previews(phase: Phase | None = None, text: Text = None) -> Response:
        """Every PreviewEnvironment with its pull request, URL and time left."""
        wanted = Filters(None, phase, text)
        items = [item for item in dashboard.projector.previews() if wanted(item)]
        return Response(PreviewList(items=items).model_dump_json(by_alias=True), media_type=JSON)

    @router.get(
        "/stream",
        response_class=StreamingResponse,
        responses={
            **ERRORS,
            200: {
                "description": "Server-sent events: `upsert` (an ApplicationSummary or "
                "PreviewSummary), `delete` ({kind, namespace, name}), `reset` (reload all)",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
        },
    )
    def stream(namespace: str | None = None, name: str | None = None) -> StreamingResponse:
        """Changes to Applications and PreviewEnvironments as they reach the cache; `name`
        follows one app (its previews included)."""
        events = sse(dashboard.hub, dashboard.render, dashboard.wanted(namespace, name))
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
