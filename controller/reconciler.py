"""One reconcile of an Application or a PreviewEnvironment: finalizer first, then database,
storage and auth (each independently, each a condition), DeploymentReady from the
Deployment Argo CD applied, and a status written only when it differs. Deletion honours the
deletion policy. Returns whether the reconcile succeeded; the caller schedules retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec

from controller import app_config
from controller.cluster import Cluster
from controller.conditions import (
    AUTH_READY,
    DATABASE_READY,
    DEPLOYMENT_READY,
    STORAGE_READY,
    Transition,
    compute_phase,
    merge_conditions,
    not_ready,
    ready,
    transitions,
)
from controller.errors import PolicyRefusal
from controller.kinds import APPLICATION
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import KubeError
from controller.machinery.objects import KubeObject, ObjectKey
from controller.metrics import Metrics
from controller.provisioners.interfaces import (
    AuthProvisioner,
    DatabaseProvisioner,
    ProvisionerError,
    StorageProvisioner,
)
from controller.subjects import (
    InvalidSubject,
    Subject,
    UndeclaredSubject,
    format_rfc3339,
    subject_of,
)
from controller.verification import Verifications
from plattr import secret_keys
from plattr.environments import Environments, shipped
from plattr.labels import FINALIZER
from plattr.models import ApplicationStatus, Condition, PreviewEnvironmentStatus
from plattr.naming import Target

log = logging.getLogger(__name__)

PROVISIONED: Final = "Provisioned"
WORKLOADS: Final = (
    "an app's Deployment, Service and the Application itself come rendered from the GitOps "
    "repo through Argo CD, or from `plattr render FILE | kubectl apply -f -` "
    "(controller/README.md, 'Where apps come from')"
)
P = TypeVar("P")


@dataclass(frozen=True)
class Provisioners:
    """The real services behind each condition; None when the controller has no settings
    for it (apps that need it then report `<Kind>NotConfigured`)."""

    database: DatabaseProvisioner | None
    storage: StorageProvisioner | None
    auth: AuthProvisioner | None


@dataclass
class _Outcome:
    conditions: list[Condition] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(
        self,
        cluster: Cluster,
        cache: ObjectCache,
        provisioners: Provisioners,
        metrics: Metrics,
        *,
        base_domain: str,
        aws_region: str,
        environments: Callable[[], Environments] = shipped,
        verifications: Verifications | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cluster = cluster
        self._environments = environments
        self.verifications = Verifications({}) if verifications is None else verifications
        self._cache = cache
        self._provisioners = provisioners
        self._metrics = metrics
        self._base_domain = base_domain
        self._aws_region = aws_region
        self._now = now

    def reconcile(self, key: ObjectKey, *, final_attempt: bool) -> bool:
        """Bring `key` to its desired state. False when something failed (retry it);
        `final_attempt` turns such a failure into phase Failed."""
        obj = self._cache.get(key)
        if obj is None:
            if key.kind == APPLICATION.name:
                self._metrics.forget_application(key.name, key.namespace)
            return True
        try:
            subject = subject_of(key, obj, self._environments())
        except InvalidSubject as exc:
            self._report_invalid(key, obj, exc)
            return True  # retrying cannot help: a new generation will be reconciled
        except UndeclaredSubject as exc:
            self._refuse(key, obj, "EnvironmentNotDeclared", exc.message)
            log.warning("environment not declared", extra={"object": str(key)})
            return True  # a new generation, or the environment declared, will be reconciled
        if subject.deleting:
            return self._teardown(subject, final_attempt)
        if key.namespace != subject.target.namespace:
            self._refuse(key, obj, "WrongNamespace", misplaced(key, subject.target))
            return True  # nothing to retry: only a copy in the right namespace can run
        before = subject.status
        if FINALIZER not in subject.finalizers:  # before any external resource exists
            self._cluster.set_finalizer(key, subject.resource_version, present=True)
        if before is None:
            pending = self._status(subject, None, _Outcome(), failed=False)
            self._publish(subject, None, pending)
            before = pending
        outcome = self._provision(subject)
        outcome.conditions.append(self._deployment_condition(subject))
        failed = bool(outcome.problems) and final_attempt
        self._publish(subject, before, self._status(subject, before, outcome, failed=failed))
        return not outcome.problems

    # --- provisioning --------------------------------------------------------------------

    def _provision(self, subject: Subject) -> _Outcome:
        outcome = _Outcome()
        steps: tuple[tuple[str, str, bool, Callable[[Subject], tuple[str, str | None]]], ...] = (
            ("database", DATABASE_READY, subject.database.enabled, self._database),
            ("storage", STORAGE_READY, subject.storage.enabled, self._storage),
            ("auth", AUTH_READY, subject.auth.enabled, self._auth),
        )
        for provisioner, condition, enabled, step in steps:
            if not enabled:
                continue
            try:
                message, secret = step(subject)
            except ProvisionerError as exc:
                self._metrics.provisioner_errors.labels(provisioner, exc.reason).inc()
                outcome.problems.append(f"{condition}: {exc}")
                outcome.conditions.append(
                    not_ready(condition, exc.reason, str(exc), subject.generation)
                )
                continue
            except KubeError as exc:
                outcome.problems.append(f"{condition}: {exc}")
                outcome.conditions.append(
                    not_ready(condition, "KubernetesWriteFailed", str(exc), subject.generation)
                )
                continue
            outcome.conditions.append(ready(condition, PROVISIONED, message, subject.generation))
            if secret:
                outcome.secrets.append(secret)
        return outcome

    def _database(self, subject: Subject) -> tuple[str, str | None]:
        database = _configured(self._provisioners.database, "Database", "DB_ADMIN_URL")
        target, labels = subject.target, app_config.owner_labels(subject.key, subject.target)
        name = target.secret_name("db")
        existing = self._cluster.secret(target.namespace, name) or {}
        password = existing.get(secret_keys.PGPASSWORD)
        rotated = password is None  # a lost Secret means a new password (rotation)
        password = password or app_config.new_password()

        def verify() -> str:
            database.ensure(target, password, reset_password=rotated)
            return f"schema {target.schema}, login role {target.login_role}, Secret {name}"

        message = self._verified(subject, "database", not rotated, verify)
        data = app_config.database_secret(database.endpoint(), target, password)
        self._cluster.apply_secret(target.namespace, name, data, labels)
        return message, name

    def _storage(self, subject: Subject) -> tuple[str, str | None]:
        storage = _configured(self._provisioners.storage, "Storage", "AWS_REGION")
        target, labels = subject.target, app_config.owner_labels(subject.key, subject.target)
        name = target.config_map_name("storage")

        def verify() -> str:
            buckets, _ = storage.ensure(target, subject.storage.buckets)
            data = app_config.storage_config(buckets, self._aws_region)
            self._cluster.apply_config_map(target.namespace, name, data, labels)
            return f"buckets {', '.join(sorted(buckets.values()))}; ConfigMap {name}"

        present = self._cluster.config_map(target.namespace, name) is not None
        return self._verified(subject, "storage", present, verify), None

    def _auth(self, subject: Subject) -> tuple[str, str | None]:
        auth = _configured(self._provisioners.auth, "Auth", "KEYCLOAK_URL")
        target, labels = subject.target, app_config.owner_labels(subject.key, subject.target)
        name = target.secret_name("auth")

        def verify() -> str:
            uris = app_config.redirect_uris(target, self._base_domain, subject.extra_hosts)
            credentials, _ = auth.ensure(target, subject.auth.providers, uris)
            data = app_config.auth_secret(credentials)
            self._cluster.apply_secret(target.namespace, name, data, labels)
            return f"realm {target.realm}, client {target.client_id}, Secret {name}"

        present = self._cluster.secret(target.namespace, name) is not None
        return self._verified(subject, "auth", present, verify), name

    def _verified(
        self, subject: Subject, provisioner: str, present: bool, verify: Callable[[], str]
    ) -> str:
        """The step's message: from `verify` (the calls to the external system) when the
        last verification is not current or what it made in the cluster (`present`) is
        gone; otherwise that verification's message, without a call (controller/verification.py)."""
        # the target too: a changed environments declaration (host pattern) changes the inputs
        inputs = f"{subject.generation} {subject.target}"
        if present and (message := self.verifications.current(subject.uid, provisioner, inputs)):
            return message
        self.verifications.forget(subject.uid, provisioner)  # a failure verifies again
        message = verify()
        self.verifications.record(subject.uid, provisioner, inputs, message)
        return message

    def _deployment_condition(self, subject: Subject) -> Condition:
        target = subject.target
        deployment = self._cluster.deployment(target.namespace, target.instance)
        if deployment is None:
            return not_ready(
                DEPLOYMENT_READY,
                "DeploymentNotFound",
                f"no Deployment {target.instance} in {target.namespace} yet: {WORKLOADS}",
                subject.generation,
            )
        return deployment_condition(deployment, subject.generation)

    # --- deletion ------------------------------------------------------------------------

    def _teardown(self, subject: Subject, final_attempt: bool) -> bool:
        if FINALIZER not in subject.finalizers:
            return True
        target = subject.target
        kept = ", ".join(_external(subject)) or "nothing external"
        if subject.deletion_policy == "Retain":
            self._record(
                subject, Transition("Normal", "Retained", f"deletionPolicy Retain: kept {kept}")
            )
        else:
            blocked = self._delete_external(subject)
            if blocked.problems:
                self._report_blocked(subject, blocked, final_attempt)
                return False
            self._record(subject, Transition("Normal", "Deleted", f"deleted {kept}"))
        self._cluster.set_finalizer(subject.key, subject.resource_version, present=False)
        self.verifications.forget(subject.uid)
        log.info(
            "finalizer released",
            extra={
                "app": target.app,
                "namespace": target.namespace,
                "policy": subject.deletion_policy,
            },
        )
        return True

    def _delete_external(self, subject: Subject) -> _Outcome:
        """Drop what each enabled provisioner made; the outcome holds a False condition (and
        a problem) for each step that failed or was refused."""
        blocked = _Outcome()
        steps: tuple[tuple[str, bool, Callable[[Subject], str | None]], ...] = (
            (DATABASE_READY, subject.database.enabled, self._drop_database),
            (STORAGE_READY, subject.storage.enabled, self._drop_storage),
            (AUTH_READY, subject.auth.enabled, self._drop_auth),
        )
        for condition, enabled, step in steps:
            if not enabled:
                continue
            try:
                refusal = step(subject)
            except (ProvisionerError, KubeError) as exc:
                reason = exc.reason if isinstance(exc, ProvisionerError) else "DeletionFailed"
                blocked.problems.append(f"{condition}: {exc}")
                blocked.conditions.append(
                    not_ready(condition, reason, str(exc), subject.generation)
                )
                continue
            if refusal:
                blocked.problems.append(refusal)
                blocked.conditions.append(
                    not_ready(condition, "BucketNotEmpty", refusal, subject.generation)
                )
        if subject.is_preview and not blocked.problems:
            try:
                self._cluster.delete_preview_namespace(subject.target.namespace)
            except (KubeError, PolicyRefusal) as exc:
                blocked.problems.append(str(exc))
        return blocked

    def _drop_database(self, subject: Subject) -> str | None:
        if self._provisioners.database:
            self._provisioners.database.drop(subject.target)
        self._cluster.delete_secret(subject.target.namespace, subject.target.secret_name("db"))
        return None

    def _drop_storage(self, subject: Subject) -> str | None:
        target = subject.target
        if self._provisioners.storage:
            names = [bucket.name for bucket in subject.storage.buckets]
            result = self._provisioners.storage.drop(target, names, empty_first=subject.is_preview)
            if result.non_empty:
                return (
                    f"bucket {', '.join(result.non_empty)} holds objects: empty it, or set "
                    "spec.deletionPolicy: Retain to keep it"
                )
        self._cluster.delete_config_map(target.namespace, target.config_map_name("storage"))
        return None

    def _drop_auth(self, subject: Subject) -> str | None:
        if self._provisioners.auth:
            self._provisioners.auth.drop(subject.target)
        self._cluster.delete_secret(subject.target.namespace, subject.target.secret_name("auth"))
        return None

    def _report_blocked(self, subject: Subject, blocked: _Outcome, final_attempt: bool) -> None:
        """Status and Events for a deletion that cannot finish; an Event only when the
        problem is new, so retries and resyncs do not repeat it."""
        before = subject.status
        replaced = {condition.type for condition in blocked.conditions}
        kept = [c for c in (before.conditions if before else []) if c.type not in replaced]
        outcome = _Outcome(
            conditions=[*kept, *blocked.conditions],
            problems=blocked.problems,
            secrets=list(before.secrets) if before else [],
        )
        after = self._status(subject, before, outcome, failed=final_attempt)
        self._publish(subject, before, after)
        if before is None or before.message != after.message:
            for problem in blocked.problems:
                self._record(subject, Transition("Warning", "DeletionBlocked", problem))

    # --- status --------------------------------------------------------------------------

    def _status(
        self,
        subject: Subject,
        before: ApplicationStatus | None,
        outcome: _Outcome,
        *,
        failed: bool,
    ) -> ApplicationStatus:
        now = format_rfc3339(self._now())
        conditions = merge_conditions(before.conditions if before else [], outcome.conditions, now)
        fields = {
            "phase": compute_phase(conditions, failed=failed),
            "conditions": conditions,
            "observed_generation": subject.generation,
            "url": f"https://{subject.target.host(self._base_domain)}",
            "secrets": sorted(outcome.secrets),
            "message": "; ".join(outcome.problems) or None,
        }
        if subject.is_preview:
            expires = format_rfc3339(subject.expires_at) if subject.expires_at else None
            return PreviewEnvironmentStatus(**fields, expires_at=expires)  # type: ignore[arg-type]
        return ApplicationStatus(**fields)  # type: ignore[arg-type]

    def _publish(
        self, subject: Subject, before: ApplicationStatus | None, after: ApplicationStatus
    ) -> None:
        """Write `after` if it differs from `before`, with an Event per transition."""
        key = subject.key
        if key.kind == APPLICATION.name and after.phase:
            self._metrics.set_phase(key.name, key.namespace, after.phase)
        if after == before:
            return
        self._cluster.write_status(key, msgspec.to_builtins(after))
        for transition in transitions(before, after):
            self._record(subject, transition)
        log.info(
            "status %s",
            after.phase,
            extra={
                "app": subject.target.app,
                "namespace": key.namespace,
                "generation": subject.generation,
                "kind": key.kind,
                "phase": after.phase,
            },
        )

    def _record(self, subject: Subject, transition: Transition) -> None:
        self._cluster.record(subject.key, subject.uid, transition)

    def _report_invalid(self, key: ObjectKey, obj: KubeObject, error: InvalidSubject) -> None:
        self._refuse(key, obj, "InvalidSpec", f"invalid spec: {error.error}")
        log.warning("invalid spec", extra={"object": str(key), "error": str(error.error)})

    def _refuse(self, key: ObjectKey, obj: KubeObject, reason: str, message: str) -> None:
        """Phase Failed with `message` and a Warning Event, for an object that is not
        provisioned as it stands (only a new generation, or a new object, can change that)."""
        try:
            before = msgspec.convert(obj.get("status") or {}, ApplicationStatus)
        except msgspec.ValidationError:
            before = ApplicationStatus()
        after = msgspec.structs.replace(
            before,
            phase="Failed",
            message=message,
            observed_generation=obj["metadata"].get("generation"),
        )
        if after != before:
            self._cluster.write_status(key, msgspec.to_builtins(after))
            uid = obj["metadata"].get("uid", "")
            self._cluster.record(key, uid, Transition("Warning", reason, message))


def misplaced(key: ObjectKey, target: Target) -> str:
    return (
        f"{key.kind} {key.name} is in namespace {key.namespace}, but its environment's "
        f"namespace is {target.namespace}: nothing is provisioned for it. {WORKLOADS}"
    )


def deployment_condition(deployment: KubeObject, generation: int | None) -> Condition:
    """Ready when the Deployment's controller has seen its latest spec and as many replicas
    are available (and updated) as it wants."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    available = int(status.get("availableReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    seen = int(status.get("observedGeneration") or 0) >= int(
        deployment["metadata"].get("generation") or 0
    )
    message = f"{available}/{desired} replicas available"
    if seen and available >= desired and updated >= desired:
        return ready(DEPLOYMENT_READY, "ReplicasAvailable", message, generation)
    return not_ready(DEPLOYMENT_READY, "RollingOut", message, generation)


def _configured(provisioner: P | None, what: str, variable: str) -> P:
    if provisioner is None:
        raise ProvisionerError(
            f"{what}NotConfigured",
            f"spec.{what.lower()}.enabled is true but the controller has no {what.lower()} "
            f"settings: set {variable} on the controller (see controller/README.md), or set "
            f"spec.{what.lower()}.enabled: false",
        )
    return provisioner


def _external(subject: Subject) -> list[str]:
    target, parts = subject.target, []
    if subject.database.enabled:
        parts.append(f"schema {target.schema}")
    if subject.storage.enabled:
        parts.append(f"buckets {', '.join(bucket.name for bucket in subject.storage.buckets)}")
    if subject.auth.enabled:
        parts.append(f"realm {target.realm}")
    return parts
