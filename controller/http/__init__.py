"""The controller's HTTP side on METRICS_PORT (9090): health, readiness, metrics, and the
app factory the dashboard extends."""

from controller.http.app import create_app, view_of

__all__ = ["create_app", "view_of"]
