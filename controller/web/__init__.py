"""The controller's web layer on METRICS_PORT: health, readiness and metrics, and the status
dashboard with its JSON API, served from the watch cache on every replica.

`app` builds the app; `api` (JSON, `/api/v1`), `pages` (HTML) and `stream` (server-sent
events) are the routes; `project` turns cached objects into the `plattr.api` types; `events`
reads an object's Events; `auth` and `oidc` guard it all (`DASHBOARD_AUTH`)."""

from controller.web.app import create_app

__all__ = ["create_app"]
