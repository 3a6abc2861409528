"""What the dashboard's routes share: the projector over the controller's cache, the live
stream's hub, the Events reader and the guard, built once per HTTP app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from controller.config import DashboardSettings
from controller.machinery.objects import ObjectKey
from controller.runtime import ControllerView
from controller.web.auth import Guard
from controller.web.events import EventReader, EventsUnavailable
from controller.web.oidc import OidcClient
from controller.web.project import Projector
from controller.web.stream import ChangeHub
from plattr.api import ApplicationDetail, ApplicationSummary, EventOut


@dataclass(frozen=True)
class Filters:
    """The list filters of the API and the board: exact environment and phase, and `text`
    found (case-insensitively) in the app's name, namespace or image."""

    environment: str | None = None
    phase: str | None = None
    text: str | None = None

    def __call__(self, summary: ApplicationSummary) -> bool:
        if self.environment and summary.environment != self.environment:
            return False
        if self.phase and summary.phase != self.phase:
            return False
        if self.text:
            needle = self.text.lower()
            haystack = f"{summary.name} {summary.namespace} {summary.image_ref or ''}".lower()
            return needle in haystack
        return True

    def query(self) -> str:
        """As a query string for links (empty values left out)."""
        pairs = {"environment": self.environment, "phase": self.phase, "text": self.text}
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass(frozen=True)
class Dashboard:
    view: ControllerView
    settings: DashboardSettings
    projector: Projector
    hub: ChangeHub
    events: EventReader
    guard: Guard

    @classmethod
    def build(
        cls, view: ControllerView, settings: DashboardSettings, events: EventReader
    ) -> Dashboard:
        return cls(
            view=view,
            settings=settings,
            projector=Projector(
                view.cache, view.base_domain, settings.argocd_url, view.environments
            ),
            hub=ChangeHub(view.cache),
            events=events,
            guard=Guard(settings, OidcClient(settings) if settings.auth == "oidc" else None),
        )

    def detail(self, key: ObjectKey) -> ApplicationDetail | None:
        if self.view.cache.get(key) is None:
            return None
        events: tuple[EventOut, ...] = ()
        error = None
        try:
            events = self.events.recent(key)
        except EventsUnavailable as exc:
            error = str(exc)
        return self.projector.detail(key, events, error)

    def render(self, key: ObjectKey) -> ApplicationSummary | None:
        return self.projector.summary(key)

    def wanted(self, namespace: str | None, name: str | None) -> Callable[[ObjectKey], bool]:
        def wanted(key: ObjectKey) -> bool:
            return (namespace is None or key.namespace == namespace) and (
                name is None or key.name == name or self._app_of(key) == name
            )

        return wanted

    def _app_of(self, key: ObjectKey) -> str | None:
        summary = self.projector.summary(key)
        return summary.app if summary else None
