"""devstack: the real local stack Plattr's tests and `make up` run against.

Every component is a real process started on free loopback ports, with its log in the state
directory: etcd + kube-apiserver (RBAC, token auth, service-account keys), the controller
manager, the scheduler and kwok's simulated nodes, PostgreSQL, a moto server (S3, IAM,
Secrets Manager), Keycloak, and Argo CD with Plattr's plugin over a local GitOps repo. Start
one component with its own function, or several with `Stack.start(state_dir, components=...)`.
"""

from devstack.argocd import ArgoCD, start_argocd
from devstack.controllers import KubeControllers, start_kube_controllers
from devstack.controlplane import ControlPlane, start_control_plane
from devstack.errors import StackError
from devstack.keycloak import Keycloak, start_keycloak
from devstack.moto import Moto, start_moto
from devstack.postgres import Postgres, start_postgres
from devstack.process import Service, wait_until
from devstack.stack import COMPONENTS, Stack

__all__ = [
    "COMPONENTS",
    "ArgoCD",
    "ControlPlane",
    "Keycloak",
    "KubeControllers",
    "Moto",
    "Postgres",
    "Service",
    "Stack",
    "StackError",
    "start_argocd",
    "start_control_plane",
    "start_keycloak",
    "start_kube_controllers",
    "start_moto",
    "start_postgres",
    "wait_until",
]
