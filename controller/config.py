"""The controller's settings, read from the environment once at start-up.

`Settings.from_env` checks every variable and reports all problems at once (variable, value,
what to set), so an operator fixes a broken Deployment in one round. Secrets (the admin URL,
the Keycloak password) are kept out of `repr` and never echoed in an error.
`controller/README.md` documents each variable; keep the two in step.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

from controller.errors import ControllerError
from controller.machinery.leader import LeaseSettings
from controller.provisioners.auth import DEFAULT_CONCURRENCY
from controller.verification import PROVISIONERS
from plattr import environments
from plattr.errors import SettingsError
from plattr.settings import aws_account_id_problem, base_domain_problem

N = TypeVar("N", int, float)
_Text = TypeVar("_Text", str, str | None)
DashboardAuth = Literal["none", "token", "oidc"]
DASHBOARD_AUTHS: Final[tuple[DashboardAuth, ...]] = ("none", "token", "oidc")

LEASE_NAME: Final = "plattr-operator-leader"
DEFAULT_VERIFY_SECONDS: Final = 3600.0
TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS: Final = frozenset({"false", "0", "no", "off", ""})
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?")


class ConfigError(ControllerError, SettingsError):
    """Every problem with the environment, one line each (exit code `USAGE`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "the controller's configuration is not usable:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\n(see controller/README.md for every variable and its default)"
        )
        self.problems = problems


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the admin credentials come from: a URL (dev) or Secrets Manager (prod)."""

    admin_url: str | None = field(default=None, repr=False)
    secret_arn: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class SecretRef:
    """A Secret by namespace and name, as `namespace/name`."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class KeycloakSettings:
    """Keycloak's URL and where its admin credentials come from: a Secret read through the
    API when needed (`admin_secret`, in a cluster), or the variables themselves (development).
    """

    url: str
    admin_user: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    admin_secret: SecretRef | None = None
    admin_realm: str = "master"
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class LeaderSettings(LeaseSettings):
    """Whether to elect a leader at all, and the Lease to hold if so."""

    enabled: bool


@dataclass(frozen=True)
class DashboardSettings:
    """The dashboard on METRICS_PORT: who may read it, and where Argo CD is."""

    auth: DashboardAuth = "none"
    token: str | None = field(default=None, repr=False)
    argocd_url: str | None = None
    url: str | None = None
    """Where people reach the dashboard (OIDC's redirect URI is under it)."""
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DashboardSettings:
        reader = _Reader(env)
        settings = _dashboard(reader)
        reader.raise_problems()
        return settings


@dataclass(frozen=True)
class Settings:
    base_domain: str
    aws_region: str
    database: DatabaseSettings
    keycloak: KeycloakSettings | None
    leader: LeaderSettings
    aws_endpoint_url: str | None = None
    aws_account_id: str | None = None
    oidc_provider_arn: str | None = None
    oidc_issuer: str | None = None
    bucket_prefix: str = "plattr"
    watch_namespaces: tuple[str, ...] = ()
    metrics_host: str = "0.0.0.0"  # noqa: S104 - a pod's port, reached through its Service
    metrics_port: int = 9090
    resync_seconds: float = 300.0
    verify_seconds: Mapping[str, float] = field(
        default_factory=lambda: dict.fromkeys(PROVISIONERS, DEFAULT_VERIFY_SECONDS)
    )
    """Per provisioner (database, storage, auth): how often a resync verifies its external
    resources again (`<NAME>_VERIFY_SECONDS`; 0: on every resync)."""
    workers: int = 4
    ttl_sweep_seconds: float = 300.0
    log_level: str = "INFO"
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    environments_file: Path | None = None
    """The environments declaration (`PLATTR_ENVIRONMENTS_FILE`); None: the shipped one."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from `env` (normally `os.environ`); `ConfigError` lists every problem."""
        reader = _Reader(env)
        settings = cls(
            base_domain=reader.checked(
                "BASE_DOMAIN",
                reader.required("BASE_DOMAIN", "the apps' base domain, e.g. apps.example.com"),
                base_domain_problem,
            ),
            aws_region=reader.required("AWS_REGION", "the AWS region, e.g. eu-west-1"),
            database=_database(reader),
            keycloak=_keycloak(reader),
            leader=_leader(reader),
            aws_endpoint_url=reader.optional_url("AWS_ENDPOINT_URL"),
            aws_account_id=reader.checked(
                "AWS_ACCOUNT_ID", reader.optional("AWS_ACCOUNT_ID"), aws_account_id_problem
            ),
            oidc_provider_arn=reader.optional("OIDC_PROVIDER_ARN"),
            oidc_issuer=reader.optional("OIDC_ISSUER"),
            bucket_prefix=reader.text("BUCKET_PREFIX", "plattr"),
            watch_namespaces=tuple(
                part.strip()
                for part in reader.text("WATCH_NAMESPACES", "").split(",")
                if part.strip()
            ),
            metrics_host=reader.text("METRICS_HOST", "0.0.0.0"),  # noqa: S104
            metrics_port=reader.number("METRICS_PORT", 9090, int, low=1, high=65535),
            resync_seconds=reader.number("RESYNC_SECONDS", 300.0, float, low=1),
            verify_seconds={
                name: reader.number(
                    f"{name.upper()}_VERIFY_SECONDS", DEFAULT_VERIFY_SECONDS, float, low=0
                )
                for name in PROVISIONERS
            },
            workers=reader.number("WORKERS", 4, int, low=1, high=64),
            ttl_sweep_seconds=reader.number("TTL_SWEEP_SECONDS", 300.0, float, low=1),
            log_level=reader.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            dashboard=_dashboard(reader),
            environments_file=_environments_file(reader),
        )
        reader.raise_problems()
        return settings


def _environments_file(reader: _Reader) -> Path | None:
    """The declaration file, if one is named; it must load (every problem is listed)."""
    named = reader.optional(environments.ENVIRONMENTS_FILE_VARIABLE)
    if named is None:
        return None
    try:
        environments.load(Path(named))
    except environments.InvalidDeclaration as error:
        reader.problem(f"{environments.ENVIRONMENTS_FILE_VARIABLE}={named}: {error}")
    return Path(named)


def _database(reader: _Reader) -> DatabaseSettings:
    admin_url = reader.optional("DB_ADMIN_URL")
    secret_arn = reader.optional("DB_SECRET_ARN")
    host = reader.optional("DB_HOST")
    if admin_url is None and secret_arn is None:
        reader.problem(
            "DB_ADMIN_URL / DB_SECRET_ARN: neither is set; set DB_ADMIN_URL "
            "(postgresql://user:password@host:5432/db, dev) or DB_SECRET_ARN and DB_HOST (prod)"
        )
    if admin_url is not None and not admin_url.startswith(("postgresql://", "postgres://")):
        reader.problem(
            "DB_ADMIN_URL: not a postgresql:// URL (value not shown: it holds a password); "
            "use postgresql://user:password@host:5432/db"
        )
    if admin_url is None and secret_arn is not None and host is None:
        reader.problem("DB_HOST: not set, but DB_SECRET_ARN needs it; set the Aurora endpoint")
    return DatabaseSettings(
        admin_url=admin_url,
        secret_arn=secret_arn,
        host=host,
    )


def _keycloak(reader: _Reader) -> KeycloakSettings | None:
    names = (
        "KEYCLOAK_URL",
        "KEYCLOAK_ADMIN_USER",
        "KEYCLOAK_ADMIN_PASSWORD",
        "KEYCLOAK_ADMIN_SECRET",
    )
    url, user, password, secret = (reader.optional(name) for name in names)
    if not any((url, user, password, secret)):
        return None  # auth is off: apps asking for it get AuthReady=False, AuthNotConfigured
    if url is None:
        reader.problem(
            "KEYCLOAK_URL: not set, but other KEYCLOAK_* variables are; set it, or unset them "
            "all to run without auth"
        )
        return None
    reader.check_url("KEYCLOAK_URL", url)
    if password and secret:
        reader.problem(
            "KEYCLOAK_ADMIN_PASSWORD and KEYCLOAK_ADMIN_SECRET: both set; set only one "
            "(KEYCLOAK_ADMIN_SECRET in a cluster, the password for development)"
        )
    elif password and not user:
        reader.problem("KEYCLOAK_ADMIN_USER: not set, but KEYCLOAK_ADMIN_PASSWORD is; set both")
    elif not password and not secret:
        reader.problem(
            "KEYCLOAK_ADMIN_SECRET / KEYCLOAK_ADMIN_PASSWORD: neither is set, but KEYCLOAK_URL "
            "is; set KEYCLOAK_ADMIN_SECRET=<namespace>/<name> (a Secret with keys username "
            "and password), or KEYCLOAK_ADMIN_USER and KEYCLOAK_ADMIN_PASSWORD"
        )
    return KeycloakSettings(
        url=url.rstrip("/"),
        admin_user=user,
        admin_password=password,
        admin_secret=_secret_ref(reader, "KEYCLOAK_ADMIN_SECRET", secret) if secret else None,
        admin_realm=reader.text("KEYCLOAK_ADMIN_REALM", "master"),
        concurrency=reader.number("KEYCLOAK_CONCURRENCY", DEFAULT_CONCURRENCY, int, low=1, high=16),
    )


def _secret_ref(reader: _Reader, name: str, value: str) -> SecretRef | None:
    namespace, _, secret = value.partition("/")
    if not (_DNS_LABEL.fullmatch(namespace) and _DNS_SUBDOMAIN.fullmatch(secret)):
        reader.problem(
            f"{name}={value!r}: not <namespace>/<name>; use e.g. plattr-system/keycloak-admin"
        )
        return None
    return SecretRef(namespace, secret)


def _dashboard(reader: _Reader) -> DashboardSettings:
    # Closed by default: only DASHBOARD_AUTH=none, said on purpose, opens the dashboard.
    auth = reader.text("DASHBOARD_AUTH", "token").lower()
    token = reader.optional("DASHBOARD_TOKEN")
    if auth not in DASHBOARD_AUTHS:
        reader.problem(f"DASHBOARD_AUTH={auth!r}: not one of {', '.join(DASHBOARD_AUTHS)}")
        auth = "token"
    if auth == "token" and (token is None or len(token) < 16):
        reader.problem(
            "DASHBOARD_TOKEN: DASHBOARD_AUTH=token (the default) needs a token of at least 16 "
            "characters (value not shown), e.g. `openssl rand -hex 24`; or sign people in "
            "with DASHBOARD_AUTH=oidc, or open the dashboard to anyone who reaches the port "
            "with DASHBOARD_AUTH=none"
        )
    oidc = {
        name: reader.optional(name)
        for name in (
            "DASHBOARD_URL",
            "DASHBOARD_OIDC_ISSUER",
            "DASHBOARD_OIDC_CLIENT_ID",
            "DASHBOARD_OIDC_CLIENT_SECRET",
        )
    }
    if auth == "oidc":
        if missing := [name for name, value in oidc.items() if not value]:
            reader.problem(f"{', '.join(missing)}: not set, but DASHBOARD_AUTH=oidc needs them")
        for name in ("DASHBOARD_URL", "DASHBOARD_OIDC_ISSUER"):
            if oidc[name]:
                reader.check_url(name, oidc[name] or "")
    return DashboardSettings(
        auth=next(mode for mode in DASHBOARD_AUTHS if mode == auth),
        token=token,
        argocd_url=reader.optional_url("ARGOCD_URL"),
        url=(oidc["DASHBOARD_URL"] or "").rstrip("/") or None,
        oidc_issuer=(oidc["DASHBOARD_OIDC_ISSUER"] or "").rstrip("/") or None,
        oidc_client_id=oidc["DASHBOARD_OIDC_CLIENT_ID"],
        oidc_client_secret=oidc["DASHBOARD_OIDC_CLIENT_SECRET"],
    )


def _leader(reader: _Reader) -> LeaderSettings:
    lease = reader.number("LEASE_DURATION_SECONDS", 15.0, float, low=1)
    renew = reader.number("LEASE_RENEW_SECONDS", 5.0, float, low=0.1)
    if renew >= lease:
        reader.problem(
            f"LEASE_RENEW_SECONDS={renew}: must be shorter than LEASE_DURATION_SECONDS={lease}, "
            "or the lease expires between renewals"
        )
    return LeaderSettings(
        enabled=reader.flag("LEADER_ELECTION", default=False),
        namespace=reader.text("LEASE_NAMESPACE", "plattr-system"),
        name=LEASE_NAME,
        identity=reader.text("POD_NAME", f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"),
        lease_seconds=lease,
        renew_seconds=renew,
        retry_seconds=reader.number("LEASE_RETRY_SECONDS", 1.0, float, low=0.1),
    )


class _Reader:
    """Reads variables, collecting problems instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._problems: list[str] = []

    def problem(self, text: str) -> None:
        self._problems.append(text)

    def raise_problems(self) -> None:
        if self._problems:
            raise ConfigError(self._problems)

    def optional(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def checked(self, name: str, value: _Text, check: Callable[[str], str | None]) -> _Text:
        """`value` of `name`, its problem listed when `check` (a check of `plattr.settings`,
        shared with the CLI and the plugin) finds one."""
        problem = check(value) if value else None
        if problem:
            self.problem(f"{name}: {problem}")
        return value

    def required(self, name: str, what: str) -> str:
        value = self.optional(name)
        if value is None:
            self.problem(f"{name}: not set; set it to {what}")
            return ""
        return value

    def optional_url(self, name: str) -> str | None:
        value = self.optional(name)
        if value is not None:
            self.check_url(name, value)
        return value

    def check_url(self, name: str, value: str) -> None:
        if not value.startswith(("http://", "https://")):
            self.problem(f"{name}={value!r}: not an http(s) URL; use e.g. https://host:port")

    def flag(self, name: str, *, default: bool) -> bool:
        value = self._env.get(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word not in FALSE_WORDS:
            self.problem(f"{name}={value!r}: not a boolean; use true or false")
        return False

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).upper()
        if value not in choices:
            self.problem(f"{name}={value!r}: not one of {', '.join(choices)}")
            return default
        return value

    def number(
        self,
        name: str,
        default: N,
        kind: Callable[[str], N],
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> N:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self.problem(f"{name}={raw!r}: not a number; use e.g. {default}")
            return default
        number = float(value)
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problem(f"{name}={raw!r}: out of range; use a value {bounds}")
            return default
        return value
