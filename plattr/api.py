"""The dashboard's JSON API (`/api/v1`), defined once for the server and its clients.

The controller's dashboard builds these and encodes them; `plattr status` decodes the same
types; the OpenAPI document the dashboard publishes is generated from them. Field names are
camelCase on the wire, like the Kubernetes objects they summarise. Nothing here can hold a
Secret's value: an app's Secrets appear by name only.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

API_PREFIX: Final = "/api/v1"
APPLICATIONS_PATH: Final = f"{API_PREFIX}/applications"
PREVIEWS_PATH: Final = f"{API_PREFIX}/previews"
STREAM_PATH: Final = f"{API_PREFIX}/stream"
ENVIRONMENTS_PATH: Final = f"{API_PREFIX}/environments"
DEFAULT_PAGE_LIMIT: Final = 500
"""Applications per page when a list request gives no `limit` (`limit=0`: all of them)."""

Phase = Literal["Pending", "Provisioning", "Running", "Failed", "Unknown"]
"""A resource's phase (`plattr.models.Phase`), or `Unknown` before the controller has written
one. One flat Literal, so that a query parameter of this type is refused in one sentence;
`tests/unit/test_api_types.py` ties it to the models' phases."""
Kind = Literal["Application", "PreviewEnvironment"]
ConditionStatus = Literal["True", "False", "Unknown"]

STREAM_UPSERT: Final = "upsert"
"""Stream event: an `ApplicationSummary` or `PreviewSummary`, new or changed."""
STREAM_DELETE: Final = "delete"
"""Stream event: a `Removed`."""
STREAM_RESET: Final = "reset"
"""Stream event: the client fell behind; reload the lists."""


class ApiStruct(msgspec.Struct, frozen=True, rename="camel", kw_only=True, omit_defaults=False):
    """Base of every API type: immutable, camelCase on the wire."""


class ErrorOut(ApiStruct, frozen=True, kw_only=True):
    """Every error the API returns: a sentence for people."""

    message: str


class ConditionOut(ApiStruct, frozen=True, kw_only=True):
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    last_transition_time: str | None = None


class ApplicationSummary(ApiStruct, frozen=True, kw_only=True):
    """One app in one environment (or one preview), as a card on the board shows it."""

    kind: Kind
    namespace: str
    name: str
    app: str
    environment: str
    phase: Phase
    message: str | None = None
    url: str | None = None
    argocd_url: str | None = None
    image_ref: str | None = None
    failing: tuple[ConditionOut, ...] = ()
    """Conditions that are not True, with reason and message."""
    updated_at: str | None = None
    """The latest condition transition, else the object's creation."""


class PreviewSummary(ApplicationSummary, frozen=True, kw_only=True):
    pull_request: int | None = None
    expires_at: str | None = None
    seconds_left: int | None = None
    time_left: str | None = None
    """`seconds_left` for people: `2d 4h`, `35m`, `expired`."""


class ApplicationList(ApiStruct, frozen=True, kw_only=True):
    """One page of Applications, in the list's order (app, then environment)."""

    items: tuple[ApplicationSummary, ...]
    continue_: str | None = msgspec.field(default=None, name="continue")
    """Set when more follow: passed back as `?continue=`, it asks for the next page."""


class PreviewList(ApiStruct, frozen=True, kw_only=True):
    items: tuple[PreviewSummary, ...]


class EnvironmentOut(ApiStruct, frozen=True, kw_only=True):
    """A declared environment, as the controller has it now."""

    name: str
    namespace: str
    sync: str
    """`automatic` (Argo CD syncs every commit) or `manual` (a person syncs)."""
    previews: bool


class EnvironmentList(ApiStruct, frozen=True, kw_only=True):
    """The declared environments, in the declaration's order (the board's columns)."""

    items: tuple[EnvironmentOut, ...]


class SpecSummary(ApiStruct, frozen=True, kw_only=True):
    framework: str | None = None
    image_ref: str | None = None
    repository: str | None = None
    database: bool = False
    buckets: tuple[str, ...] = ()
    auth_providers: tuple[str, ...] = ()
    replicas_min: int | None = None
    replicas_max: int | None = None
    deletion_policy: str | None = None


class EventOut(ApiStruct, frozen=True, kw_only=True):
    type: str
    reason: str
    message: str
    count: int = 1
    last_seen: str | None = None


class ApplicationDetail(ApiStruct, frozen=True, kw_only=True):
    summary: ApplicationSummary
    spec: SpecSummary
    conditions: tuple[ConditionOut, ...]
    secrets: tuple[str, ...]
    """Names of the Secrets the controller wrote for it; never their values."""
    events: tuple[EventOut, ...]
    """Recent Events about it, newest first: the history of its phase and conditions."""
    events_error: str | None = None
    """Why `events` may be incomplete (the API server did not answer in time)."""
    observed_generation: int | None = None
    generation: int | None = None


class Removed(ApiStruct, frozen=True, kw_only=True):
    """A stream event: the object is gone."""

    kind: Kind
    namespace: str
    name: str


RESPONSE_TYPES: Final = (
    ApplicationList,
    PreviewList,
    EnvironmentList,
    ApplicationDetail,
    ErrorOut,
    Removed,
)
"""Every type the API answers with (the OpenAPI document's components come from these)."""
