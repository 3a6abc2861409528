"""Keycloak's admin credentials from their Secret: what a missing or incomplete Secret says,
and that the provisioner logs in anew when they change, never showing the password."""

from __future__ import annotations

import http.server
import threading
from types import SimpleNamespace

import pytest
import requests
import requests.adapters

from controller.provisioners.auth import (
    AdminCredentials,
    KeycloakProvisioner,
    admin_credentials,
    throttle_retry,
)
from controller.provisioners.counting import CallCounter
from controller.provisioners.interfaces import ProvisionerError
from plattr.naming import Target

SECRET = "plattr-system/keycloak-admin"


def test_a_missing_secret_is_named_with_the_command_that_creates_it() -> None:
    with pytest.raises(ProvisionerError) as caught:
        admin_credentials(None, SECRET)
    assert caught.value.reason == "AuthCredentialsMissing"
    message = str(caught.value)
    assert "there is no Secret plattr-system/keycloak-admin" in message
    assert "kubectl -n plattr-system create secret generic keycloak-admin" in message
    assert "no restart" in message


def test_the_username_may_come_from_keycloak_admin_user() -> None:
    assert admin_credentials({"password": "pw"}, SECRET, "admin") == AdminCredentials("admin", "pw")
    assert admin_credentials({"username": "kc", "password": "pw"}, SECRET, "admin").username == (
        "kc"
    )
    with pytest.raises(ProvisionerError, match="has no username and no password"):
        admin_credentials({}, SECRET)


def test_the_password_stays_out_of_repr() -> None:
    assert "hunter2" not in repr(AdminCredentials("admin", "hunter2"))


class FakeConnection:
    """Enough of python-keycloak's connection for a drop of a realm that is not there."""

    token = "a token"
    expires_at = None
    _s = SimpleNamespace(hooks={"response": []}, adapters={})
    keycloak_openid = SimpleNamespace(connection=SimpleNamespace(_s=SimpleNamespace(adapters={})))

    def raw_delete(self, path: str) -> SimpleNamespace:
        return SimpleNamespace(status_code=404)


class FakeAdmin:
    """python-keycloak's KeycloakAdmin as far as the provisioner uses it: its connection."""

    def __init__(self, credentials: AdminCredentials) -> None:
        self.credentials = credentials
        self.connection = FakeConnection()


def test_the_provisioner_waits_for_the_credentials_and_logs_in_anew_when_they_change() -> None:
    current: dict[str, str] | None = None
    logins: list[AdminCredentials] = []

    def connect(credentials: AdminCredentials) -> FakeAdmin:
        logins.append(credentials)
        return FakeAdmin(credentials)

    provisioner = KeycloakProvisioner(
        connect, lambda: admin_credentials(current, SECRET), keycloak_url="http://kc"
    )
    target = Target("shop", "staging")
    with pytest.raises(ProvisionerError, match="no Secret plattr-system/keycloak-admin"):
        provisioner.drop(target)
    assert logins == []
    current = {"username": "admin", "password": "one"}
    assert provisioner.drop(target) is False
    assert provisioner.drop(target) is False
    current = {"username": "admin", "password": "two"}
    assert provisioner.drop(target) is False
    assert [c.password for c in logins] == ["one", "two"]


class Busy(http.server.BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 0) to the first `busy` requests, then 200."""

    busy = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).busy > 0:
            type(self).busy -= 1
            self.send_response(429)
            self.send_header("Retry-After", "0")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.mark.parametrize(("busy", "status", "throttled"), [(2, 200, 2), (9, 429, 5)])
def test_keycloak_throttling_is_retried_by_the_session_and_counted(
    busy: int, status: int, throttled: int
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Busy.busy = busy
    counter = CallCounter()
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=throttle_retry(counter)))
    try:
        answer = session.post(f"http://127.0.0.1:{server.server_port}/admin/realms", data="{}")
    finally:
        server.shutdown()
    assert answer.status_code == status  # the last answer itself once the retries are spent
    assert counter.throttled == throttled
