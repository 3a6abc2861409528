"""What the controller's integration tests share: an in-process controller on the real stack
with its provisioners' call counters at hand, and small helpers to apply rendered apps and
wait for what the controller does."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from controller.config import Settings
from controller.kinds import APPLICATION, DEPLOYMENT, NAMESPACE, PREVIEW, SECRET
from controller.machinery.kube import Kube
from controller.machinery.objects import ApiResource, KubeObject
from controller.metrics import Metrics
from controller.provisioners import identity_providers
from controller.provisioners.auth import KeycloakProvisioner
from controller.provisioners.database import PostgresProvisioner
from controller.provisioners.db_admin import admin_conninfo
from controller.provisioners.storage import S3Provisioner
from controller.reconciler import Provisioners
from controller.runtime import Controller
from controller.services import keycloak_admin, provider_secret_reader
from devstack import wait_until
from plattr.models import Application
from plattr.validation import decode
from renderer.options import PreviewParams, RenderOptions
from renderer.render import render
from tests.support.stack import LocalStack

BASE_DOMAIN = "apps.example.test"
ACCOUNT_ID = "123456789012"
OIDC_PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.example.test/id/PLATTR"
SERVICE_ACCOUNT = ApiResource("ServiceAccount", "/api/v1", "serviceaccounts")
APP_KINDS = ("Application", "ServiceAccount", "Deployment")
APPLIED_KINDS = {kind.name: kind for kind in (APPLICATION, PREVIEW, DEPLOYMENT, SERVICE_ACCOUNT)}
TIMEOUT = 120.0
FIGURES = Path("test-artifacts") / "controller-figures.json"
GITHUB = {"github.clientId": "plattr-github", "github.clientSecret": "gh-" + uuid.uuid4().hex}


def controller_env(stack: LocalStack) -> dict[str, str]:
    """The controller's environment on this stack (what `make up` gives it too)."""
    return {
        "KUBECONFIG": str(stack.control_plane.kubeconfig),
        "DB_ADMIN_URL": stack.postgres.admin_url,
        **stack.moto.env,
        **stack.keycloak.env,
        "BASE_DOMAIN": BASE_DOMAIN,
        "OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "WORKERS": "2",
        "DASHBOARD_AUTH": "none",  # loopback only; the tests that guard it set their own
    }


class Writes(NamedTuple):
    """Writes so far: Kubernetes API (leases apart), SQL, S3/IAM, Keycloak admin API."""

    kube: float
    sql: int
    aws: int
    keycloak: int

    def __sub__(self, other: tuple[Any, ...]) -> Writes:
        return Writes(*(a - b for a, b in zip(self, other, strict=True)))


@dataclass
class Harness:
    controller: Controller
    kube: Kube
    database: PostgresProvisioner
    storage: S3Provisioner
    auth: KeycloakProvisioner

    @property
    def metrics(self) -> Metrics:
        return self.controller.metrics

    def writes(self) -> Writes:
        return Writes(
            self.metrics.kube_writes(),
            self.database.calls.snapshot().writes,
            self.storage.calls.snapshot().writes,
            self.auth.calls.snapshot().writes,
        )

    def reconciles(self, name: str) -> float:
        total = 0.0
        for result in ("success", "failure"):
            value = self.metrics.registry.get_sample_value(
                "reconcile_total", {"name": name, "result": result}
            )
            total += value or 0.0
        return total

    def settle(self) -> None:
        """Wait until the controller has nothing left to do."""
        wait_until(self.controller.queue.idle, "controller idle", TIMEOUT)

    def resync(self) -> None:
        self.controller.resync()
        self.settle()

    def get(self, kind: ApiResource, namespace: str, name: str) -> KubeObject | None:
        return self.kube.get(kind.item(namespace, name))

    def status(self, kind: ApiResource, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(kind, namespace, name) or {}
        status: dict[str, Any] = obj.get("status") or {}
        return status

    def wait_phase(
        self, kind: ApiResource, namespace: str, name: str, phase: str
    ) -> dict[str, Any]:
        wait_until(
            lambda: self.status(kind, namespace, name).get("phase") == phase,
            f"{name} {phase}",
            TIMEOUT,
        )
        return self.status(kind, namespace, name)

    def wait_gone(self, kind: ApiResource, namespace: str, name: str) -> None:
        wait_until(
            lambda: self.get(kind, namespace, name) is None, f"{kind.name} {name} gone", TIMEOUT
        )

    def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        obj = self.get(SECRET, namespace, name)
        if obj is None:
            return None
        return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}

    def apply(self, manifests: list[KubeObject], kinds: tuple[str, ...] = APP_KINDS) -> None:
        apply_manifests(self.kube, manifests, kinds)

    def delete(self, kind: ApiResource, namespace: str, name: str) -> None:
        self.kube.delete(kind.item(namespace, name))

    def ensure_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        if self.kube.get(f"{NAMESPACE.collection()}/{name}") is None:
            body = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": dict(labels or {})},
            }
            self.kube.create(NAMESPACE.collection(), body)


def apply_manifests(
    kube: Kube, manifests: list[KubeObject], kinds: tuple[str, ...] = APP_KINDS
) -> None:
    """Create the manifests of the given kinds, as Argo CD would apply them."""
    for manifest in manifests:
        if manifest["kind"] in kinds:
            kind = APPLIED_KINDS[manifest["kind"]]
            kube.create(kind.collection(manifest["metadata"]["namespace"]), manifest)


def rendered(
    spec: Mapping[str, Any], name: str, preview: PreviewParams | None = None
) -> list[KubeObject]:
    """What Argo CD would apply for this app (or its preview): `plattr render`'s output."""
    document = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": dict(spec),
    }
    app = decode(document, Application)
    return render(
        app, RenderOptions(base_domain=BASE_DOMAIN, aws_account_id=ACCOUNT_ID, preview=preview)
    )


@contextmanager
def running_controller(stack: LocalStack, **env: str) -> Iterator[Harness]:
    settings = Settings.from_env({**controller_env(stack), **env})
    metrics = Metrics()
    kube = Kube(stack.kube_api_client, metrics.count_request, metrics.kube_throttling.throttle)
    tester = Kube(stack.kube_api_client)
    ensure_provider_secret(tester)
    database = PostgresProvisioner(
        admin_conninfo(admin_url=stack.postgres.admin_url, secret_arn=None, host=None)
    )
    storage = S3Provisioner(
        stack.moto.client("s3"), stack.moto.client("iam"), oidc_provider_arn=OIDC_PROVIDER_ARN
    )
    assert settings.keycloak is not None
    auth = KeycloakProvisioner.from_settings(
        url=settings.keycloak.url,
        credentials=keycloak_admin(settings.keycloak, kube),
        identity_providers=provider_secret_reader(kube),
        concurrency=settings.keycloak.concurrency,
    )
    controller = Controller(
        settings, kube, Provisioners(database, storage, auth), metrics, watch_seconds=60
    )
    controller.start()
    wait_until(controller.ready, "controller caches synced", TIMEOUT)
    try:
        yield Harness(controller, tester, database, storage, auth)
    finally:
        controller.stop()


def ensure_provider_secret(kube: Kube) -> None:
    """The platform's identity-provider Secret, with a GitHub OAuth client."""
    namespace = identity_providers.SECRET_NAMESPACE
    if kube.get(f"{NAMESPACE.collection()}/{namespace}") is None:
        kube.create(
            NAMESPACE.collection(),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
    if kube.get(SECRET.item(namespace, identity_providers.SECRET_NAME)) is None:
        data = {k: base64.b64encode(v.encode()).decode() for k, v in GITHUB.items()}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": identity_providers.SECRET_NAME},
            "data": data,
        }
        kube.create(SECRET.collection(namespace), body)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def spec(environment: str = "staging", **overrides: Any) -> dict[str, Any]:
    return {
        "framework": "python",
        "environment": environment,
        "imageRef": "registry.example.test/shop:1.0.0",
        "database": {"enabled": True},
        "storage": {"enabled": True, "buckets": [{"name": "uploads"}]},
        "auth": {"enabled": True, "providers": ["github"]},
        "scaling": {"min": 2, "max": 2},
        **overrides,
    }


def record_figure(name: str, value: object) -> None:
    """Keep a measured figure for the report (never asserted on)."""
    FIGURES.parent.mkdir(exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = value
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True))
