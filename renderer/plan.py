"""Everything a render derives from one spec and the platform's options, resolved once.

The manifest builders read a `Plan` and nothing else, so each stays a small pure function.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import msgspec

from plattr.environments import Environment, Replicas
from plattr.frameworks import DEFAULTS, FrameworkDefaults
from plattr.labels import (
    ENVIRONMENT_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    PREVIEW_LABEL,
    PREVIEW_VALUE,
    RENDERED_BY,
)
from plattr.models import Application, ApplicationSpec, Scaling
from plattr.naming import Target
from renderer.errors import RenderError
from renderer.options import PreviewParams, RenderOptions

POSTGREST_SUFFIX: Final = "-postgrest"
"""Name suffix of the Ingress that routes `/rest` to PostgREST."""


PREVIEW_REPLICAS: Final = Replicas(1, 1, Scaling().target_cpu)
"""A preview runs one pod, whatever the app's scaling."""


class Plan(NamedTuple):
    app: Application
    spec: ApplicationSpec
    target: Target
    options: RenderOptions
    environment: Environment
    """The declared environment the app renders into (a preview: the one it previews)."""
    defaults: FrameworkDefaults
    image: str
    hosts: tuple[str, ...]
    replicas: Replicas

    @property
    def name(self) -> str:
        return self.target.instance

    @property
    def namespace(self) -> str:
        return self.target.namespace

    @property
    def port(self) -> int:
        return self.spec.port or self.defaults.port

    @property
    def is_preview(self) -> bool:
        return self.options.preview is not None

    @property
    def url(self) -> str:
        return f"https://{self.hosts[0]}"

    @property
    def selector(self) -> dict[str, str]:
        return {
            NAME_LABEL: self.app.metadata.name,
            INSTANCE_LABEL: self.name,
        }

    @property
    def labels(self) -> dict[str, str]:
        """Every object's labels: the spec's own, then the platform's (which win)."""
        labels = {
            **self.spec.labels,
            **self.selector,
            PART_OF_LABEL: PART_OF,
            MANAGED_BY_LABEL: RENDERED_BY,
            ENVIRONMENT_LABEL: self.target.env,
        }
        if self.is_preview:
            labels[PREVIEW_LABEL] = PREVIEW_VALUE
        return labels

    def metadata(
        self, name: str | None = None, annotations: dict[str, str] | None = None
    ) -> dict[str, object]:
        """Standard metadata for an object of this app (`name` defaults to the instance)."""
        metadata: dict[str, object] = {
            "name": name or self.name,
            "namespace": self.namespace,
            "labels": self.labels,
        }
        if annotations:
            metadata["annotations"] = annotations
        return metadata


def plan(app: Application, options: RenderOptions) -> Plan:
    spec = app.spec
    if options.environment is not None and options.environment != spec.environment:
        spec = msgspec.structs.replace(spec, environment=options.environment)
    environment = options.environments.get(spec.environment)
    if environment is None:
        raise RenderError(
            f"app {app.metadata.name!r}: "
            + options.environments.undeclared_message(spec.environment)
        )
    preview = options.preview
    if preview is None:
        target = environment.target(app.metadata.name)
        image = spec.image_ref
    elif not environment.previews:
        raise RenderError(
            f"app {app.metadata.name!r}: environment {environment.name!r} takes no previews "
            f"(previews: false in {options.environments.source}); preview the app from an "
            "environment that does: "
            + ", ".join(env.name for env in options.environments if env.previews)
        )
    else:
        target = Target.preview(app.metadata.name, preview.pull_request)
        image = _preview_image(spec.image_ref, app.metadata.name, preview)
    hosts: tuple[str, ...] = (target.host(options.base_domain),)
    if preview is None:
        hosts += tuple(host for host in spec.ingress.hosts if host not in hosts)
    if spec.storage.enabled and not options.aws_account_id:
        raise RenderError(
            f"app {app.metadata.name!r} has storage, so its ServiceAccount needs the IAM role "
            "ARN, which needs the AWS account id: set ARGOCD_ENV_AWS_ACCOUNT_ID on the Argo CD "
            "Application (for the CLI: --aws-account-id, AWS_ACCOUNT_ID, or awsAccountId in the "
            "GitOps repo's plattr-settings.yaml)"
        )
    replicas = PREVIEW_REPLICAS if preview else environment.replicas(spec.scaling)
    return Plan(
        app, spec, target, options, environment, DEFAULTS[spec.framework], image, hosts, replicas
    )


def _preview_image(image_ref: str, app_name: str, preview: PreviewParams) -> str:
    """The preview's tag (the given tag, else `<app>-<head sha>`) in the preview image
    repository, else in the spec image's repository; without a tag, the spec's image."""
    if preview.image_tag:
        tag = preview.image_tag
    elif preview.head_sha:
        tag = f"{app_name}-{preview.head_sha}"
    else:
        return image_ref
    return f"{preview.image_repository or _repository(image_ref)}:{tag}"


def _repository(image_ref: str) -> str:
    """`registry:port/path` of an image reference, without its tag and digest."""
    repository = image_ref.split("@", 1)[0]
    last_slash = repository.rfind("/")
    colon = repository.rfind(":")
    return repository[:colon] if colon > last_slash else repository


def preview_renames(
    apps: list[Application], options: RenderOptions
) -> tuple[dict[str, str], dict[str, str]] | None:
    """For a preview render: (app's object name → preview's, app's namespace → preview's),
    so that the user's kustomize patches written for the app reach the preview."""
    if options.preview is None:
        return None
    names: dict[str, str] = {}
    namespaces: dict[str, str] = {}
    for app in apps:
        preview = plan(app, options)
        original = plan(app, msgspec.structs.replace(options, preview=None))
        names.update(
            {
                original.name: preview.name,
                f"{original.name}{POSTGREST_SUFFIX}": f"{preview.name}{POSTGREST_SUFFIX}",
            }
        )
        namespaces[original.namespace] = preview.namespace
    return names, namespaces
