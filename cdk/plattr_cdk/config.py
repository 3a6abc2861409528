"""The app's context flags (listed in cdk/README.md, "Context flags"), parsed once into typed
settings.

Every value comes from `-c key=value` (a string) or from cdk.json (JSON-typed); both forms
are accepted. A wrong or missing value raises `ContextError`, whose message names the flag and
the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

ARN_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
ARN_OIDC = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[\w./-]+$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
GITHUB_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
GITHUB_REPO_FILTER = re.compile(r"^[A-Za-z0-9._*-]{1,100}$")
BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")

BYO_FLAGS = ("eksClusterName", "kubectlRoleArn", "oidcProviderArn", "auroraEndpoint", "auroraSgId")


class ContextError(ValueError):
    """A context flag is missing or malformed; the message says which and how to fix it."""


class Context(Protocol):
    """What the parsers need from a construct node: `node.try_get_context`."""

    def try_get_context(self, key: str) -> object: ...


def _raw(ctx: Context, key: str) -> object | None:
    value = ctx.try_get_context(key)
    return None if value is None or value == "" else value


def get_str(ctx: Context, key: str, default: str, pattern: re.Pattern[str] | None = None) -> str:
    value = _raw(ctx, key)
    text = default if value is None else str(value)
    if pattern is not None and not pattern.fullmatch(text):
        raise ContextError(f"-c {key}={text!r} is malformed: expected {pattern.pattern}")
    return text


def get_optional_str(ctx: Context, key: str, pattern: re.Pattern[str]) -> str | None:
    value = _raw(ctx, key)
    return None if value is None else get_str(ctx, key, "", pattern)


def get_bool(ctx: Context, key: str, default: bool) -> bool:
    value = _raw(ctx, key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ContextError(f"-c {key}={value!r} is not a boolean: pass -c {key}=true or {key}=false")


def get_number(ctx: Context, key: str, default: float, minimum: float) -> float:
    value = _raw(ctx, key)
    if value is None:
        return float(default)
    try:
        number = float(str(value))
    except ValueError:
        raise ContextError(
            f"-c {key}={value!r} is not a number: pass e.g. -c {key}={default:g}"
        ) from None
    if number < minimum:
        raise ContextError(f"-c {key}={value!r} is below {minimum:g}: pass a larger value")
    return number


def get_int(ctx: Context, key: str, default: int, minimum: int) -> int:
    number = get_number(ctx, key, default, minimum)
    if not number.is_integer():
        raise ContextError(f"-c {key}={number:g} must be a whole number")
    return int(number)


@dataclass(frozen=True)
class Deployment:
    """Where the stacks go: `-c account=… -c region=…`, else the CLI's defaults."""

    use_infra_stack: bool
    account: str | None
    region: str | None


@dataclass(frozen=True)
class InfraSettings:
    cluster_name: str
    node_instance_type: str
    node_min_size: int
    node_max_size: int
    node_desired_size: int
    aurora_min_capacity: float
    aurora_max_capacity: float


@dataclass(frozen=True)
class ImportedInfra:
    """Option B: the five flags that name an existing cluster and database."""

    cluster_name: str
    kubectl_role_arn: str
    oidc_provider_arn: str
    aurora_endpoint: str
    aurora_sg_id: str


@dataclass(frozen=True)
class AddOns:
    argocd: bool
    cert_manager: bool
    external_dns_zone: str | None  # the Route 53 zone external-dns manages; None: not installed
    ingress_nginx: bool
    keycloak: bool


@dataclass(frozen=True)
class OperatorSettings:
    base_domain: str
    bucket_prefix: str
    controller_image_tag: str
    plugin_image_tag: str
    acme_email: str
    addons: AddOns
    # The environments declaration (`-c environmentsFile=`): a file with an `environments:`
    # list, such as the chart's values; None: the chart's own values.
    environments_file: str | None = None


@dataclass(frozen=True)
class CicdSettings:
    github_org: str
    github_repo_filter: str | None
    eks_cluster_name: str


def read_deployment(ctx: Context) -> Deployment:
    return Deployment(
        use_infra_stack=get_bool(ctx, "useInfraStack", default=False),
        account=get_optional_str(ctx, "account", re.compile(r"^\d{12}$")),
        region=get_optional_str(ctx, "region", re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")),
    )


def read_infra(ctx: Context) -> InfraSettings:
    settings = InfraSettings(
        cluster_name=get_str(ctx, "eksClusterName", "plattr-nonprod", CLUSTER_NAME),
        node_instance_type=get_str(
            ctx, "nodeInstanceType", "t3.large", re.compile(r"^[a-z0-9-]+\.[a-z0-9]+$")
        ),
        node_min_size=get_int(ctx, "nodeMinSize", 2, minimum=0),
        node_max_size=get_int(ctx, "nodeMaxSize", 4, minimum=1),
        node_desired_size=get_int(ctx, "nodeDesiredSize", 2, minimum=0),
        aurora_min_capacity=get_number(ctx, "auroraMinCapacity", 0.5, minimum=0),
        aurora_max_capacity=get_number(ctx, "auroraMaxCapacity", 4, minimum=1),
    )
    if not settings.node_min_size <= settings.node_desired_size <= settings.node_max_size:
        raise ContextError(
            "node sizes must satisfy nodeMinSize <= nodeDesiredSize <= nodeMaxSize, got "
            f"{settings.node_min_size} <= {settings.node_desired_size} <= {settings.node_max_size}:"
            " fix -c nodeMinSize/-c nodeDesiredSize/-c nodeMaxSize"
        )
    if settings.aurora_min_capacity > settings.aurora_max_capacity:
        raise ContextError(
            f"-c auroraMinCapacity={settings.aurora_min_capacity:g} exceeds "
            f"-c auroraMaxCapacity={settings.aurora_max_capacity:g}: "
            "lower the first or raise the second"
        )
    return settings


def read_imported_infra(ctx: Context) -> ImportedInfra:
    missing = [flag for flag in BYO_FLAGS if _raw(ctx, flag) is None]
    if missing:
        flags = " ".join(f"-c {flag}=…" for flag in missing)
        raise ContextError(
            f"PlattrOperatorStack needs {', '.join(missing)} to use an existing cluster and "
            f"database: pass {flags}, or pass -c useInfraStack=true to let CDK create them"
        )
    return ImportedInfra(
        cluster_name=get_str(ctx, "eksClusterName", "", CLUSTER_NAME),
        kubectl_role_arn=get_str(ctx, "kubectlRoleArn", "", ARN_ROLE),
        oidc_provider_arn=get_str(ctx, "oidcProviderArn", "", ARN_OIDC),
        aurora_endpoint=get_str(ctx, "auroraEndpoint", "", HOSTNAME),
        aurora_sg_id=get_str(ctx, "auroraSgId", "", SECURITY_GROUP_ID),
    )


def read_operator(ctx: Context) -> OperatorSettings:
    hosted_zone_id = get_optional_str(ctx, "hostedZoneId", HOSTED_ZONE_ID)
    install_external_dns = get_bool(ctx, "installExternalDns", default=True)
    if install_external_dns and hosted_zone_id is None:
        raise ContextError(
            "installExternalDns=true needs the Route 53 zone of baseDomain: pass "
            "-c hostedZoneId=Z…, or -c installExternalDns=false"
        )
    addons = AddOns(
        argocd=get_bool(ctx, "installArgoCd", default=True),
        cert_manager=get_bool(ctx, "installCertManager", default=True),
        external_dns_zone=hosted_zone_id if install_external_dns else None,
        ingress_nginx=get_bool(ctx, "installIngressNginx", default=True),
        keycloak=get_bool(ctx, "installKeycloak", default=True),
    )
    base_domain = get_str(ctx, "baseDomain", "platform.company.dev", HOSTNAME)
    return OperatorSettings(
        base_domain=base_domain,
        bucket_prefix=get_str(ctx, "bucketPrefix", "plattr", BUCKET_PREFIX),
        controller_image_tag=get_str(ctx, "controllerImageTag", "latest", IMAGE_TAG),
        plugin_image_tag=get_str(ctx, "pluginImageTag", "plugin-latest", IMAGE_TAG),
        acme_email=get_str(
            ctx, "acmeEmail", f"platform@{base_domain}", re.compile(r"^[^@\s]+@[^@\s]+$")
        ),
        addons=addons,
        environments_file=get_optional_str(ctx, "environmentsFile", re.compile(r"^\S+$")),
    )


def read_cicd(ctx: Context) -> CicdSettings:
    if _raw(ctx, "githubOrg") is None:
        raise ContextError(
            "PlattrCicdStack needs the GitHub organization whose workflows may deploy: "
            "pass -c githubOrg=<org> (and optionally -c githubRepoFilter=<repo or glob>)"
        )
    return CicdSettings(
        github_org=get_str(ctx, "githubOrg", "", GITHUB_ORG),
        github_repo_filter=get_optional_str(ctx, "githubRepoFilter", GITHUB_REPO_FILTER),
        eks_cluster_name=get_str(ctx, "eksClusterName", "plattr-nonprod", CLUSTER_NAME),
    )
