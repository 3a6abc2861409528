"""The chart's RBAC grants exactly the (API group, resource, verb) triples the controller's code
requests, found by reading the code: every call of `Kube.get/list/watch/create/merge_patch/
replace/delete` in controller/, with the kind its path is built from.

The dashboard's own reads (`self._client().request("GET", EVENT.collection(...))`) count too.
Most paths name their kind (`LEASE.item(...)`, `EVENT.collection(...)`), directly or through a
variable assigned in the same function or class. A few take the kind as a value; GENERIC says
which kinds reach them, and why, and the test fails on a call site that is neither resolved
nor listed (and on a listing that matches no call site), so a new request cannot slip by.
The end-to-end test runs the controller under these rules and checks its requests against them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from controller import kinds
from controller.config import LEASE_NAME, Settings
from controller.machinery.objects import ApiResource
from controller.provisioners import identity_providers
from controller.runtime import platform_secrets
from plattr.access import (
    APP_OBJECTS_CLUSTER_ROLE,
    CONTROLLER_NAMESPACE,
    CONTROLLER_SERVICE_ACCOUNT,
    preview_role_binding,
)
from plattr.environments import DEFAULT_FILE, ENVIRONMENTS_FILE_VARIABLE
from plattr.labels import PREVIEW_LABEL, PREVIEW_VALUE
from plattr.naming import PREVIEW_NAMESPACE_PREFIX
from tests.support.chart import CDK_VALUES, NAMESPACE, RELEASE, plain_env, render_chart

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = ROOT / "controller"
METHOD_VERBS = {
    "get": "get",
    "list": "list",
    "watch": "watch",
    "create": "create",
    "merge_patch": "patch",
    "replace": "update",
    "delete": "delete",
}
HTTP_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
KINDS: dict[str, ApiResource] = {
    name: value for name, value in vars(kinds).items() if isinstance(value, ApiResource)
}

# Call sites whose kind is a value: (module, function) -> the kinds that reach it.
GENERIC: dict[tuple[str, str], tuple[ApiResource, ...]] = {
    # runtime.Controller makes one Reflector per kind of WATCHED_KINDS
    ("reflector", "Reflector.list_once"): kinds.WATCHED_KINDS,
    ("reflector", "Reflector._watch"): kinds.WATCHED_KINDS,
    # secret() and apply_secret/apply_config_map pass SECRET or CONFIG_MAP
    ("cluster", "KubeCluster._current"): (kinds.SECRET, kinds.CONFIG_MAP),
    ("cluster", "KubeCluster._apply"): (kinds.SECRET, kinds.CONFIG_MAP),
    # delete_secret, delete_config_map, and the TTL sweep's expired PreviewEnvironments
    ("cluster", "KubeCluster.delete"): (kinds.SECRET, kinds.CONFIG_MAP, kinds.PREVIEW),
    # the reconciler's own objects: Applications and PreviewEnvironments
    ("cluster", "KubeCluster.set_finalizer"): kinds.PLATTR_KINDS,
    ("cluster", "KubeCluster.write_status"): kinds.PLATTR_KINDS,
}


class Triple(NamedTuple):
    group: str
    resource: str
    verb: str


class CallSite(NamedTuple):
    module: str
    function: str
    verb: str
    kinds: tuple[ApiResource, ...]
    status: bool


def _kind_names(node: ast.AST) -> list[ApiResource]:
    return [KINDS[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in KINDS]


def _assigned(scopes: list[ast.AST], target: str) -> list[ast.expr]:
    """What `target` (e.g. `path`, `self._path`) is assigned in the enclosing scopes."""
    return [
        node.value
        for scope in scopes
        for node in ast.walk(scope)
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == target for t in node.targets)
    ]


def _is_kube(receiver: ast.expr, kube_factories: set[str]) -> bool:
    """A Kube: a name ending in `kube` (`kube`, `self._kube`), or a call of a function of the
    module annotated `-> Kube` (`self._client()`)."""
    if isinstance(receiver, ast.Call):
        function = receiver.func
        name = function.attr if isinstance(function, ast.Attribute) else ast.unparse(function)
        return name in kube_factories
    return ast.unparse(receiver).endswith("kube")


def _verb(call: ast.Call) -> tuple[str, ast.expr]:
    """The RBAC verb of a Kube call and its path argument; `request(METHOD, path)` included."""
    assert isinstance(call.func, ast.Attribute)
    method = call.func.attr
    if method != "request":
        return METHOD_VERBS[method], call.args[0]
    http, path = call.args[0], call.args[1]
    assert isinstance(http, ast.Constant), ast.unparse(call)
    if http.value == "GET":
        return ("list" if ".collection(" in ast.unparse(path) else "get"), path
    return HTTP_VERBS[http.value], path


def _call_sites(path: Path) -> Iterator[CallSite]:
    module = path.stem
    tree = ast.parse(path.read_text())
    kube_factories = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.returns
        and ast.unparse(node.returns) == "Kube"
    }

    def visit(node: ast.AST, scopes: list[ast.AST], names: list[str]) -> Iterator[CallSite]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef):
                yield from visit(child, [*scopes, child], [*names, child.name])
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in {*METHOD_VERBS, "request"}
                and _is_kube(child.func.value, kube_factories)
            ):
                verb, argument = _verb(child)
                paths = [argument, *_assigned(scopes, ast.unparse(argument))]
                found = [kind for path in paths for kind in _kind_names(path)]
                yield CallSite(
                    module,
                    ".".join(names),
                    verb,
                    tuple(dict.fromkeys(found)),
                    any("/status" in ast.unparse(path) for path in paths),
                )
            yield from visit(child, scopes, names)

    yield from visit(tree, [tree], [])


def call_sites() -> list[CallSite]:
    sources = sorted(p for p in CONTROLLER.rglob("*.py") if p.name != "kube.py")
    return [site for path in sources for site in _call_sites(path)]


def _group(kind: ApiResource) -> str:
    parts = kind.api_prefix.strip("/").split("/")
    return "" if parts[0] == "api" else parts[1]


def code_triples() -> set[Triple]:
    triples = set()
    for site in call_sites():
        for kind in site.kinds or GENERIC[(site.module, site.function)]:
            resource = f"{kind.plural}/status" if site.status else kind.plural
            triples.add(Triple(_group(kind), resource, site.verb))
    return triples


def chart_triples(values: dict[str, Any] | None = None) -> set[Triple]:
    triples = set()
    for manifest in render_chart(values):
        if manifest["kind"] in {"ClusterRole", "Role"}:
            for rule in manifest["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        triples |= {Triple(group, resource, verb) for verb in rule["verbs"]}
    return triples


def test_every_call_site_names_its_kind_or_is_listed() -> None:
    sites = call_sites()
    assert len(sites) > 10  # the scan finds the controller's requests
    unresolved = {(s.module, s.function) for s in sites if not s.kinds}
    assert unresolved - GENERIC.keys() == set(), "new requests: say which kinds reach them"
    assert GENERIC.keys() - unresolved == set(), "GENERIC lists call sites that are gone"


@pytest.mark.needs_tools
def test_chart_rbac_is_exactly_what_the_code_requests() -> None:
    code, chart = code_triples(), chart_triples()
    assert sorted(code - chart) == [], "the controller makes requests the chart does not grant"
    assert sorted(chart - code) == [], "the chart grants what the controller never requests"


@pytest.mark.needs_tools
def test_the_lease_is_granted_where_the_controller_looks_for_it() -> None:
    manifests = render_chart({"env": {"LEASE_NAMESPACE": "leases"}})
    (role,) = (
        m for m in manifests if m["kind"] == "Role" and m["metadata"]["name"].endswith("-leader")
    )
    assert role["metadata"]["namespace"] == "leases"
    names = {n for rule in role["rules"] for n in rule.get("resourceNames", [])}
    assert names == {LEASE_NAME}


@pytest.mark.needs_tools
def test_bindings_name_the_chart_service_account() -> None:
    manifests = render_chart({"serviceAccount": {"name": "operator"}, "keycloakAdminSecret": "kc"})
    bindings = [m for m in manifests if m["kind"] in {"ClusterRoleBinding", "RoleBinding"}]
    assert len(bindings) == 1 + 3 + 2  # cluster-wide, the environments, the lease, own Secrets
    for binding in bindings:
        (subject,) = binding["subjects"]
        assert subject == {"kind": "ServiceAccount", "name": "operator", "namespace": NAMESPACE}


def _rules(manifests: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    (role,) = (m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name)
    rules: list[dict[str, Any]] = role["rules"]
    return rules


@pytest.mark.needs_tools
def test_no_secret_or_config_map_is_granted_cluster_wide() -> None:
    manifests = render_chart({"keycloakAdminSecret": "kc"})
    for binding in (m for m in manifests if m["kind"] == "ClusterRoleBinding"):
        for rule in _rules(manifests, "ClusterRole", binding["roleRef"]["name"]):
            assert not {"secrets", "configmaps"} & set(rule["resources"]), binding
    own = _rules(manifests, "Role", f"{RELEASE}-secrets")
    assert own == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [identity_providers.SECRET_NAME, "kc"],
            "verbs": ["get", "list", "watch"],
        },
    ]
    assert NAMESPACE == identity_providers.SECRET_NAMESPACE


@pytest.mark.needs_tools
def test_each_platform_secret_the_controller_watches_is_granted_by_name() -> None:
    """The controller as the chart configures it watches its platform Secrets with a
    fieldSelector on their names; the chart's Role in their namespace grants get, list and
    watch on those names (the API server authorizes such a list or watch by resourceNames)."""
    manifests = render_chart(CDK_VALUES)
    # what the pod gets besides: the dashboard's token from a Secret, the mounted declaration
    mounted = {"DASHBOARD_TOKEN": "t" * 24, ENVIRONMENTS_FILE_VARIABLE: str(DEFAULT_FILE)}
    watched = platform_secrets(Settings.from_env(plain_env(manifests) | mounted))
    assert len(watched) == 2  # the identity providers' Secret and Keycloak's admin Secret
    for resource, namespace in watched:
        assert resource.field_selector
        name = resource.field_selector.removeprefix("metadata.name=")
        granted = {
            verb
            for manifest in manifests
            if manifest["kind"] == "Role" and manifest["metadata"]["namespace"] == namespace
            for rule in manifest["rules"]
            if name in rule.get("resourceNames", [])
            for verb in rule["verbs"]
        }
        assert {"get", "list", "watch"} <= granted, (namespace, name)


@pytest.mark.needs_tools
def test_app_objects_are_granted_in_each_declared_environment_namespace() -> None:
    environments = [{"name": "production"}, {"name": "qa", "namespace": "quality"}]
    manifests = render_chart({"environments": environments})
    bound = {
        m["metadata"]["namespace"]
        for m in manifests
        if m["kind"] == "RoleBinding" and m["roleRef"]["name"] == APP_OBJECTS_CLUSTER_ROLE
    }
    assert bound == {"production", "quality"}
    granted = {
        Triple(group, resource, verb)
        for rule in _rules(manifests, "ClusterRole", APP_OBJECTS_CLUSTER_ROLE)
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    namespaced = {t for t in code_triples() if t.resource in {"secrets", "configmaps"}}
    assert granted == namespaced


@pytest.mark.needs_tools
def test_the_renderers_preview_binding_names_what_the_chart_installs() -> None:
    """plattr/access.py is what the renderer binds in a preview namespace: the chart's
    ClusterRole, and the ServiceAccount of a release named as the docs ask."""
    manifests = render_chart()
    binding = preview_role_binding("preview-shop-pr-7", {})
    assert _rules(manifests, "ClusterRole", binding["roleRef"]["name"])
    (service_account,) = (m for m in manifests if m["kind"] == "ServiceAccount")
    (subject,) = binding["subjects"]
    assert subject["name"] == service_account["metadata"]["name"] == CONTROLLER_SERVICE_ACCOUNT
    assert subject["namespace"] == NAMESPACE == CONTROLLER_NAMESPACE


@pytest.mark.needs_tools
def test_namespace_deletion_policy_holds_the_controller_to_preview_namespaces() -> None:
    manifests = render_chart({"serviceAccount": {"name": "operator"}})
    (policy,) = (
        m
        for m in manifests
        if m["metadata"]["name"].endswith("-namespace-deletion")
        and m["kind"] == "ValidatingAdmissionPolicy"
    )
    (condition,) = policy["spec"]["matchConditions"]
    assert f"'system:serviceaccount:{NAMESPACE}:operator'" in condition["expression"]
    (validation,) = policy["spec"]["validations"]
    assert f"startsWith('{PREVIEW_NAMESPACE_PREFIX}')" in validation["expression"]
    assert f"[?'{PREVIEW_LABEL}'].orValue('') == '{PREVIEW_VALUE}'" in validation["expression"]
