"""Typed models of the Plattr custom resources: the one source of truth.

The CRDs' openAPIV3Schema is generated from these classes (`plattr.crd`), the renderer and
the controller read specs through them, and validation (`plattr.validation`) decodes into
them. Rules that a JSON Schema can express live in the annotations (and so reach the API
server); rules that span fields live in `__post_init__`, raising `ValueError` with a message
that names the fields and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

import msgspec

from plattr import patterns, postgrest
from plattr.frameworks import Framework
from plattr.quantity import parse_quantity

GROUP: Final = "platform.internal"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

ENVIRONMENT_NAME_MAX: Final = 20
"""Environment names end up inside schema, realm, role and bucket names; keep room for the
app's name."""
EnvironmentName = Annotated[
    str,
    msgspec.Meta(
        description="Environment name",
        pattern=patterns.DNS1035_LABEL,
        min_length=1,
        max_length=ENVIRONMENT_NAME_MAX,
    ),
]
"""A declared environment's name (`plattr.environments`): which names are declared is the
platform's configuration, checked by the plugin and the controller, not by the schema."""
IdentityProvider = Literal["google", "github", "gitlab", "microsoft", "bitbucket", "facebook"]
DeletionPolicy = Literal["Retain", "Delete"]
Phase = Literal["Pending", "Provisioning", "Running", "Failed"]
ConditionType = Literal["DatabaseReady", "StorageReady", "AuthReady", "DeploymentReady"]


def _meta(description: str, **rules: Any) -> msgspec.Meta:
    return msgspec.Meta(description=description, **rules)


Name = Annotated[
    str, _meta("DNS-1035 label", pattern=patterns.DNS1035_LABEL, min_length=1, max_length=63)
]
Hostname = Annotated[
    str, _meta("DNS-1123 subdomain", pattern=patterns.DNS1123_SUBDOMAIN, max_length=253)
]
ObjectName = Annotated[
    str,
    _meta(
        "Kubernetes object name (DNS-1123 subdomain)",
        pattern=patterns.DNS1123_SUBDOMAIN,
        min_length=1,
        max_length=253,
    ),
]
ImageRef = Annotated[
    str,
    _meta(
        "Container image reference: [registry/]repository[:tag][@sha256:digest]",
        pattern=patterns.IMAGE_REFERENCE,
        max_length=512,
    ),
]
Quantity = Annotated[
    str, _meta("Kubernetes quantity, e.g. 100m, 0.5, 256Mi", pattern=patterns.QUANTITY)
]
Port = Annotated[int, _meta("TCP port", ge=1, le=65535)]
EnvName = Annotated[
    str, _meta("Environment variable name", pattern=patterns.ENV_VAR_NAME, max_length=256)
]
LabelKey = Annotated[
    str, _meta("Label or annotation key", pattern=patterns.QUALIFIED_NAME, max_length=316)
]
LabelValue = Annotated[str, _meta("Label value", pattern=patterns.LABEL_VALUE, max_length=63)]


class Model(
    msgspec.Struct,
    forbid_unknown_fields=True,
    rename="camel",
    omit_defaults=True,
    frozen=True,
):
    """Base of every model: camelCase on the wire, unknown fields rejected."""


# --- spec pieces -------------------------------------------------------------------------


class KeyRef(Model, frozen=True, kw_only=True):
    name: Annotated[
        ObjectName,
        _meta(
            "Name of the Secret or ConfigMap: one of the app's own (`<app>-db`, `<app>-auth`, "
            "`<app>-storage`) or one its team declares, named `<app>.<anything>`"
        ),
    ]
    key: Annotated[str, _meta("Key within it", pattern=patterns.CONFIG_KEY, max_length=253)]


class EnvVar(Model, frozen=True, kw_only=True):
    name: EnvName
    value: Annotated[str | None, _meta("Plain value (quote numbers and booleans)")] = None
    secret_key_ref: Annotated[KeyRef | None, _meta("Value from a key of a Secret")] = None
    config_map_key_ref: Annotated[KeyRef | None, _meta("Value from a key of a ConfigMap")] = None

    def __post_init__(self) -> None:
        sources = [self.value, self.secret_key_ref, self.config_map_key_ref]
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                f"env var {self.name!r} needs exactly one of value, secretKeyRef, configMapKeyRef"
            )


class ResourceAmounts(Model, frozen=True, kw_only=True):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(Model, frozen=True, kw_only=True):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None

    def __post_init__(self) -> None:
        if self.requests is None or self.limits is None:
            return
        for resource in ("cpu", "memory"):
            request = getattr(self.requests, resource)
            limit = getattr(self.limits, resource)
            if request and limit and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(
                    f"requests.{resource} ({request}) is more than limits.{resource} "
                    f"({limit}); lower the request or raise the limit"
                )


class Probe(Model, frozen=True, kw_only=True):
    type: Annotated[Literal["http", "tcp"], _meta("HTTP GET on path, or a TCP connect")] = "http"
    path: Annotated[str, _meta("HTTP path", pattern=patterns.HTTP_PATH, max_length=1024)] | None = (
        None
    )
    initial_delay_seconds: Annotated[int, _meta("Seconds before the first probe", ge=0)] = 0
    period_seconds: Annotated[int, _meta("Seconds between probes", ge=1, le=3600)] = 10
    failure_threshold: Annotated[int, _meta("Failures before acting", ge=1, le=100)] = 3

    def __post_init__(self) -> None:
        if self.type == "tcp" and self.path is not None:
            raise ValueError("path is only for type http; remove it or set type: http")


class Probes(Model, frozen=True, kw_only=True):
    readiness: Probe | None = None
    liveness: Probe | None = None
    startup: Probe | None = None


class Ingress(Model, frozen=True, kw_only=True):
    enabled: Annotated[bool, _meta("Expose the app through the ingress controller")] = True
    hosts: Annotated[list[Hostname], _meta("Extra hosts besides the platform's own")] = []
    path: Annotated[str, _meta("Path prefix", pattern=patterns.HTTP_PATH, max_length=1024)] = "/"

    def __post_init__(self) -> None:
        _require_unique("hosts", self.hosts)


class PostgrestSidecar(Model, frozen=True, kw_only=True):
    enabled: Annotated[bool, _meta("Run the PostgREST sidecar next to the app")] = True


class Database(Model, frozen=True, kw_only=True):
    enabled: Annotated[bool, _meta("Provision a Postgres schema and roles")] = False
    postgrest: PostgrestSidecar = msgspec.field(default_factory=PostgrestSidecar)


class Bucket(Model, frozen=True, kw_only=True):
    name: Annotated[
        str,
        _meta(
            "Logical bucket name (the real name is derived)",
            pattern=patterns.BUCKET_LOGICAL_NAME,
            max_length=40,
        ),
    ]
    public: Annotated[bool, _meta("Anonymous read access to objects")] = False

    def __post_init__(self) -> None:
        if self.name.endswith(patterns.RESERVED_BUCKET_SUFFIXES):
            raise ValueError(f"name {self.name!r} ends with a suffix S3 reserves; rename it")


class Storage(Model, frozen=True, kw_only=True):
    enabled: Annotated[bool, _meta("Provision S3 buckets")] = False
    buckets: list[Bucket] = []

    def __post_init__(self) -> None:
        _require_unique("buckets[].name", [bucket.name for bucket in self.buckets])
        if self.enabled and not self.buckets:
            raise ValueError("enabled is true but buckets is empty; add a bucket or disable")


class Auth(Model, frozen=True, kw_only=True):
    enabled: Annotated[bool, _meta("Provision a Keycloak realm and OIDC client")] = False
    providers: Annotated[list[IdentityProvider], _meta("Identity providers to offer")] = []

    def __post_init__(self) -> None:
        _require_unique("providers", self.providers)


ReplicaCount = Annotated[int, _meta("Number of replicas", ge=1, le=1000)]


class Scaling(Model, frozen=True, kw_only=True):
    min: Annotated[
        ReplicaCount | None, _meta("Minimum replicas (default: the environment's minReplicas)")
    ] = None
    max: Annotated[ReplicaCount | None, _meta("Maximum replicas (default: min)")] = None
    target_cpu: Annotated[int, _meta("Target average CPU utilisation, %", ge=1, le=100)] = (
        msgspec.field(name="targetCPU", default=80)
    )

    def __post_init__(self) -> None:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); set min <= max")


def _require_unique(field: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field} lists {value!r} twice; list each once")
        seen.add(value)


# --- Application ---------------------------------------------------------------------------


class ObjectMeta(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, kw_only=True):
    """The subset of Kubernetes metadata Plattr reads; other keys pass through untouched."""

    name: Name
    namespace: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    generation: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    deletion_timestamp: str | None = None
    finalizers: list[str] = []


class ApplicationSpec(Model, frozen=True, kw_only=True):
    repository: Annotated[str | None, _meta("Source repository, for people")] = None
    framework: Annotated[Framework, _meta("Decides defaults: port, probes, resources")]
    environment: Annotated[
        EnvironmentName,
        _meta("Target environment, one the platform declares; decides namespace and host"),
    ]
    image_ref: Annotated[ImageRef, _meta("Image to run")]
    port: Annotated[Port | None, _meta("Container port (default: by framework)")] = None
    command: Annotated[list[str] | None, _meta("Overrides the image's ENTRYPOINT")] = None
    args: Annotated[list[str] | None, _meta("Overrides the image's CMD")] = None
    env: list[EnvVar] = []
    resources: Resources | None = None
    probes: Probes | None = None
    ingress: Ingress = msgspec.field(default_factory=Ingress)
    database: Database = msgspec.field(default_factory=Database)
    storage: Storage = msgspec.field(default_factory=Storage)
    auth: Auth = msgspec.field(default_factory=Auth)
    scaling: Annotated[
        Scaling | None, _meta("Replicas and autoscaling (default: the environment's minReplicas)")
    ] = None
    labels: Annotated[dict[LabelKey, LabelValue], _meta("Extra labels on every object")] = {}
    annotations: Annotated[dict[LabelKey, str], _meta("Extra annotations on workloads")] = {}
    deletion_policy: Annotated[
        DeletionPolicy | None,
        _meta("What deleting the app does to its data (default: the environment's)"),
    ] = None

    def __post_init__(self) -> None:
        _require_unique("env[].name", [var.name for var in self.env])
        for key in (*self.labels, *self.annotations):
            if key.startswith(patterns.RESERVED_KEY_PREFIXES):
                raise ValueError(
                    f"label/annotation key {key!r} uses a prefix Plattr manages "
                    f"({', '.join(patterns.RESERVED_KEY_PREFIXES)}); pick another key"
                )
        if self.runs_postgrest and self.port in postgrest.PORTS:
            raise ValueError(
                f"port {self.port} is taken by the PostgREST sidecar; "
                "use another port or set database.postgrest.enabled: false"
            )

    @property
    def runs_postgrest(self) -> bool:
        return self.database.enabled and self.database.postgrest.enabled


class Condition(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class ApplicationStatus(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    phase: Phase | None = None
    conditions: list[Condition] = []
    observed_generation: int | None = None
    url: str | None = None
    secrets: Annotated[list[str], _meta("Names (never values) of the Secrets it made")] = []
    message: str | None = None


class Resource(
    msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True, kw_only=True
):
    """What every Plattr resource has: our apiVersion and Kubernetes metadata."""

    api_version: str = msgspec.field(name="apiVersion")
    metadata: ObjectMeta

    def __post_init__(self) -> None:
        if self.api_version != API_VERSION:
            raise ValueError(f"apiVersion must be {API_VERSION}, not {self.api_version!r}")


class Application(Resource, frozen=True, kw_only=True):
    kind: Literal["Application"]
    spec: ApplicationSpec
    status: ApplicationStatus | None = None


# --- PreviewEnvironment --------------------------------------------------------------------


TTL = Annotated[str, _meta("Time to live, e.g. 30m, 72h, 7d", pattern=patterns.TTL)]


class PreviewEnvironmentSpec(Model, frozen=True, kw_only=True):
    application: Annotated[Name, _meta("Name of the Application this previews")]
    pull_request: Annotated[int, _meta("Pull request number", ge=1)]
    head_sha: Annotated[str, _meta("Commit previewed", pattern=r"^[0-9a-f]{7,40}$")] | None = None
    image_ref: ImageRef
    ttl: TTL = "72h"
    database: Database = msgspec.field(default_factory=Database)
    storage: Storage = msgspec.field(default_factory=Storage)
    auth: Auth = msgspec.field(default_factory=Auth)


class PreviewEnvironmentStatus(ApplicationStatus, kw_only=True):
    expires_at: Annotated[str | None, _meta("When the TTL sweep removes it (RFC 3339)")] = None


class PreviewEnvironment(Resource, frozen=True, kw_only=True):
    kind: Literal["PreviewEnvironment"]
    spec: PreviewEnvironmentSpec
    status: PreviewEnvironmentStatus | None = None
