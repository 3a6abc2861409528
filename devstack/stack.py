"""The whole stack, or any subset of it, started in a sensible order and stopped as one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.argocd import (
    ArgoCD,
    apply_platform,
    declaration_file,
    seed_gitops_repo,
    start_argocd,
)
from devstack.controllers import KubeControllers, start_kube_controllers
from devstack.controlplane import ControlPlane, start_control_plane
from devstack.errors import StackError
from devstack.keycloak import Keycloak, KeycloakLaunch, launch_keycloak
from devstack.moto import Moto, start_moto, store_db_admin_secret
from devstack.postgres import Postgres, start_postgres
from devstack.process import Service
from plattr.environments import ENVIRONMENTS_FILE_VARIABLE

# "kube": etcd + kube-apiserver (+ CRDs, namespaces); "controllers": controller manager,
# scheduler, kwok nodes (implies "kube"); "moto" with "postgres" also stores plattr/db-admin;
# "argocd": Argo CD with the Plattr plugin over a GitOps repo seeded from gitops-repo-template,
# with the AppProject and ApplicationSet charts/plattr renders from the environments
# declaration (PLATTR_ENVIRONMENTS_FILE, else the shipped one) (implies "kube").
COMPONENTS = ("kube", "controllers", "postgres", "moto", "keycloak", "argocd")
# What Stack.start starts unless told: everything but Argo CD (`make up` asks for it too)
DEFAULT_COMPONENTS = ("kube", "controllers", "postgres", "moto", "keycloak")


@dataclass
class Stack:
    state_dir: Path
    control_plane: ControlPlane | None = None
    controllers: KubeControllers | None = None
    postgres: Postgres | None = None
    moto: Moto | None = None
    keycloak: Keycloak | None = None
    argocd: ArgoCD | None = None
    db_secret_arn: str | None = field(default=None)

    @classmethod
    def start(
        cls,
        state_dir: Path,
        components: Iterable[str] = DEFAULT_COMPONENTS,
        *,
        kubeconfig: Path | None = None,
    ) -> Stack:
        """Start the named components under state_dir (logs in state_dir/logs)."""
        wanted = set(components)
        if unknown := wanted - set(COMPONENTS):
            raise StackError(f"unknown components {sorted(unknown)}; choose from {COMPONENTS}")
        if wanted & {"controllers", "argocd"}:
            wanted.add("kube")
        stack = cls(state_dir)
        keycloak: KeycloakLaunch | None = None
        try:
            if "keycloak" in wanted:  # the slowest: launched first, waited for last
                keycloak = launch_keycloak(state_dir)
            if "kube" in wanted:
                stack.control_plane = start_control_plane(state_dir, kubeconfig=kubeconfig)
            if "controllers" in wanted and stack.control_plane:
                stack.controllers = start_kube_controllers(stack.control_plane, state_dir)
            if "postgres" in wanted:
                stack.postgres = start_postgres(state_dir)
            if "moto" in wanted:
                stack.moto = start_moto(state_dir)
                if stack.postgres:
                    stack.db_secret_arn = store_db_admin_secret(stack.moto, stack.postgres)
            if "argocd" in wanted and stack.control_plane:
                stack.argocd = start_argocd(stack.control_plane, state_dir)
                seed_gitops_repo(stack.argocd)
                apply_platform(stack.argocd)
            if keycloak:
                stack.keycloak = keycloak.wait()
        except BaseException:
            if keycloak:
                keycloak.server.stop()
            stack.stop()
            raise
        return stack

    @property
    def services(self) -> list[Service]:
        parts = (
            self.control_plane,
            self.controllers,
            self.postgres,
            self.moto,
            self.keycloak,
            self.argocd,
        )
        return [service for part in parts if part for service in part.services]

    def stop(self) -> None:
        """Stop every component, the last started first."""
        parts = (
            self.argocd,
            self.keycloak,
            self.moto,
            self.postgres,
            self.controllers,
            self.control_plane,
        )
        for part in parts:
            if part:
                part.stop()

    def env(self) -> dict[str, str]:
        """The controller's environment for this stack, under the names it reads
        (controller/README.md, "Configuration")."""
        env: dict[str, str] = {}
        if self.control_plane:
            env["KUBECONFIG"] = str(self.control_plane.kubeconfig)
            # The declaration the namespaces, the plugin and the ApplicationSets follow.
            env[ENVIRONMENTS_FILE_VARIABLE] = str(declaration_file(self.control_plane))
            # The local controller serves its dashboard on loopback: open, and said so.
            env["DASHBOARD_AUTH"] = "none"
        if self.postgres:
            env["DB_ADMIN_URL"] = self.postgres.admin_url
            env["DB_HOST"] = self.postgres.host
        if self.moto:
            env |= self.moto.env
        if self.db_secret_arn:
            env["DB_SECRET_ARN"] = self.db_secret_arn
        if self.keycloak:
            env |= self.keycloak.env
        return env

    def describe(self) -> list[str]:
        """What runs where, one line each; credentials by where to find them, never inline."""
        lines = []
        if plane := self.control_plane:
            lines += [
                f"kube-apiserver  {plane.url}  (kubeconfig {plane.kubeconfig})",
                f"etcd            {plane.etcd_url}",
            ]
        if self.controllers:
            nodes = ", ".join(self.controllers.nodes)
            lines.append(f"controllers     controller-manager, scheduler, kwok nodes: {nodes}")
        if pg := self.postgres:
            lines.append(
                f"postgres        {pg.host}:{pg.port}/{pg.database} as {pg.admin_user}"
                " (DB_ADMIN_URL)"
            )
        if self.moto:
            secret = " + secret plattr/db-admin (DB_SECRET_ARN)" if self.db_secret_arn else ""
            lines.append(
                f"moto            {self.moto.endpoint_url}  S3, IAM, Secrets Manager{secret}"
            )
        if kc := self.keycloak:
            lines.append(f"keycloak        {kc.url}/admin  as {kc.admin_user} (KEYCLOAK_ADMIN_*)")
        if argo := self.argocd:
            lines += [
                f"argocd          {argo.url}  as admin (password in {argo.admin_password_file});"
                f" `argocd login {argo.url.removeprefix('http://')} --plaintext`",
                f"gitops repo     {argo.repo.url}  (git clone, push: Argo CD syncs on push)",
            ]
        return lines
