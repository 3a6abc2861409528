"""Tenancy: what an app's final render may reference and run, checked after kustomize.

Apps of one environment share a namespace, and an app team controls its own directory of the
GitOps repo (its spec and its kustomization). So the manifests a directory renders to, after
its patches, may only reference what the directory's apps own, and their pods must pass the
restricted Pod Security Standard. Every violation of every object is reported at once, each
naming the object, the field, the value and the rule; docs/tenancy.md is the model in prose.

What an app owns (`Tenant`): its namespace; its ServiceAccount and that account's IAM role;
the Secrets and ConfigMap the platform makes for it (`<instance>-db`, `-auth`, `-tls`,
`-storage`, `plattr.naming`); and whatever its team names `<app>.<anything>`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from plattr.access import PREVIEW_ROLE_BINDING, preview_role_binding
from plattr.models import Application
from plattr.validation import FieldError
from renderer.errors import Problem
from renderer.options import RenderOptions
from renderer.plan import plan
from renderer.resources import POD_SECURITY_LABELS
from renderer.workload import IRSA_ANNOTATION, role_arn

Manifest = dict[str, Any]

POD_TEMPLATES: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Where each kind that runs pods keeps its pod (metadata and spec)."""
RBAC_KINDS: Final = frozenset({"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"})
CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")
ALLOWED_VOLUME_TYPES: Final = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
ALLOWED_CAPABILITIES: Final = frozenset({"NET_BIND_SERVICE"})
ALLOWED_PROFILES: Final = ("RuntimeDefault", "Localhost")
"""The seccomp and AppArmor profile types the restricted profile allows."""
APPARMOR_ANNOTATION_PREFIX: Final = "container.apparmor.security.beta.kubernetes.io/"
SAFE_SYSCTLS: Final = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_fin_timeout",
    }
)
"""The restricted (and baseline) profile's safe sysctls as of Kubernetes 1.31."""
POD_SECURITY_LABEL_PREFIX: Final = "pod-security.kubernetes.io/"
"""The labels that set a namespace's Pod Security level (`renderer.resources` sets them)."""
PSS: Final = "the restricted Pod Security Standard"
PSS_FORBIDS: Final = f"{PSS} forbids it"
UNSET: Final = object()
"""A field the rule needs set (allowPrivilegeEscalation, seccompProfile, ...) is missing."""


class Tenant(NamedTuple):
    """What the apps of one directory own (its team controls all of them)."""

    apps: tuple[str, ...]
    namespaces: frozenset[str]
    preview_namespaces: frozenset[str]
    service_accounts: tuple[str, ...]
    role_arns: frozenset[str]
    secrets: tuple[str, ...]
    config_maps: tuple[str, ...]
    prefixes: tuple[str, ...]

    @property
    def who(self) -> str:
        return f"app {self.apps[0]}" if len(self.apps) == 1 else f"apps {', '.join(self.apps)}"

    def owns(self, name: object, platform_names: tuple[str, ...]) -> bool:
        return isinstance(name, str) and (name in platform_names or name.startswith(self.prefixes))

    def allowed(self, platform_names: tuple[str, ...]) -> str:
        declared = " or ".join(repr(f"{prefix}<name>") for prefix in self.prefixes)
        platform = f"{', '.join(platform_names)}, " if platform_names else ""
        return f"it may reference {platform}or its team's own, named {declared}"


def tenant(apps: Iterable[Application], options: RenderOptions) -> Tenant:
    plans = [plan(app, options) for app in apps]
    return Tenant(
        apps=tuple(dict.fromkeys(p.app.metadata.name for p in plans)),
        namespaces=frozenset(p.namespace for p in plans),
        preview_namespaces=frozenset(p.namespace for p in plans if p.is_preview),
        service_accounts=tuple(p.name for p in plans),
        role_arns=frozenset(arn for p in plans if (arn := role_arn(p))),
        secrets=tuple(name for p in plans for name in p.target.secret_names),
        config_maps=tuple(name for p in plans for name in p.target.config_map_names),
        prefixes=tuple(dict.fromkeys(p.target.own_name_prefix for p in plans)),
    )


class Violation(NamedTuple):
    path: str
    value: object
    rule: str
    problem: str
    """What is wrong with the value (follows it in the message)."""
    fix: str
    """Why it matters or what is allowed instead."""


def check(source: str, owner: Tenant, manifests: Iterable[Manifest]) -> list[Problem]:
    """Every violation in `manifests` (one directory's final render), as problems of `source`."""
    where = f"{source} ({owner.who})"
    problems: list[Problem] = []
    for manifest in manifests:
        kind = str(manifest.get("kind", ""))
        metadata = _mapping(manifest.get("metadata"))
        what = f"{kind} {metadata.get('name', '')}"
        problems += [
            Problem(where, None, FieldError(f"{what}: {v.path}", _message(v)))
            for v in _object(kind, manifest, metadata, owner)
        ]
    return problems


def _message(violation: Violation) -> str:
    value = violation.value
    if value is UNSET:
        shown = "not set"
    elif isinstance(value, str):
        shown = repr(value)
    else:
        shown = json.dumps(value)
    return f"{shown} {violation.problem} [{violation.rule}]; {violation.fix}"


def _object(
    kind: str, manifest: Manifest, metadata: Mapping[str, Any], owner: Tenant
) -> Iterator[Violation]:
    namespace = metadata.get("namespace")
    if namespace is not None and namespace not in owner.namespaces:
        yield Violation(
            "metadata.namespace",
            namespace,
            "namespace",
            f"is not the namespace of {owner.who}",
            f"its objects go in {', '.join(sorted(owner.namespaces))} only",
        )
    if kind == "Namespace":
        yield from _namespace(metadata, owner)
    elif kind in RBAC_KINDS:
        yield from _access(kind, manifest, metadata, owner)
    elif kind == "ServiceAccount":
        yield from _service_account(manifest, metadata, owner)
    if kind in POD_TEMPLATES:
        path = POD_TEMPLATES[kind]
        pod: Mapping[str, Any] = manifest
        for key in path:
            pod = _mapping(pod.get(key))
        prefix = "".join(f"{key}." for key in path)
        yield from _pod(prefix, pod, owner)


def _namespace(metadata: Mapping[str, Any], owner: Tenant) -> Iterator[Violation]:
    name = metadata.get("name")
    if name not in owner.preview_namespaces:
        yield Violation(
            "metadata.name",
            name,
            "namespace",
            f"is not a namespace {owner.who} may create",
            "only a preview renders its own Namespace (preview-<app>-pr-<n>)",
        )
    labels = _mapping(metadata.get("labels"))
    keys = {str(key) for key in labels if str(key).startswith(POD_SECURITY_LABEL_PREFIX)}
    for key in sorted(keys | POD_SECURITY_LABELS.keys()):
        if labels.get(key, UNSET) != POD_SECURITY_LABELS.get(key, UNSET):
            yield Violation(
                f"metadata.labels[{key}]",
                labels.get(key, UNSET),
                "namespace",
                "would change the namespace's Pod Security level",
                f"a preview's namespace enforces {PSS}: keep the labels as rendered",
            )


def _access(
    kind: str, manifest: Manifest, metadata: Mapping[str, Any], owner: Tenant
) -> Iterator[Violation]:
    """Apps get no Kubernetes API access; the one grant a render carries is the controller's
    RoleBinding in a preview's own namespace (plattr.access), exactly as rendered."""
    namespace = metadata.get("namespace")
    if namespace in owner.preview_namespaces and kind == "RoleBinding":
        expected = preview_role_binding(str(namespace), {})
        fields = ("apiVersion", "roleRef", "subjects")
        if metadata.get("name") == PREVIEW_ROLE_BINDING and all(
            manifest.get(field) == expected[field] for field in fields
        ):
            return
    yield Violation(
        "kind",
        kind,
        "access",
        "grants Kubernetes API access, which no app has",
        "remove it; the only grant a render carries is the platform's RoleBinding "
        f"{PREVIEW_ROLE_BINDING} in a preview's namespace, as rendered",
    )


def _service_account(
    manifest: Manifest, metadata: Mapping[str, Any], owner: Tenant
) -> Iterator[Violation]:
    name = metadata.get("name")
    if name not in owner.service_accounts:
        yield Violation(
            "metadata.name",
            name,
            "service-account",
            f"is not the ServiceAccount of {owner.who}",
            f"the only one it may render is {', '.join(owner.service_accounts)}",
        )
    role = _mapping(metadata.get("annotations")).get(IRSA_ANNOTATION)
    if role is not None and role not in owner.role_arns:
        own = ", ".join(sorted(owner.role_arns)) or "none (the app has no storage)"
        yield Violation(
            f"metadata.annotations[{IRSA_ANNOTATION}]",
            role,
            "service-account",
            f"is not the IAM role of {owner.who}",
            f"its own is {own}: remove the patch",
        )
    if manifest.get("automountServiceAccountToken") is True:
        yield Violation(
            "automountServiceAccountToken",
            True,
            "service-account",
            "would give every pod a Kubernetes API token",
            "apps do not talk to the API server: set it to false or remove the patch",
        )


def _pod(prefix: str, pod: Mapping[str, Any], owner: Tenant) -> Iterator[Violation]:
    spec = _mapping(pod.get("spec"))
    at = f"{prefix}spec"
    yield from _annotations(f"{prefix}metadata", _mapping(pod.get("metadata")))
    own_sa = ", ".join(owner.service_accounts)
    for field in ("serviceAccountName", "serviceAccount"):
        account = spec.get(field, UNSET if field == "serviceAccountName" else None)
        if account is not None and account not in owner.service_accounts:
            yield Violation(
                f"{at}.{field}",
                account,
                "service-account",
                f"is not the ServiceAccount of {owner.who}",
                f"another account's identity (and IAM role) is another app's: use {own_sa}",
            )
    if spec.get("automountServiceAccountToken") is not False:
        yield Violation(
            f"{at}.automountServiceAccountToken",
            spec.get("automountServiceAccountToken", UNSET),
            "service-account",
            "must be false",
            "apps do not talk to the Kubernetes API server",
        )
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield Violation(
                f"{at}.{field}",
                True,
                "host-namespaces",
                "shares the node's namespace with the pod",
                f"{PSS} forbids it: remove it",
            )
    context = _mapping(spec.get("securityContext"))
    yield from _security_context(f"{at}.securityContext", context, pod_level=True)
    for index, sysctl in enumerate(_items(context.get("sysctls"))):
        name = sysctl.get("name", index)
        if name not in SAFE_SYSCTLS:
            yield Violation(
                f"{at}.securityContext.sysctls[{name}]",
                name,
                "sysctls",
                "is not a safe sysctl",
                f"{PSS} allows only {', '.join(sorted(SAFE_SYSCTLS))}",
            )
    for index, secret in enumerate(_items(spec.get("imagePullSecrets"))):
        yield from _secret(f"{at}.imagePullSecrets[{index}].name", secret.get("name"), owner)
    for volume in _items(spec.get("volumes")):
        yield from _volume(f"{at}.volumes[{volume.get('name', '')}]", volume, owner)
    pod_non_root = context.get("runAsNonRoot") is True
    pod_seccomp = "seccompProfile" in context
    for field in CONTAINER_LISTS:
        for container in _items(spec.get(field)):
            path = f"{at}.{field}[{container.get('name', '')}]"
            yield from _container(path, container, owner, pod_non_root, pod_seccomp)


def _annotations(at: str, metadata: Mapping[str, Any]) -> Iterator[Violation]:
    for key, value in _mapping(metadata.get("annotations")).items():
        if str(key).startswith(APPARMOR_ANNOTATION_PREFIX) and not (
            value in ("", "runtime/default") or str(value).startswith("localhost/")
        ):
            yield Violation(
                f"{at}.annotations[{key}]",
                value,
                "apparmor",
                "turns AppArmor off",
                f"{PSS} allows runtime/default or localhost/<profile>",
            )


def _security_context(
    at: str, context: Mapping[str, Any], *, pod_level: bool
) -> Iterator[Violation]:
    if context.get("runAsNonRoot") is False:
        yield Violation(
            f"{at}.runAsNonRoot",
            False,
            "run-as-non-root",
            "lets the container run as root",
            f"{PSS} requires true: remove the patch",
        )
    if context.get("runAsUser") == 0:
        yield Violation(
            f"{at}.runAsUser",
            0,
            "run-as-user",
            "is root",
            f"{PSS} requires a non-zero user id",
        )
    yield from _profile(
        at, context, "seccompProfile", "seccomp", "is not a confining seccomp profile"
    )
    if "seLinuxOptions" in context:
        yield Violation(
            f"{at}.seLinuxOptions",
            context["seLinuxOptions"],
            "selinux",
            "sets a custom SELinux context",
            "Plattr allows none (the restricted Pod "
            "Security Standard allows only the container types): remove it",
        )
    yield from _profile(at, context, "appArmorProfile", "apparmor", "turns AppArmor off")
    if _mapping(context.get("windowsOptions")).get("hostProcess") is True:
        yield Violation(
            f"{at}.windowsOptions.hostProcess",
            True,
            "host-process",
            "runs the container as a process of the node",
            PSS_FORBIDS,
        )
    if not pod_level and context.get("procMount", "Default") != "Default":
        yield Violation(
            f"{at}.procMount",
            context["procMount"],
            "proc-mount",
            "unmasks /proc",
            f"{PSS} allows only Default",
        )


def _profile(
    at: str, context: Mapping[str, Any], field: str, rule: str, problem: str
) -> Iterator[Violation]:
    profile = _mapping(context.get(field))
    if field in context and profile.get("type") not in ALLOWED_PROFILES:
        yield Violation(
            f"{at}.{field}.type",
            profile.get("type", UNSET),
            rule,
            problem,
            f"{PSS} allows {' or '.join(ALLOWED_PROFILES)}",
        )


def _container(
    at: str,
    container: Mapping[str, Any],
    owner: Tenant,
    pod_non_root: bool,
    pod_seccomp: bool,
) -> Iterator[Violation]:
    context = _mapping(container.get("securityContext"))
    sc = f"{at}.securityContext"
    yield from _security_context(sc, context, pod_level=False)
    if context.get("privileged") is True:
        yield Violation(
            f"{sc}.privileged",
            True,
            "privileged",
            "gives the container the node",
            PSS_FORBIDS,
        )
    if context.get("allowPrivilegeEscalation") is not False:
        yield Violation(
            f"{sc}.allowPrivilegeEscalation",
            context.get("allowPrivilegeEscalation", UNSET),
            "privilege-escalation",
            "must be false",
            f"{PSS} requires it on every container",
        )
    capabilities = _mapping(context.get("capabilities"))
    added = [cap for cap in _strings(capabilities.get("add")) if cap not in ALLOWED_CAPABILITIES]
    if added:
        yield Violation(
            f"{sc}.capabilities.add",
            added,
            "capabilities",
            "adds capabilities",
            f"{PSS} allows adding only NET_BIND_SERVICE",
        )
    if "ALL" not in _strings(capabilities.get("drop")):
        yield Violation(
            f"{sc}.capabilities.drop",
            capabilities.get("drop", UNSET),
            "capabilities",
            "must include ALL",
            f"{PSS} requires dropping every capability",
        )
    if "runAsNonRoot" not in context and not pod_non_root:
        yield Violation(
            f"{sc}.runAsNonRoot",
            UNSET,
            "run-as-non-root",
            "and the pod does not set it either",
            f"{PSS} requires runAsNonRoot: true",
        )
    if "seccompProfile" not in context and not pod_seccomp:
        yield Violation(
            f"{sc}.seccompProfile",
            UNSET,
            "seccomp",
            "and the pod does not set one either",
            f"{PSS} requires RuntimeDefault or Localhost",
        )
    for index, port in enumerate(_items(container.get("ports"))):
        if port.get("hostPort"):
            yield Violation(
                f"{at}.ports[{port.get('name', index)}].hostPort",
                port["hostPort"],
                "host-port",
                "opens a port on the node",
                f"{PSS} forbids host ports: remove it",
            )
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        yield from _handler_host(f"{at}.{probe}", _mapping(container.get(probe)))
    for hook, handler in _mapping(container.get("lifecycle")).items():
        yield from _handler_host(f"{at}.lifecycle.{hook}", _mapping(handler))
    yield from _env(at, container, owner)


def _handler_host(at: str, handler: Mapping[str, Any]) -> Iterator[Violation]:
    for action in ("httpGet", "tcpSocket"):
        host = _mapping(handler.get(action)).get("host")
        if host:
            yield Violation(
                f"{at}.{action}.host",
                host,
                "probe-host",
                "makes the node's kubelet call another host",
                "the Pod Security Standards forbid it: probe the pod itself (remove host)",
            )


def _env(at: str, container: Mapping[str, Any], owner: Tenant) -> Iterator[Violation]:
    for var in _items(container.get("env")):
        source = _mapping(var.get("valueFrom"))
        path = f"{at}.env[{var.get('name', '')}].valueFrom"
        yield from _references(path, source, ("secretKeyRef", "configMapKeyRef"), owner)
    for index, source in enumerate(_items(container.get("envFrom"))):
        path = f"{at}.envFrom[{index}]"
        yield from _references(path, source, ("secretRef", "configMapRef"), owner)


def _references(
    at: str, source: Mapping[str, Any], fields: tuple[str, str], owner: Tenant
) -> Iterator[Violation]:
    """The Secret (`fields[0]`) and ConfigMap (`fields[1]`) that `source` names, if any."""
    secret, config_map = fields
    if secret in source:
        yield from _secret(f"{at}.{secret}.name", _mapping(source[secret]).get("name"), owner)
    if config_map in source:
        name = _mapping(source[config_map]).get("name")
        yield from _config_map(f"{at}.{config_map}.name", name, owner)


def _volume(at: str, volume: Mapping[str, Any], owner: Tenant) -> Iterator[Violation]:
    for kind in [key for key in volume if key != "name"]:
        if kind == "hostPath":
            yield Violation(
                f"{at}.hostPath",
                _mapping(volume[kind]).get("path", UNSET),
                "host-path",
                "mounts the node's file system",
                f"{PSS} forbids hostPath volumes",
            )
        elif kind not in ALLOWED_VOLUME_TYPES:
            yield Violation(
                f"{at}.{kind}",
                kind,
                "volume-types",
                f"is not a volume type {PSS} allows",
                f"use one of {', '.join(sorted(ALLOWED_VOLUME_TYPES))}",
            )
    source = _mapping(volume.get("secret"))
    if "secret" in volume:
        yield from _secret(f"{at}.secret.secretName", source.get("secretName"), owner)
    if "configMap" in volume:
        name = _mapping(volume["configMap"]).get("name")
        yield from _config_map(f"{at}.configMap.name", name, owner)
    if "persistentVolumeClaim" in volume:
        claim = _mapping(volume["persistentVolumeClaim"]).get("claimName")
        path = f"{at}.persistentVolumeClaim.claimName"
        yield from _owned(path, claim, owner, what="a claim", platform=(), rule="claim-ownership")
    reference = _mapping(_mapping(volume.get("csi")).get("nodePublishSecretRef"))
    if reference:
        yield from _secret(f"{at}.csi.nodePublishSecretRef.name", reference.get("name"), owner)
    projected = _mapping(volume.get("projected"))
    for index, item in enumerate(_items(projected.get("sources"))):
        path = f"{at}.projected.sources[{index}]"
        yield from _references(path, item, ("secret", "configMap"), owner)


def _secret(at: str, name: object, owner: Tenant) -> Iterator[Violation]:
    return _owned(at, name, owner, what="a Secret", platform=owner.secrets, rule="secret-ownership")


def _config_map(at: str, name: object, owner: Tenant) -> Iterator[Violation]:
    return _owned(
        at, name, owner, what="a ConfigMap", platform=owner.config_maps, rule="config-map-ownership"
    )


def _owned(
    at: str, name: object, owner: Tenant, *, what: str, platform: tuple[str, ...], rule: str
) -> Iterator[Violation]:
    if not owner.owns(name, platform):
        shown = name if name is not None else UNSET
        yield Violation(at, shown, rule, f"is not {what} of {owner.who}", owner.allowed(platform))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []
