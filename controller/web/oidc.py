"""DASHBOARD_AUTH=oidc: people sign in at Keycloak (or any OpenID Connect provider) with the
authorization-code flow; the dashboard then keeps who they are in a signed, HttpOnly session
cookie for 8 hours. API clients send a provider access token as a bearer token, checked at
the provider's userinfo endpoint (answers kept for a minute).

Which library does what:

- Authlib is the OpenID Connect client (`authlib.integrations.base_client`, over its
  requests-based `OAuth2Session`): it reads the provider's discovery document, builds the
  authorization request with a fresh `state` and `nonce`, exchanges the code at the token
  endpoint (client_secret_basic), checks the ID token (signature against the provider's
  JWKS, issuer, audience, expiry, nonce, at_hash) and calls the userinfo endpoint.
- itsdangerous (`URLSafeTimedSerializer`, HMAC-SHA256, a key derived from the client secret
  so every replica agrees) signs the two cookies and expires them: the state cookie (10
  minutes), which ties the callback to the browser that started the sign-in, and the
  session cookie (8 hours), which holds who signed in.
- This module: which cookie holds what, the callback's state against its cookie's, the
  userinfo cache, and errors for people (never a token or a secret).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import (
    BaseApp,
    FrameworkIntegration,
    OAuth2Mixin,
    OpenIDMixin,
)
from authlib.integrations.requests_client import OAuth2Session
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from joserfc.errors import ExpiredTokenError, JoseError

from controller.config import DashboardSettings

SESSION_COOKIE: Final = "plattr_dashboard_session"
STATE_COOKIE: Final = "plattr_dashboard_state"
SESSION_SECONDS: Final = 8 * 3600
STATE_SECONDS: Final = 600
USERINFO_SECONDS: Final = 60.0
TIMEOUT_SECONDS: Final = 5.0
CALLBACK_PATH: Final = "/oauth/callback"
Clock = Callable[[], float]


class OidcError(Exception):
    """The sign-in did not complete: a reason for people (never a token or a secret)."""


class _Provider(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's OpenID Connect client, outside any web framework's session: the state and
    nonce it makes travel in the dashboard's own signed cookie."""

    client_cls = OAuth2Session


class _Signer(TimestampSigner):
    """itsdangerous' timestamped signer, on the client's clock."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class OidcClient:
    def __init__(self, settings: DashboardSettings, clock: Clock = time.time) -> None:
        issuer, client_id, secret = (
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret,
        )
        if not (settings.url and issuer and client_id and secret):
            raise OidcError("DASHBOARD_URL and DASHBOARD_OIDC_* are not set")
        self.redirect_uri = f"{settings.url}{CALLBACK_PATH}"
        self._provider = _Provider(
            FrameworkIntegration("plattr-dashboard"),
            client_id=client_id,
            client_secret=secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid", "default_timeout": TIMEOUT_SECONDS},
        )
        self._issuer = issuer
        signing = {"clock": clock, "digest_method": hashlib.sha256}
        self._state = URLSafeTimedSerializer(
            secret, "plattr-dashboard-state", signer=_Signer, signer_kwargs=signing
        )
        self._session = URLSafeTimedSerializer(
            secret, "plattr-dashboard-session", signer=_Signer, signer_kwargs=signing
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._userinfo: dict[str, tuple[float, str | None]] = {}

    def login_url(self) -> tuple[str, str]:
        """The provider's sign-in address and the state cookie that goes with it."""
        request = self._ask(lambda: self._provider.create_authorization_url(self.redirect_uri))
        cookie = self._state.dumps({"state": request["state"], "nonce": request["nonce"]})
        return str(request["url"]), cookie

    def sign_in(self, code: str, state: str, state_cookie: str | None) -> str:
        """The session cookie for the person who just signed in."""
        started = self._unsign(self._state, state_cookie, STATE_SECONDS)
        if started is None or not hmac.compare_digest(str(started.get("state")), state):
            raise OidcError("the sign-in expired or did not start here; sign in again")
        try:
            token = self._ask(
                lambda: self._provider.fetch_access_token(redirect_uri=self.redirect_uri, code=code)
            )
        except AuthlibBaseError as exc:
            reason = exc.error or type(exc).__name__
            raise OidcError(f"the identity provider refused the sign-in ({reason})") from exc
        try:
            claims = self._ask(
                lambda: self._provider.parse_id_token(token, nonce=started.get("nonce"))
            )
        except ExpiredTokenError as exc:
            raise OidcError("the ID token has expired; sign in again") from exc
        except JoseError as exc:
            reason = exc.error or type(exc).__name__
            raise OidcError(f"the ID token is not for this dashboard ({reason})") from exc
        if not claims:
            raise OidcError("the identity provider sent no ID token")
        return self.session_for(str(claims.get("preferred_username") or claims["sub"]))

    def session_for(self, user: str) -> str:
        """A session cookie for `user`, good for SESSION_SECONDS."""
        return self._session.dumps({"user": user})

    def session_user(self, cookie: str | None) -> str | None:
        payload = self._unsign(self._session, cookie, SESSION_SECONDS)
        return str(payload["user"]) if payload and "user" in payload else None

    def token_user(self, token: str) -> str | None:
        """Who a bearer access token belongs to, per the provider's userinfo endpoint."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        with self._lock:
            known = self._userinfo.get(digest)
        if known is not None and known[0] > now:
            return known[1]
        endpoint = self._ask(self._provider.load_server_metadata)["userinfo_endpoint"]
        bearer = {"access_token": token, "token_type": "Bearer"}
        answer = self._ask(lambda: self._provider.get(endpoint, token=bearer))
        user = str(answer.json().get("sub")) if answer.status_code == 200 else None
        with self._lock:
            self._userinfo = {k: v for k, v in self._userinfo.items() if v[0] > now}
            self._userinfo[digest] = (now + USERINFO_SECONDS, user)
        return user

    def _ask(self, call: Callable[[], Any]) -> Any:
        """`call` to the provider; no answer or no discovery document is an OidcError."""
        try:
            return call()
        except requests.RequestException as exc:
            raise OidcError(
                f"the identity provider at {self._issuer} did not answer: {type(exc).__name__}"
            ) from exc

    @staticmethod
    def _unsign(
        serializer: URLSafeTimedSerializer, value: str | None, seconds: int
    ) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            payload = serializer.loads(value, max_age=seconds)
        except BadSignature:  # forged, altered, signed with another secret, or expired
            return None
        return payload if isinstance(payload, dict) else None
