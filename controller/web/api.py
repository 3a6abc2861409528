"""`/api/v1`: the dashboard's JSON API, served from the controller's watch cache (never a
list from the API server per request), on every replica. Read-only.

The answers are `plattr.api` types encoded by msgspec. The OpenAPI document (`/openapi.json`)
describes them with schemas generated from the same types (`publish_schemas`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final

import msgspec
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from controller.kinds import APPLICATION
from controller.machinery.objects import ObjectKey
from controller.web.paging import CONTINUE_PATTERN, InvalidContinue, page, place_of
from controller.web.service import Dashboard, Filters
from controller.web.stream import sse
from plattr import patterns
from plattr.api import (
    API_PREFIX,
    DEFAULT_PAGE_LIMIT,
    RESPONSE_TYPES,
    ApplicationDetail,
    ApplicationList,
    ApplicationSummary,
    EnvironmentList,
    EnvironmentOut,
    ErrorOut,
    Phase,
    PreviewList,
)
from plattr.models import ENVIRONMENT_NAME_MAX

JSON: Final = "application/json"
REF_TEMPLATE: Final = "#/components/schemas/{name}"
Environment = Annotated[
    str | None,
    Query(
        pattern=patterns.DNS1035_LABEL,
        max_length=ENVIRONMENT_NAME_MAX,
        description="A declared environment (`/environments` lists them); another matches none",
    ),
]
Limit = Annotated[
    int,
    Query(ge=0, description="Applications per page; 0 lists them all on one page"),
]
Continue = Annotated[
    str | None,
    Query(
        alias="continue",
        pattern=CONTINUE_PATTERN,
        max_length=1000,
        description="The `continue` of the previous page, for the page after it",
    ),
]
Text = Annotated[
    str | None, Query(max_length=100, description="Part of the name, namespace or image")
]


def answer(body: type[msgspec.Struct], description: str) -> dict[str, Any]:
    """An OpenAPI response whose JSON body is `body`, one of `plattr.api.RESPONSE_TYPES`."""
    schema = {"$ref": REF_TEMPLATE.format(name=body.__name__)}
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: answer(ErrorOut, "Not signed in (DASHBOARD_AUTH=token or oidc)"),
    422: answer(ErrorOut, "A parameter is not valid"),
}


def encoded(
    value: msgspec.Struct, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`value` as the JSON body of a response."""
    return Response(msgspec.json.encode(value), status_code, headers, media_type=JSON)


class PageBodies:
    """The JSON of the unfiltered list's pages, kept while the projector returns the same
    tuple: between two changes, every client asking for the same page shares one encoding."""

    KEEP: Final = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._summaries: tuple[ApplicationSummary, ...] = ()
        self._bodies: dict[tuple[str | None, int], bytes] = {}

    def of(
        self,
        summaries: tuple[ApplicationSummary, ...],
        request: tuple[str | None, int],
        encode: Callable[[], bytes],
    ) -> bytes:
        with self._lock:  # held while encoding: concurrent requests wait for one encoding
            if self._summaries is not summaries:
                self._summaries, self._bodies = summaries, {}
            body = self._bodies.get(request)
            if body is None:
                if len(self._bodies) >= self.KEEP:
                    self._bodies.clear()
                body = self._bodies[request] = encode()
            return body


def api_router(dashboard: Dashboard) -> APIRouter:
    router = APIRouter(
        prefix=API_PREFIX, tags=["dashboard"], dependencies=[Depends(dashboard.guard)]
    )

    unfiltered = PageBodies()

    @router.get(
        "/applications",
        responses={200: answer(ApplicationList, "A page of the Applications"), **ERRORS},
    )
    def list_applications(
        environment: Environment = None,
        phase: Phase | None = None,
        text: Text = None,
        limit: Limit = DEFAULT_PAGE_LIMIT,
        after: Continue = None,
    ) -> Response:
        """The Applications, filtered, sorted by app then environment (in the declaration's
        order), a page of `limit` at a time: `continue` in the answer asks for the next."""
        wanted = Filters(environment, phase, text)
        summaries = dashboard.projector.applications()
        try:
            place = None if after is None else place_of(after)
        except InvalidContinue as error:
            raise HTTPException(422, str(error)) from None

        def encode() -> bytes:
            items, token = page(
                summaries, dashboard.projector.sort_key(), after=place, limit=limit, wanted=wanted
            )
            return msgspec.json.encode(ApplicationList(items=items, continue_=token))

        if wanted == Filters():
            return Response(unfiltered.of(summaries, (after, limit), encode), media_type=JSON)
        return Response(encode(), media_type=JSON)

    @router.get(
        "/applications/{namespace}/{name}",
        responses={
            200: answer(ApplicationDetail, "The Application"),
            **ERRORS,
            404: answer(ErrorOut, "No such Application"),
        },
    )
    def get_application(namespace: str, name: str) -> Response:
        """One Application: spec summary, every condition, Secret names, recent Events."""
        found = dashboard.detail(ObjectKey(APPLICATION.name, namespace, name))
        if found is None:
            raise HTTPException(404, f"no Application {name} in namespace {namespace}")
        return encoded(found)

    @router.get(
        "/environments",
        responses={200: answer(EnvironmentList, "The declared environments"), **ERRORS},
    )
    def list_environments() -> Response:
        """The environments the platform declares, in the declaration's order."""
        declared = dashboard.view.environments()
        return encoded(
            EnvironmentList(
                items=tuple(
                    EnvironmentOut(
                        name=env.name,
                        namespace=env.namespace_name,
                        sync=env.sync,
                        previews=env.previews,
                    )
                    for env in declared
                )
            )
        )

    @router.get("/previews", responses={200: answer(PreviewList, "The previews"), **ERRORS})
    def list_previews(phase: Phase | None = None, text: Text = None) -> Response:
        """Every PreviewEnvironment with its pull request, URL and time left."""
        wanted = Filters(None, phase, text)
        previews = dashboard.projector.previews()
        return encoded(PreviewList(items=tuple(item for item in previews if wanted(item))))

    @router.get(
        "/stream",
        response_class=StreamingResponse,
        responses={
            **ERRORS,
            200: {
                "description": "Server-sent events: `upsert` (an ApplicationSummary or "
                "PreviewSummary), `delete` (a Removed), `reset` (reload all)",
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


def publish_schemas(app: FastAPI) -> None:
    """Add the JSON Schemas of every `plattr.api` response type to `app`'s OpenAPI
    document, where the routes' `responses` refer to them."""
    _, components = msgspec.json.schema_components(RESPONSE_TYPES, ref_template=REF_TEMPLATE)
    document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = document()  # FastAPI keeps it in app.openapi_schema
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
