"""DASHBOARD_AUTH=oidc: people sign in at Keycloak (or any OpenID Connect provider) with the
authorization-code flow; the dashboard then keeps who they are in a signed, HttpOnly session
cookie. API clients send a provider access token as a bearer token, checked at the
provider's userinfo endpoint (answers kept for a minute).

The ID token comes straight from the token endpoint over the back channel, so its issuer,
audience and expiry are checked and its signature is not (OpenID Connect Core 3.1.3.7).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from controller.config import DashboardSettings

SESSION_COOKIE: Final = "plattr_dashboard_session"
STATE_COOKIE: Final = "plattr_dashboard_state"
SESSION_SECONDS: Final = 8 * 3600
STATE_SECONDS: Final = 600
USERINFO_SECONDS: Final = 60.0
TIMEOUT_SECONDS: Final = 5.0
CALLBACK_PATH: Final = "/oauth/callback"


class OidcError(Exception):
    """The sign-in did not complete: a reason for people (never a token or a secret)."""


class Signer:
    """Values only this dashboard can have made: `<base64 JSON>.<HMAC-SHA256>`, with expiry."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def sign(self, payload: dict[str, Any], seconds: int) -> str:
        body = _b64(json.dumps({**payload, "exp": int(self._clock()) + seconds}).encode())
        return f"{body}.{self._mac(body)}"

    def unsign(self, value: str | None) -> dict[str, Any] | None:
        body, _, mac = (value or "").partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        payload: dict[str, Any] = json.loads(_unb64(body))
        return payload if payload.get("exp", 0) > self._clock() else None

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


class OidcClient:
    def __init__(
        self,
        settings: DashboardSettings,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (settings.url and settings.oidc_issuer and settings.oidc_client_id):
            raise OidcError("DASHBOARD_URL and DASHBOARD_OIDC_* are not set")
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret or ""
        self.redirect_uri = f"{settings.url}{CALLBACK_PATH}"
        self._http = http or httpx.Client(timeout=TIMEOUT_SECONDS)
        self._clock = clock
        self._lock = threading.Lock()
        self._discovery: dict[str, Any] | None = None
        self._userinfo: dict[str, tuple[float, str | None]] = {}
        key = hmac.new(self._secret.encode(), b"plattr-dashboard-session", hashlib.sha256)
        self.signer = Signer(key.digest(), clock)  # the same on every replica

    def login_url(self) -> tuple[str, str]:
        """The provider's sign-in address and the state cookie that goes with it."""
        state = secrets.token_urlsafe(24)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid",
                "state": state,
            }
        )
        address = f"{self._endpoint('authorization_endpoint')}?{query}"
        return address, self.signer.sign({"state": state}, STATE_SECONDS)

    def sign_in(self, code: str, state: str, state_cookie: str | None) -> str:
        """The session cookie for the person who just signed in."""
        expected = self.signer.unsign(state_cookie)
        if expected is None or not hmac.compare_digest(str(expected.get("state")), state):
            raise OidcError("the sign-in expired or did not start here; sign in again")
        answer = self._post(
            self._endpoint("token_endpoint"),
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri},
        )
        claims = self._claims(str(answer.get("id_token", "")))
        user = str(claims.get("preferred_username") or claims.get("sub"))
        return self.signer.sign({"user": user}, SESSION_SECONDS)

    def session_user(self, cookie: str | None) -> str | None:
        payload = self.signer.unsign(cookie)
        return str(payload["user"]) if payload and "user" in payload else None

    def token_user(self, token: str) -> str | None:
        """Who a bearer access token belongs to, per the provider's userinfo endpoint."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        with self._lock:
            known = self._userinfo.get(digest)
        if known is not None and known[0] > now:
            return known[1]
        try:
            answer = self._http.get(
                self._endpoint("userinfo_endpoint"),
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"the identity provider did not answer: {type(exc).__name__}") from exc
        user = str(answer.json().get("sub")) if answer.status_code == 200 else None
        with self._lock:
            self._userinfo = {k: v for k, v in self._userinfo.items() if v[0] > now}
            self._userinfo[digest] = (now + USERINFO_SECONDS, user)
        return user

    def _claims(self, id_token: str) -> dict[str, Any]:
        parts = id_token.split(".")
        if len(parts) != 3:
            raise OidcError("the identity provider sent no ID token")
        claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self._endpoint("issuer") or self.client_id not in audiences:
            raise OidcError("the ID token is not for this dashboard")
        if float(claims.get("exp", 0)) <= self._clock():
            raise OidcError("the ID token has expired; sign in again")
        return claims

    def _post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            answer = self._http.post(url, data=form, auth=(self.client_id, self._secret))
        except httpx.HTTPError as exc:
            raise OidcError(f"the identity provider did not answer: {type(exc).__name__}") from exc
        if answer.status_code != 200:
            raise OidcError(f"the identity provider refused the sign-in ({answer.status_code})")
        body: dict[str, Any] = answer.json()
        return body

    def _endpoint(self, name: str) -> str:
        with self._lock:
            discovery = self._discovery
        if discovery is None:
            try:
                answer = self._http.get(f"{self.issuer}/.well-known/openid-configuration")
                answer.raise_for_status()
            except httpx.HTTPError as exc:
                raise OidcError(
                    f"cannot read {self.issuer}/.well-known/openid-configuration: "
                    f"{type(exc).__name__}"
                ) from exc
            discovery = answer.json()
            with self._lock:
                self._discovery = discovery
        return str(discovery[name])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
