"""The platform's environments, declared once and read at run time.

A platform team lists its environments (name, namespace, host pattern, how Argo CD syncs
them, defaults for their apps, quota and limits) under `environments:` in the plattr chart's
values. The chart hands the list to the controller and to the plugin as a file
(`ENVIRONMENTS_FILE_VARIABLE` names it), the CDK app and the local platform read the same
values, and nothing needs a rebuild when the list changes.

This module holds the declaration's shape and its checks; `load` reads a file. Without a
file (a laptop, a test) the declaration shipped in `DEFAULT_FILE` applies: the three
environments Plattr has always had. The chart's default values carry the same list (a test
compares the two).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, NamedTuple

import msgspec

from plattr import patterns, validation, yamlio
from plattr.errors import PlattrError, SettingsError
from plattr.models import ApplicationSpec, DeletionPolicy, EnvironmentName, Scaling
from plattr.naming import PREVIEW_NAMESPACE_PREFIX, PREVIEW_PREFIX, Target

ENVIRONMENTS_FILE_VARIABLE: Final = "PLATTR_ENVIRONMENTS_FILE"
"""The environment variable naming the declaration file the plugin and the controller read."""
DEFAULT_FILE: Final = Path(__file__).with_name("environments.yaml")
"""The declaration that applies when no file is named: production, staging and uat."""

HOST_PLACEHOLDERS: Final = ("app", "env", "domain")
_PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
_RESERVED_NAMES: Final = ("preview", "previews")

Sync = Literal["automatic", "manual"]
"""`automatic`: Argo CD syncs every commit (and undoes drift); `manual`: a person syncs."""

NamespaceName = Annotated[
    str,
    msgspec.Meta(
        description="Namespace name", pattern=patterns.DNS1123_LABEL, min_length=1, max_length=63
    ),
]
QuantityText = Annotated[str, msgspec.Meta(pattern=patterns.QUANTITY)]
ResourceAmounts = dict[str, QuantityText]


class _Declared(
    msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True, kw_only=True
):
    """Base of the declaration's parts: camelCase keys as in the chart's values, no unknown key."""


class SyncWindow(_Declared, frozen=True, kw_only=True):
    """An Argo CD sync window over the environment's apps (AppProject `syncWindows`)."""

    kind: Literal["allow", "deny"]
    schedule: Annotated[str, msgspec.Meta(description="Cron schedule, e.g. '0 16 * * 5'")]
    duration: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+[hm]$", description="e.g. 64h")]
    time_zone: str = "UTC"
    manual_sync: Annotated[
        bool, msgspec.Meta(description="Whether a person may still sync inside a deny window")
    ] = False


class Defaults(_Declared, frozen=True, kw_only=True):
    """What an app in this environment gets when its spec does not say."""

    min_replicas: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    deletion_policy: DeletionPolicy = "Delete"


class Limits(_Declared, frozen=True, kw_only=True):
    """The environment namespace's LimitRange, per container."""

    default_request: ResourceAmounts = {}
    default: ResourceAmounts = {}
    max: ResourceAmounts = {}


class Replicas(NamedTuple):
    """How many pods run: always at least `min`, at most `max` (an autoscaler between)."""

    min: int
    max: int
    target_cpu: int

    @property
    def autoscaled(self) -> bool:
        return self.max > self.min


class Environment(_Declared, frozen=True, kw_only=True):
    """One declared environment."""

    name: EnvironmentName
    namespace: NamespaceName | None = None
    host: Annotated[
        str,
        msgspec.Meta(description="Host of an app: {app}, {env} and {domain} are filled in"),
    ] = "{app}.{env}.{domain}"
    sync: Sync = "automatic"
    sync_windows: tuple[SyncWindow, ...] = ()
    previews: Annotated[
        bool, msgspec.Meta(description="Whether pull requests of its apps may get previews")
    ] = False
    defaults: Defaults = Defaults()
    quota: ResourceAmounts = {}
    limits: Limits = Limits()

    @property
    def namespace_name(self) -> str:
        """The environment's namespace: `namespace`, or the environment's name."""
        return self.namespace or self.name

    def target(self, app: str) -> Target:
        """App `app` in this environment, with its namespace and host pattern."""
        return Target(app, self.name, self.namespace_name, self.host)

    def replicas(self, scaling: Scaling | None) -> Replicas:
        """An app's replicas here: the spec's `scaling`, this environment's `minReplicas`
        where the spec gives no `min`, and `max` defaulting to `min`. An explicit `max` below
        `minReplicas` (and no `min`) caps it: the spec's own word wins."""
        scaling = scaling or Scaling()
        low = scaling.min or self.defaults.min_replicas
        if scaling.max is not None:
            low = min(low, scaling.max)
        return Replicas(low, scaling.max or low, scaling.target_cpu)

    def deletion_policy_of(self, spec: ApplicationSpec) -> DeletionPolicy:
        """What deleting an app of this environment does to its data: the spec's
        `deletionPolicy`, else the environment's default."""
        return spec.deletion_policy or self.defaults.deletion_policy

    def problems(self) -> list[str]:
        """What is wrong with this environment that its types cannot say."""
        where = f"environments[{self.name}]"
        found: list[str] = []
        if self.name.startswith(PREVIEW_PREFIX) or self.name in _RESERVED_NAMES:
            found.append(f"{where}.name: {self.name!r} is reserved for previews; pick another name")
        if self.namespace_name.startswith(PREVIEW_NAMESPACE_PREFIX):
            found.append(
                f"{where}.namespace: {self.namespace_name!r} starts with "
                f"{PREVIEW_NAMESPACE_PREFIX!r}, which previews' namespaces use; pick another"
            )
        found += self._unfilled_quota(where)
        placeholders = _PLACEHOLDER.findall(self.host)
        unknown = sorted(set(placeholders) - set(HOST_PLACEHOLDERS))
        if unknown or "app" not in placeholders or "domain" not in placeholders:
            found.append(
                f"{where}.host: {self.host!r} must hold {{app}} and {{domain}} and may hold "
                f"{{env}}; nothing else in braces"
                + (f" (found {', '.join('{' + name + '}' for name in unknown)})" if unknown else "")
            )
        return found

    def _unfilled_quota(self, where: str) -> list[str]:
        """A quota on `requests.X`/`limits.X` makes the API server refuse every pod with a
        container that does not set X: the LimitRange must set it for them
        (docs/environments.md, "Quota and limits")."""
        defaulted = {"requests": self.limits.default_request, "limits": self.limits.default}
        found = []
        for key in sorted(self.quota):
            kind, _, resource = key.partition(".")
            if kind in defaulted and resource not in defaulted[kind]:
                field = "defaultRequest" if kind == "requests" else "default"
                found.append(
                    f"{where}.quota: {key!r} without limits.{field}.{resource}: the API server "
                    f"would refuse every pod whose containers do not set {key}; set "
                    f"limits.{field}.{resource} or drop {key!r} from the quota"
                )
        return found


class UndeclaredEnvironment(PlattrError):
    """An app names an environment the platform has not declared."""


class Environments(msgspec.Struct, frozen=True):
    """The declared environments, in the declaration's order (the dashboard's columns)."""

    declared: tuple[Environment, ...]
    source: str = str(DEFAULT_FILE)

    def __iter__(self) -> Iterator[Environment]:
        return iter(self.declared)

    def __len__(self) -> int:
        return len(self.declared)

    def __contains__(self, name: object) -> bool:
        return any(environment.name == name for environment in self.declared)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(environment.name for environment in self.declared)

    def get(self, name: str) -> Environment | None:
        return next((env for env in self.declared if env.name == name), None)

    def require(self, name: str, field: str = "spec.environment") -> Environment:
        """The environment `name`, or `UndeclaredEnvironment` naming `field` and the choices."""
        environment = self.get(name)
        if environment is None:
            raise UndeclaredEnvironment(self.undeclared_message(name, field))
        return environment

    def undeclared_message(self, name: str, field: str = "spec.environment") -> str:
        return f"{field}: {self.undeclared_reason(name)}"

    def undeclared_reason(self, name: str) -> str:
        return (
            f"{name!r} is not a declared environment; declared: {', '.join(self.names)} "
            f"(from {self.source}). Pick one of those, or have the platform team add it to "
            "the environments declaration"
        )

    def by_namespace(self, namespace: str) -> Environment | None:
        return next((env for env in self.declared if env.namespace_name == namespace), None)

    def problems(self) -> list[str]:
        """Every problem of the declaration as a whole, one line each (hosts are compared as an
        app `app` on `example.com` would get them)."""
        found = [problem for environment in self.declared for problem in environment.problems()]
        if found:
            return found
        if not self.declared:
            found.append("environments: the list is empty; declare at least one environment")
        for field, values in (
            ("name", self.names),
            ("namespace", [env.namespace_name for env in self.declared]),
            ("host", [env.target("app").host("example.com") for env in self.declared]),
        ):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                found.append(
                    f"environments[].{field}: {', '.join(map(repr, repeated))} declared more "
                    "than once; each environment needs its own"
                )
        return found


class InvalidDeclaration(SettingsError):
    """The environments declaration is unreadable or breaks a rule; the message lists every
    problem with its field."""


def parse(document: object, source: str) -> Environments:
    """The declaration in `document` (a mapping with an `environments` list, as the chart's
    values hold it), checked as a whole; `InvalidDeclaration` lists every problem."""
    if not isinstance(document, Mapping) or "environments" not in document:
        raise InvalidDeclaration(
            f"{source}: expected a mapping with an `environments:` list, as in the chart's values"
        )
    items: Any = document["environments"]
    try:
        declared = tuple(validation.decode(items, list[Environment]))
    except validation.InvalidDocument as error:
        lines = [
            f"environments{'' if e.path.startswith('[') else '.'}{e.path}: {e.message}"
            for e in error.errors
        ]
        raise InvalidDeclaration(f"{source}:\n  " + "\n  ".join(lines)) from None
    environments = Environments(declared, source)
    problems = environments.problems()
    if problems:
        raise InvalidDeclaration(f"{source}:\n  " + "\n  ".join(problems))
    return environments


def load(path: Path) -> Environments:
    """The declaration in the YAML file `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidDeclaration(
            f"environments declaration {path}: cannot be read ({error.strerror}); "
            f"set {ENVIRONMENTS_FILE_VARIABLE} to the file the chart mounts"
        ) from None
    try:
        documents = yamlio.load_all(text, str(path))
    except yamlio.YamlError as error:
        raise InvalidDeclaration(str(error)) from None
    return parse(documents[0] if documents else None, str(path))


@functools.cache
def shipped() -> Environments:
    """The declaration shipped with Plattr (`DEFAULT_FILE`), read once."""
    return load(DEFAULT_FILE)


def from_environ(environ: Mapping[str, str] = os.environ) -> Environments:
    """The declaration named by `PLATTR_ENVIRONMENTS_FILE`, else the shipped default."""
    named = environ.get(ENVIRONMENTS_FILE_VARIABLE, "").strip()
    return load(Path(named)) if named else shipped()
