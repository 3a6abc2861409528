"""The dashboard's pages: server-rendered, readable without JavaScript; `static/live.js`
keeps them current from the live stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from controller.kinds import APPLICATION, PREVIEW
from controller.machinery.objects import ObjectKey
from controller.web.auth import COOKIE
from controller.web.oidc import (
    CALLBACK_PATH,
    SESSION_COOKIE,
    SESSION_SECONDS,
    STATE_COOKIE,
    STATE_SECONDS,
    OidcError,
)
from controller.web.project import PREVIEWS
from controller.web.service import Dashboard, Filters
from plattr.api import ApplicationSummary, Phase

HERE: Final = Path(__file__).parent
STATIC: Final = {"dashboard.css": "text/css", "live.js": "text/javascript"}
KIND_PATHS: Final = {"apps": APPLICATION.name, "previews": PREVIEW.name}
PATHS_BY_KIND: Final = {kind: path for path, kind in KIND_PATHS.items()}
BOARD_ORDER: Final = ("Failed", "Provisioning", "Pending", "Unknown", "Running")
"""Within a column, what needs a look comes first."""
templates: Final = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["page_path"] = lambda app: (
    f"/{PATHS_BY_KIND[app.kind]}/{app.namespace}/{app.name}"
)


def page_router(dashboard: Dashboard) -> APIRouter:
    public = APIRouter(include_in_schema=False)
    router = APIRouter(include_in_schema=False, dependencies=[Depends(dashboard.guard)])

    @router.get("/", response_class=HTMLResponse)
    def board(
        request: Request,
        environment: str | None = None,
        phase: Phase | None = None,
        text: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Response:
        wanted = Filters(environment, phase, text)
        summaries = [*dashboard.projector.applications(), *dashboard.projector.previews()]
        shown = [summary for summary in summaries if wanted(summary)]
        every = board_columns(dashboard.view.environments().names, summaries)
        columns = {
            column: sorted((s for s in shown if s.environment == column), key=board_order)
            for column in every
            if environment in (None, column)
        }
        return templates.TemplateResponse(
            request,
            "board.html",
            {
                "columns": columns,
                "filters": wanted,
                "phases": ("Running", "Provisioning", "Pending", "Failed"),
                "environments": every,
                "counts": _counts(shown),
                "total": len(shown),
                "ready": dashboard.view.ready(),
            },
        )

    for path, kind in KIND_PATHS.items():
        router.add_api_route(f"/{path}/{{namespace}}/{{name}}", _detail(dashboard, kind))
        router.add_api_route(f"/cards/{path}/{{namespace}}/{{name}}", _card(dashboard, kind))

    @public.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, f"no static file {name}")
        return FileResponse(
            HERE / "static" / name,
            media_type=STATIC[name],
            headers={"Cache-Control": "public, max-age=300"},
        )

    @public.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        """Token mode: the form; OIDC: off to the identity provider; else nothing to do."""
        guard = dashboard.guard
        if guard.oidc is not None:
            address, state = guard.oidc.login_url()
            response = RedirectResponse(address, status_code=303)
            response.set_cookie(STATE_COOKIE, state, max_age=STATE_SECONDS, **_cookie(request))
            return response
        if guard.mode == "token":
            return templates.TemplateResponse(request, "login.html", {"failed": False})
        return RedirectResponse("/", status_code=303)

    @public.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        """Checks the token and keeps it in an HttpOnly cookie; changes nothing else."""
        if dashboard.guard.mode != "token":
            raise HTTPException(404, "no sign-in form: DASHBOARD_AUTH is not token")
        form = parse_qs((await request.body()).decode(errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        if not dashboard.guard.accepts(token):
            return templates.TemplateResponse(
                request, "login.html", {"failed": True}, status_code=401
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, **_cookie(request))
        return response

    @public.get(CALLBACK_PATH, response_class=HTMLResponse)
    def signed_in(request: Request, code: str = "", state: str = "") -> Response:
        """Where the identity provider sends people back (DASHBOARD_AUTH=oidc)."""
        oidc = dashboard.guard.oidc
        if oidc is None:
            raise HTTPException(404, "DASHBOARD_AUTH is not oidc")
        try:
            session = oidc.sign_in(code, state, request.cookies.get(STATE_COOKIE))
        except OidcError as exc:
            raise HTTPException(401, f"sign-in failed: {exc}") from exc
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, **_cookie(request))
        response.delete_cookie(STATE_COOKIE)
        return response

    public.include_router(router)
    return public


def _detail(dashboard: Dashboard, kind: str) -> Callable[..., Response]:
    def detail(request: Request, namespace: str, name: str) -> Response:
        key = ObjectKey(kind, namespace, name)
        found = dashboard.detail(key)
        if found is None:
            raise HTTPException(404, f"no {kind} {name} in namespace {namespace}")
        context = {"detail": found, "summary": dashboard.projector.summary(key)}
        return templates.TemplateResponse(request, "detail.html", context)

    return detail


def _card(dashboard: Dashboard, kind: str) -> Callable[..., Response]:
    def card(
        request: Request,
        namespace: str,
        name: str,
        *,
        environment: str | None = None,
        phase: Phase | None = None,
        text: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Response:
        """One card, for the live updates; 204 when it is gone or filtered out."""
        summary = dashboard.projector.summary(ObjectKey(kind, namespace, name))
        if summary is None or not Filters(environment, phase, text)(summary):
            return Response(status_code=204)
        return templates.TemplateResponse(request, "card.html", {"app": summary})

    return card


def board_columns(declared: Sequence[str], summaries: Iterable[ApplicationSummary]) -> list[str]:
    """The declared environments in their order, then any environment an app names that is
    not declared (its apps stay in sight: they are refused, not gone), then the previews."""
    undeclared = sorted({s.environment for s in summaries} - {*declared, PREVIEWS})
    return [*declared, *undeclared, PREVIEWS]


def board_order(summary: ApplicationSummary) -> str:
    """A card's place in its column (also its `data-sort`, which live.js inserts by)."""
    return f"{BOARD_ORDER.index(summary.phase)} {summary.app} {summary.namespace}"


templates.env.filters["board_order"] = board_order


def _cookie(request: Request) -> dict[str, Any]:
    """HttpOnly, Lax (it must survive the identity provider's redirect back), Secure on https."""
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


def _counts(summaries: list[ApplicationSummary]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for summary in summaries:
        counts[summary.phase] = counts.get(summary.phase, 0) + 1
    return counts


def wants_html(request: Request) -> bool:
    """A person's browser (not the API, not a client asking for JSON)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )
