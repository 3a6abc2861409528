"""Optional protection in front of the dashboard (`DASHBOARD_AUTH`):

- `none`: anyone who reaches the port;
- `token`: a bearer token in the `Authorization` header (the API, `plattr status`) or in a
  cookie set by the login form (the page and its live stream: EventSource sends no headers);
- `oidc`: a session cookie from signing in at the identity provider (`oidc.py`), or a
  provider access token as the bearer token.

Every mode is read-only: the login form is the only thing that accepts a POST, and it writes
nothing but its own cookie."""

from __future__ import annotations

import hmac
from typing import Final

from fastapi import HTTPException, Request, status

from controller.config import DashboardSettings
from controller.web.oidc import SESSION_COOKIE, OidcClient, OidcError

COOKIE: Final = "plattr_dashboard_token"
HOW: Final = {
    "token": "send `Authorization: Bearer <DASHBOARD_TOKEN>` (PLATTR_API_TOKEN for `plattr "
    "status`), or sign in at /login",
    "oidc": "sign in at /login, or send `Authorization: Bearer <an access token of the "
    "dashboard's identity provider>` (PLATTR_API_TOKEN for `plattr status`)",
}


class NotSignedIn(HTTPException):
    def __init__(self, how: str) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED, f"sign in: {how}", headers={"WWW-Authenticate": "Bearer"}
        )


class Guard:
    """A FastAPI dependency: passes a request that may read the dashboard."""

    def __init__(self, settings: DashboardSettings, oidc: OidcClient | None = None) -> None:
        self.mode = settings.auth
        self.oidc = oidc
        self._token = (settings.token or "").encode()

    def __call__(self, request: Request) -> None:
        if self.mode == "none":
            return
        if self.mode == "token":
            if not self.accepts(bearer(request) or request.cookies.get(COOKIE)):
                raise NotSignedIn(HOW["token"])
            return
        if self.oidc is None or not _oidc_user(self.oidc, request):
            raise NotSignedIn(HOW["oidc"])

    def accepts(self, token: str | None) -> bool:
        """Whether `token` is DASHBOARD_TOKEN (token mode)."""
        return token is not None and hmac.compare_digest(token.encode(), self._token)


def _oidc_user(oidc: OidcClient, request: Request) -> str | None:
    if user := oidc.session_user(request.cookies.get(SESSION_COOKIE)):
        return user
    token = bearer(request)
    try:
        return oidc.token_user(token) if token else None
    except OidcError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
