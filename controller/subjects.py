"""What one reconcile works on, read from an Application or a PreviewEnvironment: the target
(app and environment), what to provision, the deletion policy and, for a preview, when it
expires. Both kinds are provisioned by the same code through this one shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec

from controller.errors import ControllerError
from controller.kinds import APPLICATION, PREVIEW
from controller.machinery.objects import KubeObject, ObjectKey
from plattr.environments import Environments
from plattr.models import (
    Application,
    ApplicationStatus,
    Auth,
    Database,
    DeletionPolicy,
    PreviewEnvironment,
    PreviewEnvironmentStatus,
    Resource,
    Storage,
)
from plattr.naming import Target
from plattr.ttl import parse_ttl
from plattr.validation import InvalidDocument, decode

PREVIEW_DELETION_POLICY: Final[DeletionPolicy] = "Delete"
UNDECLARED_DELETION_POLICY: Final[DeletionPolicy] = "Retain"
"""An app deleted after its environment left the declaration keeps its data (nothing is
deleted by a configuration change) unless its spec asks otherwise."""


def prepare_models() -> None:
    """Build msgspec's type information of every model the controller decodes, now, on the
    calling thread: call it once at start-up, before any other thread decodes.

    msgspec builds that information lazily on first use, and two threads doing so at once
    crash the process (SIGSEGV in msgspec._core); the reflectors, the workers and the
    dashboard all decode as soon as the controller starts. `Controller.start` calls this
    before it starts a thread (so `plattr-controller` and every in-process controller of the
    tests do), as must anything that starts decoding threads without a `Controller`
    (tests/reliability/test_startup_race.py shows the crash and that this prevents it).
    Calling it again is harmless."""
    for model in (Application, PreviewEnvironment, ApplicationStatus, PreviewEnvironmentStatus):
        msgspec.json.Decoder(model)


@dataclass(frozen=True)
class Subject:
    key: ObjectKey
    uid: str
    generation: int | None
    resource_version: str
    target: Target
    database: Database
    storage: Storage
    auth: Auth
    extra_hosts: tuple[str, ...]
    deletion_policy: DeletionPolicy
    deleting: bool
    finalizers: tuple[str, ...]
    status: ApplicationStatus | None
    expires_at: datetime | None = None

    @property
    def is_preview(self) -> bool:
        return self.key.kind == PREVIEW.name


class InvalidSubject(ControllerError):
    """A cached object that does not decode into its model: every field error, for status."""

    def __init__(self, key: ObjectKey, error: InvalidDocument) -> None:
        super().__init__(f"{key.kind} {key.namespace}/{key.name} is invalid: {error}")
        self.key = key
        self.error = error


class UndeclaredSubject(ControllerError):
    """An Application whose environment the platform does not declare (any more): nothing is
    provisioned for it, and nothing it has is removed."""

    def __init__(self, key: ObjectKey, message: str) -> None:
        super().__init__(f"{key.kind} {key.namespace}/{key.name}: {message}")
        self.key = key
        self.message = message


def subject_of(key: ObjectKey, obj: KubeObject, environments: Environments) -> Subject:
    """The subject of a cached Application or PreviewEnvironment; `InvalidSubject` if its
    spec does not decode (the API server's schema should prevent that, but not every rule
    is in the schema), `UndeclaredSubject` if an Application's environment is not declared."""
    if key.kind != APPLICATION.name:
        return preview_subject(key, obj)
    try:
        app = decode(obj, Application)
    except InvalidDocument as exc:
        raise InvalidSubject(key, exc) from exc
    return _application(key, app, environments)


def preview_subject(key: ObjectKey, obj: KubeObject) -> Subject:
    """The subject of a cached PreviewEnvironment; `InvalidSubject` if it does not decode."""
    try:
        return _preview(key, obj, decode(obj, PreviewEnvironment))
    except InvalidDocument as exc:
        raise InvalidSubject(key, exc) from exc


def _tracking(resource: Resource) -> dict[str, Any]:
    """What a Subject takes from any resource's metadata."""
    metadata = resource.metadata
    return {
        "uid": metadata.uid or "",
        "generation": metadata.generation,
        "resource_version": metadata.resource_version or "",
        "deleting": metadata.deletion_timestamp is not None,
        "finalizers": tuple(metadata.finalizers),
    }


def _application(key: ObjectKey, app: Application, environments: Environments) -> Subject:
    spec = app.spec
    tracking = _tracking(app)
    declared = environments.get(spec.environment)
    if declared is not None:
        target = declared.target(app.metadata.name)
        deletion_policy = declared.deletion_policy_of(spec)
    elif tracking["deleting"]:
        # The environment went from the declaration while the app stayed: let the app go,
        # from where it is, and keep its data unless its spec says otherwise.
        target = Target(app.metadata.name, spec.environment, key.namespace)
        deletion_policy = spec.deletion_policy or UNDECLARED_DELETION_POLICY
    else:
        raise UndeclaredSubject(key, environments.undeclared_message(spec.environment))
    return Subject(
        key=key,
        **tracking,
        target=target,
        database=spec.database,
        storage=spec.storage,
        auth=spec.auth,
        extra_hosts=tuple(spec.ingress.hosts),
        deletion_policy=deletion_policy,
        status=app.status,
    )


def _preview(key: ObjectKey, obj: KubeObject, preview: PreviewEnvironment) -> Subject:
    spec = preview.spec
    return Subject(
        key=key,
        **_tracking(preview),
        target=Target.preview(spec.application, spec.pull_request),
        database=spec.database,
        storage=spec.storage,
        auth=spec.auth,
        extra_hosts=(),
        deletion_policy=PREVIEW_DELETION_POLICY,
        status=preview.status,
        expires_at=preview_expiry(obj, spec.ttl),
    )


def preview_expiry(obj: KubeObject, ttl: str) -> datetime | None:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return None
    return parse_rfc3339(created) + parse_ttl(ttl)


def parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
