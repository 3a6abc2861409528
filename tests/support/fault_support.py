"""Fault injection on the real stack: loopback TCP proxies that put each dependency out of
reach and back (connection refused, live connections reset: what a stopped server looks like
to a client), `plattr-controller` processes to kill, freeze and restart, and a snapshot of
everything an app owns outside and inside the cluster, with the app's name abstracted so an
interrupted run can be compared with an uninterrupted one."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from controller.kinds import APPLICATION, CONFIG_MAP, EVENT, PREVIEW, SECRET
from controller.machinery.kube import Kube
from controller.machinery.objects import ApiResource
from devstack import ControlPlane, Keycloak, Moto, Postgres, wait_until
from devstack.controlplane import write_kubeconfig
from devstack.ports import free_port
from devstack.process import spawn
from plattr import secret_keys
from plattr.naming import Target

TIMEOUT = 240.0
"""How long a dependency's recovery may take before the test fails saying which."""


class Proxy:
    """127.0.0.1:<port> → upstream, until `cut()`: then connections are refused and live
    ones reset, until `restore()` listens on the same port again."""

    def __init__(self, name: str, upstream_host: str, upstream_port: int) -> None:
        self.name = name
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.connections = 0
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._closed = False
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            live, self._live = self._live, set()
        for sock in live:
            with contextlib.suppress(OSError):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                sock.close()

    def close(self) -> None:
        self._closed = True
        self.cut()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = self._upstream(client)
        if server is not None:
            self._pump(client, server)

    def _upstream(self, client: socket.socket) -> socket.socket | None:
        """A connection to the upstream for `client` (closed when there is none)."""
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return None
        with self._lock:
            self.connections += 1
            self._live |= {client, server}
        return server

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._live -= {a, b}
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()


class ThrottlingProxy(Proxy):
    """An HTTP proxy that answers every `every`-th request itself with `status` and a
    Retry-After of one second, as a service under load does (each connection carries one
    request: the upstream is asked to close after its answer)."""

    def __init__(
        self, name: str, upstream_host: str, upstream_port: int, *, status: int, body: bytes
    ) -> None:
        self.status, self.body, self.every = status, body, 0
        self.requests = self.throttled = 0
        super().__init__(name, upstream_host, upstream_port)

    def _serve(self, client: socket.socket) -> None:
        request = _read_request(client)
        if request is None:
            client.close()
            return
        with self._lock:
            self.requests += 1
            throttle = self.every > 0 and self.requests % self.every == 0
            self.throttled += throttle
        if throttle:
            with contextlib.suppress(OSError):
                client.sendall(
                    f"HTTP/1.1 {self.status} Busy\r\nRetry-After: 1\r\n"
                    f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
                    + self.body
                )
            client.close()
            return
        server = self._upstream(client)
        if server is not None:
            server.sendall(request)
            self._pump(client, server)


def _read_request(client: socket.socket) -> bytes | None:
    """One HTTP request (head and Content-Length body), with `Connection: close`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in lines
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            return None
        body += chunk
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def restart_apiserver(plane: ControlPlane, down_seconds: float) -> float:
    """Stop kube-apiserver (etcd keeps the data), wait, start it again with the same flags
    on the same port; its watch cache starts afresh, so watches resuming from an older
    resourceVersion get 410 Gone. Returns the seconds it was unreachable."""
    old = plane.apiserver
    argv = [str(arg) for arg in old.popen.args]  # type: ignore[union-attr]
    flags = argv[argv.index("--") + 1 :]
    began = time.monotonic()
    old.stop()
    time.sleep(down_seconds)
    new = spawn("kube-apiserver", flags, old.log.parent)
    object.__setattr__(plane, "apiserver", new)  # the session's plane stops this one at its end

    def ready() -> bool:
        try:
            return (
                httpx.get(
                    f"{plane.url}/readyz",
                    headers={"Authorization": f"Bearer {plane.token}"},
                    verify=ssl.create_default_context(cafile=str(plane.ca_file)),
                    timeout=2,
                ).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    wait_until(ready, "kube-apiserver back after its restart", TIMEOUT, new)
    return time.monotonic() - began


def _via(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"{netloc[0]}@{proxy.address}" if len(netloc) == 2 else proxy.address
    return urlunsplit(parts._replace(netloc=host))


class Proxies:
    """One proxy per dependency: postgres, s3 (moto), keycloak, apiserver."""

    def __init__(
        self, plane: ControlPlane, postgres: Postgres, moto: Moto, keycloak: Keycloak, where: Path
    ) -> None:
        def upstream(url: str) -> tuple[str, int]:
            parts = urlsplit(url)
            assert parts.hostname, url
            assert parts.port, url
            return parts.hostname, parts.port

        self.postgres = Proxy("postgres", postgres.host, postgres.port)
        self.s3 = Proxy("s3", *upstream(moto.endpoint_url))
        self.keycloak = Proxy("keycloak", *upstream(keycloak.url))
        self.apiserver = Proxy("apiserver", *upstream(plane.url))
        self.kubeconfig = where / f"kubeconfig-proxied-{self.apiserver.port}"
        api_url = _via(plane.url, self.apiserver)
        write_kubeconfig(self.kubeconfig, api_url, plane.token, plane.ca_file)
        self.env = {
            "KUBECONFIG": str(self.kubeconfig),
            "DB_ADMIN_URL": _via(postgres.admin_url, self.postgres),
            **moto.env,
            "AWS_ENDPOINT_URL": _via(moto.endpoint_url, self.s3),
            **keycloak.env,
            "KEYCLOAK_URL": _via(keycloak.url, self.keycloak),
        }

    def __iter__(self) -> Any:
        return iter((self.postgres, self.s3, self.keycloak, self.apiserver))

    def close(self) -> None:
        for proxy in self:
            proxy.close()


class ControllerProcess:
    """One `plattr-controller` process, its log and its /metrics."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"controller-{name}.log"
        command = Path(sys.executable).parent / "plattr-controller"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "DASHBOARD_AUTH": "none",  # loopback only; the tests that guard it set their own
            **env,
            "POD_NAME": name,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(self.port),
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(command)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=3)
        except httpx.HTTPError:
            return None

    def ready(self) -> bool:
        answer = self.get("/readyz")
        return answer is not None and answer.status_code == 200

    def wait_ready(self) -> None:
        def ready() -> bool:
            code = self.process.poll()
            assert code is None, (
                f"controller {self.name} exited with {code} before it was ready; log {self.log}:"
                f"\n{self.log_text()[-2000:]}"
            )
            return self.ready()

        wait_until(ready, f"controller {self.name} ready (log {self.log})", TIMEOUT)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = self.get("/metrics")
        assert answer is not None, f"controller {self.name} /metrics unreachable"
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }

    def total(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, sample_labels), value in self.metrics().items()
            if sample == name and labels.items() <= dict(sample_labels).items()
        )

    def failed_reconciles(self, apps: Iterable[str]) -> float:
        """Failed reconciles of these apps (other modules' apps may share the cluster; the
        metric's `name` label cannot be filtered through `total`)."""
        names = set(apps)
        return sum(
            value
            for (sample, labels), value in self.metrics().items()
            if sample == "reconcile_total"
            and dict(labels).get("result") == "failure"
            and dict(labels).get("name") in names
        )

    def writes(self) -> float:
        """Kubernetes writes (Leases apart) and provisioner writes so far."""
        kube = sum(
            self.total("kube_api_requests_total", verb=verb)
            - self.total("kube_api_requests_total", verb=verb, resource="leases")
            for verb in ("POST", "PUT", "PATCH", "DELETE")
        )
        return kube + self.total("provisioner_calls_total", access="write")

    def signal(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# --- the state of apps -------------------------------------------------------------------


def phase(kube: Kube, kind: ApiResource, namespace: str, name: str) -> str | None:
    obj = kube.get(kind.item(namespace, name)) or {}
    value: str | None = (obj.get("status") or {}).get("phase")
    return value


def not_yet_running(kube: Kube, targets: Iterable[Target]) -> list[str]:
    """`app=phase` of the apps not Running yet; fails at once if one is Failed (the throttling
    tests' apps must never be)."""
    found = {t.app: phase(kube, APPLICATION, t.namespace, t.app) for t in targets}
    assert "Failed" not in found.values(), found
    return [f"{app}={value}" for app, value in found.items() if value != "Running"]


def service_account_token(kube: Kube, namespace: str, name: str) -> str:
    """A token of ServiceAccount `namespace/name` from the TokenRequest API."""
    account = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}"
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token: str = kube.create(f"{account}/token", request)["status"]["token"]
    return token


def conditions(
    kube: Kube, kind: ApiResource, namespace: str, name: str
) -> dict[str, dict[str, Any]]:
    obj = kube.get(kind.item(namespace, name)) or {}
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def wait_all(
    check: Callable[[], list[str]], what: str, timeout: float = TIMEOUT, *, logs: Path | None = None
) -> None:
    """Wait until `check` returns no laggard; fail naming them (and the log to read)."""
    deadline = time.monotonic() + timeout
    laggards = check()
    while laggards and time.monotonic() < deadline:
        time.sleep(1)
        laggards = check()
    assert not laggards, f"{what}: still not there after {timeout:.0f}s: {laggards[:10]}" + (
        f" (controller log: {logs})" if logs else ""
    )


def secret_data(kube: Kube, namespace: str, name: str) -> dict[str, str] | None:
    obj = kube.get(SECRET.item(namespace, name))
    if obj is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def secret_values(kube: Kube, targets: Iterable[Target]) -> set[str]:
    """Every credential the controller handed out to these apps (to scan for leaks)."""
    found: set[str] = set()
    for target in targets:
        for kind in ("db", "auth"):
            data = secret_data(kube, target.namespace, target.secret_name(kind)) or {}
            for key in (secret_keys.PGPASSWORD, secret_keys.DATABASE_URL, "OIDC_CLIENT_SECRET"):
                if data.get(key):
                    found.add(data[key])
    return found


@dataclass(frozen=True)
class Services:
    """The real services, reached directly (never through a proxy)."""

    kube: Kube
    postgres: Postgres
    moto: Moto
    keycloak: Keycloak


def snapshot(services: Services, target: Target, bucket_prefix: str = "plattr") -> dict[str, Any]:
    """What the app owns everywhere, with its name replaced by APP (comparable across apps);
    plus checks that its credentials work (a Secret that no longer logs in is half-made)."""
    app, kind = target.app, app_kind(target)
    kube, postgres, moto, keycloak = (
        services.kube,
        services.postgres,
        services.moto,
        services.keycloak,
    )

    def abstract(value: Any) -> Any:
        return json.loads(
            json.dumps(value, sort_keys=True)
            .replace(app.replace("-", "_"), "APP")
            .replace(app, "APP")
        )

    name = target.instance
    obj = kube.get(kind.item(target.namespace, name)) or {}
    status = obj.get("status") or {}
    state: dict[str, Any] = {
        "phase": status.get("phase"),
        "conditions": sorted(
            (c["type"], c["status"], c["reason"]) for c in status.get("conditions") or []
        ),
        "finalizers": obj.get("metadata", {}).get("finalizers"),
        "observed": status.get("observedGeneration") == obj.get("metadata", {}).get("generation"),
    }
    db = secret_data(kube, target.namespace, target.secret_name("db"))
    state["db_secret_keys"] = sorted(db) if db is not None else None
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        state["schemas"] = [
            row[0]
            for row in conn.execute(
                "SELECT nspname || ':' || pg_get_userbyid(nspowner) FROM pg_namespace "
                "WHERE nspname LIKE %s ORDER BY 1",
                (target.schema + "%",),
            )
        ]
        state["roles"] = [
            row[0]
            for row in conn.execute(
                "SELECT rolname || ':' || rolcanlogin || rolsuper || rolcreaterole "
                "FROM pg_roles WHERE rolname LIKE %s ORDER BY 1",
                (target.schema + "%",),
            )
        ]
    if db is not None:
        with psycopg.connect(db[secret_keys.DATABASE_URL], connect_timeout=5) as conn:
            state["db_login"] = conn.execute("SELECT current_user").fetchone() == (
                target.login_role,
            )
    s3 = moto.client("s3")
    mine = f"{bucket_prefix}-{app}-{target.env}-"
    buckets = sorted(
        b["Name"] for b in s3.list_buckets().get("Buckets", []) if b["Name"].startswith(mine)
    )
    state["buckets"] = {}
    for bucket in buckets:
        tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except s3.exceptions.ClientError:
            policy = None
        state["buckets"][bucket] = {"tags": tags, "block": block, "policy": policy}
    iam = moto.client("iam")
    try:
        role = iam.get_role(RoleName=target.iam_role_name)["Role"]
        policies = iam.list_role_policies(RoleName=target.iam_role_name)["PolicyNames"]
        state["iam_role"] = {
            "trust": role["AssumeRolePolicyDocument"],
            "policies": {
                p: iam.get_role_policy(RoleName=target.iam_role_name, PolicyName=p)[
                    "PolicyDocument"
                ]
                for p in policies
            },
        }
    except iam.exceptions.NoSuchEntityException:
        state["iam_role"] = None
    storage = kube.get(CONFIG_MAP.item(target.namespace, target.config_map_name("storage")))
    state["storage_config"] = (storage or {}).get("data")
    auth = secret_data(kube, target.namespace, target.secret_name("auth"))
    state["auth_secret_keys"] = sorted(auth) if auth is not None else None
    admin = keycloak.admin()
    realms = [r["realm"] for r in admin.get_realms() if r["realm"].startswith(target.realm)]
    state["realms"] = realms
    if target.realm in realms:
        admin.change_current_realm(target.realm)
        clients = [c for c in admin.get_clients() if c["clientId"] == target.client_id]
        state["clients"] = len(clients)
        state["idps"] = sorted(i["alias"] for i in admin.get_idps())
        if clients and auth is not None:
            secret = admin.get_client_secrets(clients[0]["id"]).get("value")
            state["auth_secret_matches"] = secret == auth.get("OIDC_CLIENT_SECRET")
    return abstract(state)


def app_kind(target: Target) -> ApiResource:
    return PREVIEW if target.is_preview else APPLICATION


def leaks(
    services: Services,
    controllers: Iterable[ControllerProcess],
    targets: Iterable[Target],
    extra: Iterable[str] = (),
) -> list[str]:
    """Where any credential of these apps (or `extra`: admin passwords, provider secrets)
    shows up: controller logs, Events, the apps' status, the dashboard's pages and API."""
    targets = list(targets)
    secrets = {s for s in {*secret_values(services.kube, targets), *extra} if len(s) >= 8}
    places: dict[str, str] = {}
    for controller in controllers:
        places[f"log of {controller.name}"] = controller.log_text()
        for path in (
            ["/", "/api/v1/applications", "/api/v1/previews", "/metrics"]
            + [f"/api/v1/applications/{t.namespace}/{t.instance}" for t in targets]
            + [f"/apps/{t.namespace}/{t.instance}" for t in targets if not t.is_preview]
        ):
            answer = controller.get(path)
            if answer is not None:
                places[f"{controller.name} {path}"] = answer.text
    for namespace in sorted({t.namespace for t in targets}):
        events = services.kube.list(EVENT.collection(namespace))
        places[f"Events in {namespace}"] = json.dumps(events)
    for target in targets:
        obj = services.kube.get(app_kind(target).item(target.namespace, target.instance)) or {}
        places[f"status of {target.instance}"] = json.dumps(obj.get("status"))
    return [
        f"{place} shows a secret ({secret[:4]}...)"
        for place, text in places.items()
        for secret in secrets
        if secret in text
    ]


def platform_secrets(services: Services) -> list[str]:
    """The platform's own credentials: admin passwords and identity-provider secrets (read
    from the cluster, whichever test created that Secret)."""
    from controller.provisioners import identity_providers

    providers = secret_data(
        services.kube, identity_providers.SECRET_NAMESPACE, identity_providers.SECRET_NAME
    )
    return [
        services.keycloak.admin_password,
        services.postgres.admin_password,
        *(value for key, value in (providers or {}).items() if "secret" in key.lower()),
    ]
