"""`plattr-cmp generate`: the Argo CD config-management plugin (CMP v2 sidecar) entry point.

Argo CD runs it with the app's source path as working directory and the environment
described in its CMP docs. It prints only manifests on stdout, as a YAML stream of one-line
JSON documents (fast to write, parsed by Argo CD like any YAML). On any failure it exits
non-zero with one paragraph on stderr, never an empty stream with exit 0: Argo CD would
take that as "the app has no resources" and prune everything. Every refused input exits 1,
SIGTERM 143, a wrong command line 2 (Argo CD only tells zero from non-zero).

Its settings come from Argo CD only, highest precedence first (`setting`): the Argo CD
Application's plugin parameters (`ARGOCD_APP_PARAMETERS`, `PARAM_<NAME>`), its plugin env
(`ARGOCD_ENV_<NAME>`), then the sidecar's own environment (`<NAME>`, e.g. `BASE_DOMAIN`, set
once for the platform). It never reads a GitOps repo's `plattr-settings.yaml`: that file is
for `plattr` on a person's machine or in CI. The values are checked by the same rules as the
CLI's (`renderer.options`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any, Final, NamedTuple, NoReturn

from plattr import environments
from plattr.errors import ExitCode, PlattrError, SettingsError
from plattr.yamlio import dump_all_compact
from renderer.options import (
    DEFAULT_TTL,
    InvalidOption,
    PreviewParams,
    RenderOptions,
    pull_request_number,
)
from renderer.pipeline import render_paths

USAGE: Final = "usage: plattr-cmp generate   (run by Argo CD in the app's source directory)"
FIELDS: Final = {
    "base-domain": "base_domain",
    "aws-account-id": "aws_account_id",
    "environment": "environment",
    "preview-pr": "pull_request",
    "preview-image-tag": "image_tag",
    "preview-head-sha": "head_sha",
    "preview-ttl": "ttl",
    "preview-image-repository": "image_repository",
}
"""Each plugin parameter (argocd/plugin.yaml) by the option (`renderer.options`) it sets."""


class Terminated(PlattrError):
    """SIGTERM arrived (Argo CD's timeout or shutdown): stop, clean up, exit 143."""

    exit_code = ExitCode.TERMINATED


class Setting(NamedTuple):
    value: str
    source: str
    """Where the value came from, for messages: `ARGOCD_ENV_BASE_DOMAIN`, ..."""


def setting(env: Mapping[str, str], name: str, parameters: Mapping[str, str]) -> Setting | None:
    """Parameter `name` (e.g. `base-domain`) by the precedence in the module's docstring."""
    key = name.upper().replace("-", "_")
    for value, source in (
        (parameters.get(name), f"the {name} parameter (ARGOCD_APP_PARAMETERS)"),
        (env.get(f"PARAM_{key}"), f"PARAM_{key}"),
        (env.get(f"ARGOCD_ENV_{key}"), f"ARGOCD_ENV_{key}"),
        (env.get(key), key),
    ):
        if value:
            return Setting(value.strip(), source)
    return None


def app_parameters(env: Mapping[str, str]) -> dict[str, str]:
    """String parameters from `ARGOCD_APP_PARAMETERS` (JSON), by name."""
    raw = env.get("ARGOCD_APP_PARAMETERS")
    if not raw:
        return {}
    import json  # only apps that set parameters pay for it

    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise SettingsError(f"ARGOCD_APP_PARAMETERS is not JSON: {error}") from None
    if parsed is None:  # what Argo CD sends for an Application whose plugin has no parameters
        return {}
    if not isinstance(parsed, list):
        raise SettingsError("ARGOCD_APP_PARAMETERS must be a JSON list of parameters")
    return {
        item["name"]: item["string"]
        for item in parsed
        if isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("string"), str)
    }


def options_from_env(env: Mapping[str, str]) -> RenderOptions:
    """The render options Argo CD gives this app; `InvalidOption` names the variable."""
    parameters = app_parameters(env)
    sources: dict[str, str] = {}

    def get(name: str) -> str | None:
        found = setting(env, name, parameters)
        if found is None:
            return None
        sources[FIELDS[name]] = found.source
        return found.value

    try:
        base_domain = get("base-domain")
        if not base_domain:
            raise SettingsError(
                "no base domain: set BASE_DOMAIN on the plugin sidecar, or "
                "ARGOCD_ENV_BASE_DOMAIN (plugin env) on the Argo CD Application"
            )
        number = get("preview-pr")
        preview = None
        if number is not None:
            preview = PreviewParams(
                pull_request=pull_request_number(number),
                image_tag=get("preview-image-tag"),
                head_sha=get("preview-head-sha"),
                ttl=get("preview-ttl") or DEFAULT_TTL,
                image_repository=get("preview-image-repository"),
            )
        return RenderOptions(
            base_domain=base_domain,
            aws_account_id=get("aws-account-id"),
            environment=get("environment"),
            environments=environments.from_environ(env),
            preview=preview,
        )
    except InvalidOption as error:
        raise error.came_from(sources[error.field]) from None


def check_target_cluster(env: Mapping[str, str], manifests: list[dict[str, Any]]) -> None:
    """Fail early when the target cluster lacks an API the manifests use (KUBE_API_VERSIONS)."""
    available = {v.strip() for v in env.get("KUBE_API_VERSIONS", "").split(",") if v.strip()}
    if not available:
        return
    missing = sorted({m["apiVersion"] for m in manifests} - available)
    if missing:
        raise SettingsError(
            f"the target cluster (Kubernetes {env.get('KUBE_VERSION', '?')}) does not serve "
            f"{', '.join(missing)}; install the Plattr CRDs (for platform.internal/*) or "
            "upgrade the cluster"
        )


def check_source_path(
    source_path: str, declared: environments.Environments, manifests: list[dict[str, Any]]
) -> None:
    """An app under `apps/<env>/` must target `<env>` (without an environment override)."""
    path_environments = set(source_path.split("/")) & set(declared.names)
    if not path_environments:
        return
    for manifest in manifests:
        if manifest.get("kind") != "Application" or "spec" not in manifest:
            continue
        environment = manifest["spec"].get("environment")
        if environment not in path_environments:
            raise SettingsError(
                f"Application {manifest['metadata']['name']!r} says environment "
                f"{environment!r} but lives under {source_path!r}; "
                "fix spec.environment or move the file"
            )


def generate(env: Mapping[str, str], directory: str) -> str:
    options = options_from_env(env)
    manifests = render_paths([directory], options, recursive=False)
    if options.preview is None and options.environment is None:
        source_path = env.get("ARGOCD_APP_SOURCE_PATH", "")
        check_source_path(source_path, options.environments, manifests)
    check_target_cluster(env, manifests)
    return dump_all_compact(manifests)


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated("terminated (SIGTERM) before rendering finished")


def _fail(env: Mapping[str, str], message: str, code: ExitCode) -> int:
    app = repr(env.get("ARGOCD_APP_NAME", "?"))
    project = env.get("ARGOCD_APP_PROJECT_NAME")
    if project:
        app = f"{app} (project {project})"
    source = env.get("ARGOCD_APP_SOURCE_PATH", os.getcwd())
    repository = env.get("ARGOCD_APP_SOURCE_REPO_URL")
    if repository:
        source = f"{repository} {source}"
    revision = env.get("ARGOCD_APP_REVISION_SHORT") or env.get("ARGOCD_APP_REVISION", "?")
    target = env.get("ARGOCD_APP_SOURCE_TARGET_REVISION")
    if target:
        revision = f"{revision} ({target})"
    sys.stderr.write(
        f"plattr-cmp: cannot render Argo CD app {app} from {source} at {revision}:\n{message}\n"
    )
    return code


def run(argv: list[str], env: Mapping[str, str]) -> int:
    if argv != ["generate"]:
        sys.stderr.write(USAGE + "\n")
        return ExitCode.USAGE
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        output = generate(env, os.getcwd())
    except Terminated as error:
        return _fail(env, str(error), ExitCode.TERMINATED)
    except PlattrError as error:  # refused input: Argo CD tells only zero from non-zero
        return _fail(env, str(error), ExitCode.INVALID)
    except Exception as error:  # a bug of ours: still one paragraph, never a traceback
        message = f"internal error ({type(error).__name__}: {error}); please report it"
        return _fail(env, message, ExitCode.INVALID)
    sys.stdout.write(output)
    sys.stdout.flush()
    return ExitCode.OK


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:], os.environ))
