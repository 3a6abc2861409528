"""The Deployment (app container, PostgREST sidecar) and its ServiceAccount."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from plattr import postgrest, secret_keys
from plattr.models import EnvVar, Probe, Probes
from renderer.plan import Plan
from renderer.scaling import topology_spread

Manifest = dict[str, Any]

IRSA_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
TMP_VOLUME: Final = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
TMP_MOUNT: Final = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - in the container
CONTAINER_SECURITY: Final = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
LIVENESS_TIMING: Final = Probe(period_seconds=20, failure_threshold=6)
"""Two minutes without a sign of life before a restart: an overloaded pod leaves the
endpoints (readiness) long before it is killed."""
STARTUP_BUDGET: Final = Probe(period_seconds=5, failure_threshold=60)
"""Five minutes to start (a JVM on a quarter of a CPU) before liveness applies."""
POSTGREST_RESOURCES: Final = {
    "requests": {"cpu": "25m", "memory": "32Mi"},
    "limits": {"memory": "128Mi"},
}


def role_arn(plan: Plan) -> str | None:
    """The IAM role (IRSA) the app's ServiceAccount carries: its own, when it has storage."""
    if plan.spec.storage.enabled and plan.options.aws_account_id:
        return plan.target.iam_role_arn(plan.options.aws_account_id)
    return None


def service_account(plan: Plan) -> Manifest:
    role = role_arn(plan)
    annotations = {IRSA_ANNOTATION: role} if role else {}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": plan.metadata(annotations=annotations),
        "automountServiceAccountToken": False,
    }


def deployment(plan: Plan) -> Manifest:
    defaults = plan.defaults
    containers = [_app_container(plan)]
    if plan.spec.runs_postgrest:
        containers.append(_postgrest_container(plan))
    template_metadata: Manifest = {"labels": plan.labels}
    if plan.spec.annotations:
        template_metadata["annotations"] = dict(plan.spec.annotations)
    spec: Manifest = {
        "selector": {"matchLabels": plan.selector},
        "revisionHistoryLimit": 5,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
        },
        "template": {
            "metadata": template_metadata,
            "spec": {
                "serviceAccountName": plan.name,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "terminationGracePeriodSeconds": 30,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": defaults.run_as_user,
                    "runAsGroup": defaults.run_as_user,
                    "fsGroup": defaults.run_as_user,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": containers,
                "volumes": [TMP_VOLUME],
            },
        },
    }
    spread = topology_spread(plan)
    if spread:
        spec["template"]["spec"]["topologySpreadConstraints"] = spread
    if not plan.replicas.autoscaled:
        spec = {"replicas": plan.replicas.min, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": plan.metadata(annotations=dict(plan.spec.annotations)),
        "spec": spec,
    }


def _app_container(plan: Plan) -> Manifest:
    spec = plan.spec
    container: Manifest = {"name": "app", "image": plan.image}
    if spec.command is not None:
        container["command"] = list(spec.command)
    if spec.args is not None:
        container["args"] = list(spec.args)
    container["ports"] = [{"name": "http", "containerPort": plan.port, "protocol": "TCP"}]
    container["env"] = _env(plan)
    env_from = _env_from(plan)
    if env_from:
        container["envFrom"] = env_from
    container["resources"] = _resources(plan)
    container.update(_probes(plan))
    container["securityContext"] = {
        **CONTAINER_SECURITY,
        "readOnlyRootFilesystem": plan.defaults.read_only_root_fs,
    }
    container["volumeMounts"] = [TMP_MOUNT]
    return container


def _env(plan: Plan) -> list[Manifest]:
    own = {var.name for var in plan.spec.env}
    platform = {
        "PLATTR_APP": plan.app.metadata.name,
        "PLATTR_ENVIRONMENT": plan.target.env,
        "PLATTR_URL": plan.url,
        "PORT": str(plan.port),
    }
    env = [{"name": k, "value": v} for k, v in platform.items() if k not in own]
    return env + [_env_var(var) for var in plan.spec.env]


def _env_var(var: EnvVar) -> Manifest:
    if var.secret_key_ref is not None:
        ref = {"secretKeyRef": {"name": var.secret_key_ref.name, "key": var.secret_key_ref.key}}
    elif var.config_map_key_ref is not None:
        key_ref = var.config_map_key_ref
        ref = {"configMapKeyRef": {"name": key_ref.name, "key": key_ref.key}}
    else:
        return {"name": var.name, "value": var.value}
    return {"name": var.name, "valueFrom": ref}


def _env_from(plan: Plan) -> list[Manifest]:
    """The controller's Secrets and ConfigMap, by reference: values never pass through here."""
    spec, target = plan.spec, plan.target
    sources: list[Manifest] = []
    if spec.database.enabled:
        sources.append({"secretRef": {"name": target.secret_name("db")}})
    if spec.storage.enabled:
        sources.append({"configMapRef": {"name": target.config_map_name("storage")}})
    if spec.auth.enabled:
        sources.append({"secretRef": {"name": target.secret_name("auth")}})
    return sources


def _resources(plan: Plan) -> Manifest:
    defaults, given = plan.defaults, plan.spec.resources
    requests = {"cpu": defaults.cpu_request, "memory": defaults.memory_request}
    limits = {"memory": defaults.memory_limit}
    if given is not None:
        for amounts, into in ((given.requests, requests), (given.limits, limits)):
            if amounts is not None:
                given_amounts = {"cpu": amounts.cpu, "memory": amounts.memory}
                into.update({k: v for k, v in given_amounts.items() if v})
    return {"requests": requests, "limits": limits}


def _probes(plan: Plan) -> Manifest:
    """Readiness: the framework's (or the spec's) endpoint. Liveness: the spec's, else the
    process is alive (the framework's liveness endpoint, else a TCP connect), checked slowly.
    Startup: the spec's, else only where the framework starts slowly."""
    defaults = plan.defaults
    given = plan.spec.probes or Probes()
    readiness = given.readiness or Probe(type=defaults.probe_type, path=defaults.probe_path)
    alive = Probe(
        type="tcp" if defaults.liveness_path is None else "http",
        path=defaults.liveness_path,
        period_seconds=LIVENESS_TIMING.period_seconds,
        failure_threshold=LIVENESS_TIMING.failure_threshold,
    )
    liveness = given.liveness or alive
    probes = {
        "readinessProbe": _probe(readiness, defaults.probe_path),
        "livenessProbe": _probe(liveness, defaults.probe_path),
    }
    startup = given.startup
    if startup is None and defaults.startup_probe:
        startup = msgspec.structs.replace(
            alive,
            period_seconds=STARTUP_BUDGET.period_seconds,
            failure_threshold=STARTUP_BUDGET.failure_threshold,
        )
    if startup is not None:
        probes["startupProbe"] = _probe(startup, defaults.probe_path)
    return probes


def _probe(probe: Probe, default_path: str | None) -> Manifest:
    if probe.type == "tcp":
        action: Manifest = {"tcpSocket": {"port": "http"}}
    else:
        action = {"httpGet": {"path": probe.path or default_path or "/", "port": "http"}}
    timing: Manifest = {
        "periodSeconds": probe.period_seconds,
        "failureThreshold": probe.failure_threshold,
    }
    if probe.initial_delay_seconds:
        timing = {"initialDelaySeconds": probe.initial_delay_seconds, **timing}
    return {**action, **timing}


def _postgrest_container(plan: Plan) -> Manifest:
    target = plan.target
    admin = {"port": "postgrest-admin"}
    return {
        "name": "postgrest",
        "image": postgrest.IMAGE,
        "ports": [
            {"name": "postgrest", "containerPort": postgrest.PORT, "protocol": "TCP"},
            {"name": "postgrest-admin", "containerPort": postgrest.ADMIN_PORT, "protocol": "TCP"},
        ],
        "env": [
            {
                "name": "PGRST_DB_URI",
                "valueFrom": {
                    "secretKeyRef": {
                        "name": target.secret_name("db"),
                        "key": secret_keys.DATABASE_URL,
                    }
                },
            },
            {"name": "PGRST_DB_SCHEMAS", "value": target.schema},
            {"name": "PGRST_DB_ANON_ROLE", "value": target.anon_role},
            {"name": "PGRST_SERVER_PORT", "value": str(postgrest.PORT)},
            {"name": "PGRST_ADMIN_SERVER_PORT", "value": str(postgrest.ADMIN_PORT)},
            {
                "name": "PGRST_OPENAPI_SERVER_PROXY_URI",
                "value": f"{plan.url}{postgrest.INGRESS_PATH}",
            },
        ],
        "resources": POSTGREST_RESOURCES,
        "readinessProbe": {"httpGet": {"path": "/ready", **admin}, "periodSeconds": 10},
        "livenessProbe": {
            "httpGet": {"path": "/live", **admin},
            "periodSeconds": LIVENESS_TIMING.period_seconds,
            "failureThreshold": LIVENESS_TIMING.failure_threshold,
        },
        "securityContext": {**CONTAINER_SECURITY, "readOnlyRootFilesystem": True},
    }
