"""Recent Events about one object, read from the API server for a detail view only.

The watch cache holds no Events (they are many and short-lived), so the detail endpoint asks
the API server for one object's Events with a short timeout; a slow or unreachable API
server costs the page its history, never its answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Final, Protocol

from controller.kinds import EVENT
from controller.machinery.kube import Kube, KubeError
from controller.machinery.objects import ObjectKey
from plattr.api import EventOut

log = logging.getLogger(__name__)

TIMEOUT_SECONDS: Final = 2.0
LIMIT: Final = 50


class EventReader(Protocol):
    def recent(self, key: ObjectKey) -> tuple[EventOut, ...]:
        """Newest first; raises `EventsUnavailable` with a reason for people."""
        ...


class EventsUnavailable(Exception):
    """The API server could not give the Events in time."""


class KubeEvents:
    """Events from the API server, through a client made on first use (so an HTTP app built
    without a cluster, in tests or on a laptop, starts without one)."""

    def __init__(self, make_kube: Callable[[], Kube]) -> None:
        self._make_kube = make_kube
        self._kube: Kube | None = None
        self._lock = threading.Lock()

    def recent(self, key: ObjectKey) -> tuple[EventOut, ...]:
        selector = f"involvedObject.kind={key.kind},involvedObject.name={key.name}"
        try:
            answer = self._client().request(
                "GET",
                EVENT.collection(key.namespace),
                query={"fieldSelector": selector, "limit": LIMIT},
                timeout=TIMEOUT_SECONDS,
            )
        except KubeError as exc:
            log.warning("events unavailable", extra={"object": str(key), "error": str(exc)})
            raise EventsUnavailable(
                f"the API server did not list the Events in {TIMEOUT_SECONDS:.0f} s"
            ) from exc
        return newest_first(answer.get("items") or [])

    def _client(self) -> Kube:
        with self._lock:
            if self._kube is None:
                try:
                    self._kube = self._make_kube()
                except Exception as exc:  # no kubeconfig and not in a pod
                    raise EventsUnavailable(f"no Kubernetes client: {exc}") from exc
            return self._kube


def newest_first(items: list[dict[str, Any]]) -> tuple[EventOut, ...]:
    events = [
        EventOut(
            type=str(item.get("type") or "Normal"),
            reason=str(item.get("reason") or ""),
            message=str(item.get("message") or ""),
            count=int(item.get("count") or 1),
            last_seen=_last_seen(item),
        )
        for item in items
    ]
    return tuple(sorted(events, key=lambda event: event.last_seen or "", reverse=True))


def _last_seen(item: dict[str, Any]) -> str | None:
    seen = item.get("lastTimestamp") or item.get("eventTime") or item.get("firstTimestamp")
    return str(seen) if seen else None
