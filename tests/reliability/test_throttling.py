"""Throttling is a normal answer, not a failure: with S3/IAM and Keycloak answering every
third request 503 SlowDown / 429 (Retry-After) through a loopback proxy, apps with storage
and auth still reach Running, the throttled answers are retried below the reconcile (none
fails, none is Failed) and counted in `external_throttled_total`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from controller.machinery.kube import Kube
from plattr.naming import Target
from tests.support.controller_harness import (
    OIDC_PROVIDER_ARN,
    apply_manifests,
    controller_env,
    ensure_provider_secret,
    rendered,
    spec,
)
from tests.support.fault_support import (
    ControllerProcess,
    ThrottlingProxy,
    not_yet_running,
    wait_all,
)
from tests.support.reliability_support import record
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
TOO_MANY = b'{"error":"too many requests"}'
APPS = 3


def throttling_proxy(name: str, url: str, status: int, body: bytes) -> ThrottlingProxy:
    parts = urlsplit(url)
    assert parts.hostname
    assert parts.port
    return ThrottlingProxy(name, parts.hostname, parts.port, status=status, body=body)


@pytest.fixture(scope="module")
def proxies(stack: LocalStack) -> Iterator[tuple[ThrottlingProxy, ThrottlingProxy]]:
    s3 = throttling_proxy("s3", stack.moto.endpoint_url, 503, SLOW_DOWN)
    keycloak = throttling_proxy("keycloak", stack.keycloak.url, 429, TOO_MANY)
    try:
        yield s3, keycloak
    finally:
        s3.close()
        keycloak.close()


def test_throttled_apps_reach_running_without_a_failed_reconcile(
    stack: LocalStack, stack_dir: Path, proxies: tuple[ThrottlingProxy, ThrottlingProxy]
) -> None:
    s3, keycloak = proxies
    kube = Kube(stack.kube_api_client)
    ensure_provider_secret(kube)
    env = {
        **controller_env(stack),
        "AWS_ENDPOINT_URL": f"http://{s3.address}",
        "KEYCLOAK_URL": f"http://{keycloak.address}",
        "OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "RESYNC_SECONDS": "3600",
    }
    controller = ControllerProcess(f"throttled-{uuid.uuid4().hex[:4]}", env, stack_dir / "logs")
    try:
        controller.wait_ready()
        s3.every = keycloak.every = 3
        targets = [Target(f"thr-{uuid.uuid4().hex[:6]}", "staging") for _ in range(APPS)]
        for target in targets:
            apply_manifests(kube, rendered(spec(), target.app))
        wait_all(
            lambda: not_yet_running(kube, targets), "throttled apps Running", logs=controller.log
        )
        assert s3.throttled > 0
        assert keycloak.throttled > 0
        counted = {
            service: controller.total("external_throttled_total", service=service)
            for service in ("aws", "keycloak")
        }
        assert counted["aws"] > 0, counted
        assert counted["keycloak"] > 0, counted
        assert controller.failed_reconciles(t.app for t in targets) == 0
        record("throttling.proxy_throttled", {"s3": s3.throttled, "keycloak": keycloak.throttled})
        record("throttling.counted", counted)
    finally:
        s3.every = keycloak.every = 0
        controller.stop()
