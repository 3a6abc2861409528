"""How traffic reaches the app: Service, Ingress (plus PostgREST's), NetworkPolicy."""

from __future__ import annotations

from typing import Any, Final

from plattr import postgrest
from renderer.plan import POSTGREST_SUFFIX, Plan

Manifest = dict[str, Any]

CLUSTER_ISSUER_ANNOTATION: Final = "cert-manager.io/cluster-issuer"
EXTERNAL_DNS_ANNOTATION: Final = "external-dns.alpha.kubernetes.io/hostname"
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"


def service(plan: Plan) -> Manifest:
    ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    if plan.spec.runs_postgrest:
        ports.append(
            {
                "name": "postgrest",
                "port": postgrest.PORT,
                "targetPort": "postgrest",
                "protocol": "TCP",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": plan.metadata(),
        "spec": {"type": "ClusterIP", "selector": plan.selector, "ports": ports},
    }


def ingresses(plan: Plan) -> list[Manifest]:
    """The app's Ingress, and PostgREST's under `/rest` (a second object, since the
    prefix rewrite it needs would otherwise apply to the app's paths too)."""
    if not plan.spec.ingress.enabled:
        return []
    tls_secret = plan.target.secret_name("tls")
    main = _ingress(
        plan,
        plan.name,
        annotations={
            CLUSTER_ISSUER_ANNOTATION: plan.options.cluster_issuer,
            EXTERNAL_DNS_ANNOTATION: ",".join(plan.hosts),
        },
        path={"path": plan.spec.ingress.path, "pathType": "Prefix"},
        port="http",
        tls_secret=tls_secret,
    )
    if not plan.spec.runs_postgrest:
        return [main]
    rest = _ingress(
        plan,
        f"{plan.name}{POSTGREST_SUFFIX}",
        annotations={
            "nginx.ingress.kubernetes.io/use-regex": "true",
            "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
        },
        path={"path": f"{postgrest.INGRESS_PATH}(/|$)(.*)", "pathType": "ImplementationSpecific"},
        port="postgrest",
        tls_secret=tls_secret,
    )
    return [main, rest]


def _ingress(
    plan: Plan,
    name: str,
    *,
    annotations: dict[str, str],
    path: dict[str, str],
    port: str,
    tls_secret: str,
) -> Manifest:
    backend = {"service": {"name": plan.name, "port": {"name": port}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": plan.metadata(name, annotations=annotations),
        "spec": {
            "ingressClassName": plan.options.ingress_class,
            "tls": [{"hosts": list(plan.hosts), "secretName": tls_secret}],
            "rules": [
                {"host": host, "http": {"paths": [{**path, "backend": backend}]}}
                for host in plan.hosts
            ],
        },
    }


def network_policy(plan: Plan) -> Manifest:
    """Admit traffic from the ingress controller's namespace and the app's own."""
    peers: list[Manifest] = [{"podSelector": {}}]
    if plan.spec.ingress.enabled:
        ingress_ns = {NAMESPACE_NAME_LABEL: plan.options.ingress_namespace}
        peers.insert(0, {"namespaceSelector": {"matchLabels": ingress_ns}})
    ports = [{"protocol": "TCP", "port": "http"}]
    if plan.spec.runs_postgrest:
        ports.append({"protocol": "TCP", "port": "postgrest"})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": plan.metadata(),
        "spec": {
            "podSelector": {"matchLabels": plan.selector},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": ports}],
        },
    }
