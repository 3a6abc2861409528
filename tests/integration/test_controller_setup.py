"""The controller on the real stack when the platform or an app is set up incompletely: started
before Keycloak's admin Secret exists, and given Applications that did not come rendered (one
outside its environment's namespace, one without its Deployment). Each says what is missing
and how to fix it; the first recovers by itself once the Secret is there."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from controller.conditions import CONDITION_ORDER
from controller.kinds import APPLICATION, SECRET
from devstack import wait_until
from plattr.naming import Target
from tests.support.controller_harness import (
    TIMEOUT,
    Harness,
    rendered,
    running_controller,
    spec,
)
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ADMIN_NAMESPACE = "plattr-system"


def conditions(harness: Harness, target: Target, namespace: str) -> dict[str, dict[str, Any]]:
    status = harness.status(APPLICATION, namespace, target.app)
    return {c["type"]: c for c in status.get("conditions") or []}


def wait_all_true_but(harness: Harness, target: Target, failing: str) -> dict[str, Any]:
    """Wait until every condition of the app is True except `failing`; returns that one."""
    wanted = {kind: "False" if kind == failing else "True" for kind in CONDITION_ORDER}

    def reached() -> bool:
        found = conditions(harness, target, target.namespace)
        return {kind: c["status"] for kind, c in found.items()} == wanted

    wait_until(reached, f"{target.app}: every condition True but {failing}", TIMEOUT)
    return conditions(harness, target, target.namespace)[failing]


def application_only(target: Target, namespace: str) -> list[dict[str, Any]]:
    """The Application of a rendered app, alone, in `namespace`: a bare `kubectl apply`."""
    (application,) = [m for m in rendered(spec(), target.app) if m["kind"] == "Application"]
    application["metadata"]["namespace"] = namespace
    return [application]


def test_without_keycloak_credentials_auth_waits_for_their_secret_then_recovers(
    stack: LocalStack,
) -> None:
    name = f"keycloak-admin-{uuid.uuid4().hex[:6]}"
    reference = f"{ADMIN_NAMESPACE}/{name}"
    without_credentials = {
        "KEYCLOAK_ADMIN_USER": "",
        "KEYCLOAK_ADMIN_PASSWORD": "",
        "KEYCLOAK_ADMIN_SECRET": reference,
        "RESYNC_SECONDS": "3600",  # recovery must not wait for a resync
    }
    with running_controller(stack, **without_credentials) as harness:
        target = Target(f"nokc-{uuid.uuid4().hex[:6]}", "staging")
        harness.apply(rendered(spec(), target.app))
        try:
            auth = wait_all_true_but(harness, target, "AuthReady")
            assert auth["reason"] == "AuthCredentialsMissing"
            assert f"there is no Secret {reference}" in auth["message"]
            assert f"kubectl -n {ADMIN_NAMESPACE} create secret generic {name}" in auth["message"]
            assert harness.secret(target.namespace, target.secret_name("db")) is not None
            assert harness.secret(target.namespace, target.secret_name("auth")) is None

            keycloak = stack.keycloak
            data = {"username": keycloak.admin_user, "password": keycloak.admin_password}
            harness.kube.create(
                SECRET.collection(ADMIN_NAMESPACE),
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": name},
                    "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
                },
            )
            status = harness.wait_phase(APPLICATION, target.namespace, target.app, "Running")
            assert keycloak.admin_password not in str(status)
            assert harness.secret(target.namespace, target.secret_name("auth")) is not None
        finally:
            harness.delete(APPLICATION, target.namespace, target.app)
            harness.wait_gone(APPLICATION, target.namespace, target.app)
            harness.delete(SECRET, ADMIN_NAMESPACE, name)


def test_an_application_outside_its_environments_namespace_is_refused(harness: Harness) -> None:
    target = Target(f"stray-{uuid.uuid4().hex[:6]}", "staging")
    harness.apply(application_only(target, "default"), ("Application",))
    try:
        status = harness.wait_phase(APPLICATION, "default", target.app, "Failed")
        message = status["message"]
        assert "is in namespace default, but its environment's namespace is staging" in message
        assert "Argo CD" in message
        assert "plattr render FILE | kubectl apply -f -" in message
        harness.settle()
        assert harness.secret(target.namespace, target.secret_name("db")) is None
        assert harness.secret("default", target.secret_name("db")) is None
        app = harness.get(APPLICATION, "default", target.app) or {}
        assert not app["metadata"].get("finalizers")
        events = harness.kube.list(
            "/api/v1/namespaces/default/events",
            {"fieldSelector": f"involvedObject.name={target.app}"},
        )
        assert "WrongNamespace" in {event["reason"] for event in events["items"]}
    finally:
        harness.delete(APPLICATION, "default", target.app)
        harness.wait_gone(APPLICATION, "default", target.app)


def test_an_application_without_its_deployment_says_where_workloads_come_from(
    harness: Harness,
) -> None:
    target = Target(f"bare-{uuid.uuid4().hex[:6]}", "staging")
    harness.apply(application_only(target, target.namespace), ("Application",))
    try:
        deployment = wait_all_true_but(harness, target, "DeploymentReady")
        assert deployment["reason"] == "DeploymentNotFound"
        assert "Argo CD" in deployment["message"]
        assert "plattr render FILE | kubectl apply -f -" in deployment["message"]
    finally:
        harness.delete(APPLICATION, target.namespace, target.app)
        harness.wait_gone(APPLICATION, target.namespace, target.app)
