"""schemathesis against the published OpenAPI schema: every generated request to the JSON
API gets an answer that conforms to the schema (status codes, JSON bodies, content types)
and is never a server error. The stream never ends, so it is left out here and tested on its
own (test_dashboard_stream)."""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from benchmarks.dashboard_samples import application, preview, put
from controller.config import DashboardSettings
from controller.machinery.cache import ObjectCache
from controller.web.app import install
from tests.support.dashboard_app import FakeEvents, view_of


def dashboard() -> FastAPI:
    cache = ObjectCache()
    put(cache, application("shop", "production", secrets=("shop-db",)))
    put(cache, application("shop", "staging", "Failed"))
    put(cache, preview("shop", 42))
    app = FastAPI(title="Plattr controller")
    install(app, view_of(cache), DashboardSettings(), FakeEvents())
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", dashboard()).exclude(path="/api/v1/stream")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
