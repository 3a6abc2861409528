"""One Application (and the platform's options) in, the list of manifests out. Pure."""

from __future__ import annotations

from typing import Any

from plattr.access import preview_role_binding
from plattr.models import Application
from renderer import network, resources, scaling, workload
from renderer.options import RenderOptions
from renderer.order import sort_for_apply
from renderer.plan import plan

Manifest = dict[str, Any]


def render(app: Application, options: RenderOptions) -> list[Manifest]:
    """Every object the app needs, in apply order; a preview when `options.preview` is set."""
    p = plan(app, options)
    if options.preview is not None:
        head = [
            resources.preview_namespace(p),
            resources.preview_environment(p, options.preview),
            preview_role_binding(p.namespace, p.labels),  # the controller's, for its Secrets
        ]
    else:
        head = [resources.application(p)]
    optional = (scaling.autoscaler(p), scaling.disruption_budget(p))
    manifests = [
        *head,
        workload.service_account(p),
        workload.deployment(p),
        network.service(p),
        *network.ingresses(p),
        network.network_policy(p),
        *(m for m in optional if m is not None),
    ]
    return sort_for_apply(manifests)
