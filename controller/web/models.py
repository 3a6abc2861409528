"""The JSON API's response models (pydantic: FastAPI validates and documents with them).

Field names are camelCase on the wire, like the Kubernetes objects they summarise. Nothing
here can hold a Secret's value: an app's Secrets appear by name only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

Phase = Literal["Pending", "Provisioning", "Running", "Failed", "Unknown"]
Kind = Literal["Application", "PreviewEnvironment"]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ErrorOut(ApiModel):
    """Every error the API returns: a sentence for people."""

    message: str


class ConditionOut(ApiModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str | None = None


class ApplicationSummary(ApiModel):
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
    failing: list[ConditionOut]
    """Conditions that are not True, with reason and message."""
    updated_at: str | None = None
    """The latest condition transition, else the object's creation."""


class ApplicationList(ApiModel):
    items: list[ApplicationSummary]


class SpecSummary(ApiModel):
    framework: str | None = None
    image_ref: str | None = None
    repository: str | None = None
    database: bool = False
    buckets: list[str] = []
    auth_providers: list[str] = []
    replicas_min: int | None = None
    replicas_max: int | None = None
    deletion_policy: str | None = None


class EventOut(ApiModel):
    type: str
    reason: str
    message: str
    count: int = 1
    last_seen: str | None = None


class ApplicationDetail(ApiModel):
    summary: ApplicationSummary
    spec: SpecSummary
    conditions: list[ConditionOut]
    secrets: list[str]
    """Names of the Secrets the controller wrote for it; never their values."""
    events: list[EventOut]
    """Recent Events about it, newest first: the history of its phase and conditions."""
    events_error: str | None = None
    """Why `events` may be incomplete (the API server did not answer in time)."""
    observed_generation: int | None = None
    generation: int | None = None


class PreviewSummary(ApplicationSummary):
    pull_request: int | None = None
    expires_at: str | None = None
    seconds_left: int | None = None
    time_left: str | None = None
    """`seconds_left` for people: `2d 4h`, `35m`, `expired`."""


class PreviewList(ApiModel):
    items: list[PreviewSummary]


class Removed(ApiModel):
    """A stream event: the object is gone."""

    kind: Kind
    namespace: str
    name: str
