"""Keycloak 26 in dev mode (in-memory database) on loopback, with a permanent admin user
for the controller in the master realm."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keycloak import KeycloakAdmin

from devstack import tools
from devstack.ports import LOOPBACK, free_port
from devstack.probes import http_status
from devstack.process import Service, spawn, wait_until

ADMIN_REALM = "master"
BOOTSTRAP_ADMIN = "devstack-bootstrap"
CONTROLLER_ADMIN = "plattr-controller"
HEAP = "-Xms64m -Xmx768m"
# JBoss threads resets thread locals on Java 24+ only with this (else errors at shutdown)
JVM_OPENS = "--add-opens=java.base/java.lang=ALL-UNNAMED"
READY_TIMEOUT = 300.0  # a fresh install re-augments Quarkus first; slow on a loaded machine


@dataclass(frozen=True)
class Keycloak:
    url: str
    admin_user: str
    admin_password: str = field(repr=False)
    process: Service

    @property
    def env(self) -> dict[str, str]:
        """The controller's Keycloak settings, under the names it reads (controller/README.md)."""
        return {
            "KEYCLOAK_URL": self.url,
            "KEYCLOAK_ADMIN_USER": self.admin_user,
            "KEYCLOAK_ADMIN_PASSWORD": self.admin_password,
        }

    def admin(self) -> Any:
        """A python-keycloak KeycloakAdmin logged in as the controller's admin user."""
        return KeycloakAdmin(
            server_url=self.url,
            username=self.admin_user,
            password=self.admin_password,
            realm_name=ADMIN_REALM,
        )

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.process,)

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True)
class KeycloakLaunch:
    """A Keycloak process started but not yet ready: Keycloak is the slow one, so a stack
    launches it first and waits for it last."""

    server: Keycloak
    ready_url: str
    bootstrap_password: str = field(repr=False)

    def wait(self) -> Keycloak:
        """Wait until ready, then create the controller's admin user."""
        try:
            wait_until(
                lambda: http_status(self.ready_url) == 200,
                "ready",
                READY_TIMEOUT,
                self.server.process,
            )
            _create_controller_admin(self.server, self.bootstrap_password)
        except BaseException:
            self.server.stop()
            raise
        return self.server


def _java_wrapper(state_dir: Path) -> Path:
    """kc.sh runs java as a background child, which a parent-death signal on kc.sh would not
    reach: this wrapper (kc.sh honours $JAVA) gives java its own, tied to kc.sh."""
    java = tools.java_home() / "bin" / "java"
    wrapper = state_dir / "keycloak-java"
    wrapper.write_text(f'#!/bin/sh\nexec setpriv --pdeathsig KILL -- "{java}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def launch_keycloak(state_dir: Path) -> KeycloakLaunch:
    """Start `kc.sh start-dev` on free loopback ports; returns before it is ready."""
    home = tools.keycloak_home()
    port, management_port = free_port(), free_port()
    bootstrap_password = secrets.token_urlsafe(24)
    process = spawn(
        "keycloak",
        [
            home / "bin" / "kc.sh",
            "start-dev",
            f"--http-host={LOOPBACK}",
            f"--http-port={port}",
            f"--http-management-port={management_port}",
            "--health-enabled=true",
            "--db=dev-mem",
        ],
        state_dir / "logs",
        env={
            "JAVA_HOME": str(tools.java_home()),
            "JAVA": str(_java_wrapper(state_dir)),
            "JAVA_OPTS_KC_HEAP": HEAP,
            "JAVA_OPTS_APPEND": JVM_OPENS,
            "KC_BOOTSTRAP_ADMIN_USERNAME": BOOTSTRAP_ADMIN,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": bootstrap_password,
        },
    )
    server = Keycloak(
        f"http://{LOOPBACK}:{port}", CONTROLLER_ADMIN, secrets.token_urlsafe(24), process
    )
    ready_url = f"http://{LOOPBACK}:{management_port}/health/ready"
    return KeycloakLaunch(server, ready_url, bootstrap_password)


def start_keycloak(state_dir: Path) -> Keycloak:
    """Start Keycloak and wait until it is ready with the controller's admin user."""
    return launch_keycloak(state_dir).wait()


def _create_controller_admin(server: Keycloak, bootstrap_password: str) -> None:
    """The bootstrap admin is temporary by design: give the controller a permanent one."""
    bootstrap = KeycloakAdmin(
        server_url=server.url,
        username=BOOTSTRAP_ADMIN,
        password=bootstrap_password,
        realm_name=ADMIN_REALM,
    )
    user_id = bootstrap.create_user(
        {
            "username": server.admin_user,
            "enabled": True,
            "credentials": [
                {"type": "password", "value": server.admin_password, "temporary": False}
            ],
        }
    )
    bootstrap.assign_realm_roles(user_id, [bootstrap.get_realm_role("admin")])
