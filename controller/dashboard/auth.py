"""Optional protection in front of the dashboard (`DASHBOARD_AUTH`): `none`, or `token`,
a bearer token in the `Authorization` header (the API, `plattr status`) or in a cookie set
by the login form (the page and its live stream: EventSource sends no headers). Every mode
is read-only: the login form is the only thing that accepts a POST, and it writes nothing
but its own cookie."""

from __future__ import annotations

import hmac
from typing import Final

from fastapi import HTTPException, Request, status

from controller.config import DashboardSettings

COOKIE: Final = "plattr_dashboard_token"


class NotSignedIn(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "sign in: send `Authorization: Bearer <DASHBOARD_TOKEN>` (or PLATTR_API_TOKEN "
            "for `plattr status`)",
            headers={"WWW-Authenticate": "Bearer"},
        )


class Guard:
    """A FastAPI dependency: passes a request that may read the dashboard."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.enabled = settings.auth == "token"
        self._token = (settings.token or "").encode()

    def __call__(self, request: Request) -> None:
        if self.enabled and not self.accepts(presented(request)):
            raise NotSignedIn

    def accepts(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self._token)


def presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)
