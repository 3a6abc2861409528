"""`plattr-cmp generate`: the Argo CD config-management plugin (CMP v2 sidecar) entry point.

Argo CD runs it with the app's source path as working directory and the environment
described in its CMP docs. It prints only manifests on stdout, as a YAML stream of one-line
JSON documents (fast to write, parsed by Argo CD like any YAML). On any failure it exits
non-zero with one paragraph on stderr, never an empty stream with exit 0: Argo CD would
take that as "the app has no resources" and prune everything.

Settings, highest precedence first: the Argo CD Application's plugin parameters
(`ARGOCD_APP_PARAMETERS`, `PARAM_<NAME>`), its plugin env (`ARGOCD_ENV_<NAME>`), then the
sidecar's own environment (`<NAME>`, e.g. `BASE_DOMAIN`, set once for the platform).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Final, NoReturn

from plattr.models import ENVIRONMENTS, Environment
from plattr.patterns import DNS1123_SUBDOMAIN
from plattr.yamlio import dump_all_compact
from renderer.pipeline import render_paths
from renderer.plan import DEFAULT_TTL, PreviewParams, RenderError, RenderOptions
from renderer.sources import SpecErrors

USAGE: Final = "usage: plattr-cmp generate   (run by Argo CD in the app's source directory)"
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2
EXIT_TERMINATED: Final = 143


class SettingsError(ValueError):
    """A plugin setting is missing or malformed."""


class Terminated(Exception):
    """SIGTERM arrived (Argo CD's timeout or shutdown): stop, clean up, exit 143."""


def setting(env: Mapping[str, str], name: str, parameters: Mapping[str, str]) -> str | None:
    """The value of parameter `name` (e.g. `base-domain`), by the precedence above."""
    key = name.upper().replace("-", "_")
    for value in (
        parameters.get(name),
        env.get(f"PARAM_{key}"),
        env.get(f"ARGOCD_ENV_{key}"),
        env.get(key),
    ):
        if value:
            return value.strip()
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
    parameters = app_parameters(env)

    def get(name: str) -> str | None:
        return setting(env, name, parameters)

    base_domain = get("base-domain")
    if not base_domain:
        raise SettingsError(
            "no base domain: set BASE_DOMAIN on the plugin sidecar, or ARGOCD_ENV_BASE_DOMAIN "
            "(plugin env) on the Argo CD Application"
        )
    if len(base_domain) > 253 or not re.fullmatch(DNS1123_SUBDOMAIN, base_domain):
        raise SettingsError(
            f"base domain {base_domain!r} (BASE_DOMAIN, ARGOCD_ENV_BASE_DOMAIN or the "
            "base-domain parameter) is not a DNS name such as apps.example.com"
        )
    aws_account_id = get("aws-account-id")
    if aws_account_id is not None and not re.fullmatch(r"[0-9]{12}", aws_account_id):
        raise SettingsError(
            f"AWS account id {aws_account_id!r} (AWS_ACCOUNT_ID, ARGOCD_ENV_AWS_ACCOUNT_ID or "
            "the aws-account-id parameter) must be 12 digits"
        )
    environment = get("environment")
    if environment is not None and environment not in ENVIRONMENTS:
        raise SettingsError(
            f"environment override {environment!r} is not one of {', '.join(ENVIRONMENTS)}"
        )
    return RenderOptions(
        base_domain=base_domain,
        aws_account_id=aws_account_id,
        environment=_as_environment(environment),
        preview=_preview(get),
    )


def _as_environment(value: str | None) -> Environment | None:
    for environment in ENVIRONMENTS:
        if value == environment:
            return environment
    return None


def _preview(get: Callable[[str], str | None]) -> PreviewParams | None:
    number = get("preview-pr")
    if number is None:
        return None
    if not number.isdigit() or int(number) < 1:
        raise SettingsError(f"preview PR number {number!r} must be a positive integer")
    return PreviewParams(
        pull_request=int(number),
        image_tag=get("preview-image-tag"),
        head_sha=get("preview-head-sha"),
        ttl=get("preview-ttl") or DEFAULT_TTL,
    )


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


def check_source_path(env: Mapping[str, str], manifests: list[dict[str, Any]]) -> None:
    """An app under `apps/<env>/` must target `<env>`, unless an override says otherwise."""
    parts = set(env.get("ARGOCD_APP_SOURCE_PATH", "").split("/"))
    if env.get("PARAM_ENVIRONMENT") or env.get("ARGOCD_ENV_ENVIRONMENT"):
        return
    path_environments = parts & set(ENVIRONMENTS)
    for manifest in manifests:
        if manifest.get("kind") != "Application" or "spec" not in manifest:
            continue
        environment = manifest["spec"].get("environment")
        if path_environments and environment not in path_environments:
            raise SettingsError(
                f"Application {manifest['metadata']['name']!r} says environment "
                f"{environment!r} but lives under {env.get('ARGOCD_APP_SOURCE_PATH')!r}; "
                "fix spec.environment or move the file"
            )


def generate(env: Mapping[str, str], directory: str) -> str:
    options = options_from_env(env)
    manifests = render_paths([directory], options, recursive=False)
    if options.preview is None:
        check_source_path(env, manifests)
    check_target_cluster(env, manifests)
    return dump_all_compact(manifests)


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated


def _fail(env: Mapping[str, str], message: str, code: int = EXIT_INVALID) -> int:
    app = env.get("ARGOCD_APP_NAME", "?")
    project_namespace = env.get("ARGOCD_APP_NAMESPACE")
    if project_namespace:
        app = f"{project_namespace}/{app}"
    source = env.get("ARGOCD_APP_SOURCE_PATH", os.getcwd())
    repository = env.get("ARGOCD_APP_SOURCE_REPO_URL")
    if repository:
        source = f"{repository} {source}"
    revision = env.get("ARGOCD_APP_REVISION_SHORT") or env.get("ARGOCD_APP_REVISION", "?")
    target = env.get("ARGOCD_APP_SOURCE_TARGET_REVISION")
    if target:
        revision = f"{revision} ({target})"
    sys.stderr.write(
        f"plattr-cmp: cannot render Argo CD app {app!r} from {source} at {revision}:\n{message}\n"
    )
    return code


def run(argv: list[str], env: Mapping[str, str]) -> int:
    if argv != ["generate"]:
        sys.stderr.write(USAGE + "\n")
        return EXIT_USAGE
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        output = generate(env, os.getcwd())
    except Terminated:
        return _fail(env, "terminated (SIGTERM) before rendering finished", EXIT_TERMINATED)
    except (SpecErrors, SettingsError, RenderError) as error:
        return _fail(env, str(error))
    except Exception as error:  # a bug of ours: still one paragraph, never a traceback
        return _fail(env, f"internal error ({type(error).__name__}: {error}); please report it")
    sys.stdout.write(output)
    sys.stdout.flush()
    return 0


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:], os.environ))
