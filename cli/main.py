"""`plattr`: render, validate and scaffold Application specs; print the CRDs.

Exit codes (`plattr.errors.ExitCode`): 0 ok, 1 invalid input (message on stderr, no
traceback), 2 a missing or malformed flag or setting, 3 differences found (`plattr diff
--exit-code` only).

The platform settings a render needs come from flags, else the environment (`BASE_DOMAIN`,
`AWS_ACCOUNT_ID`), else the GitOps repo's `plattr-settings.yaml` (`cli.repo_settings`). The
declared environments come from `--environments FILE`, else `$PLATTR_ENVIRONMENTS_FILE`, else
the declaration shipped with Plattr (`plattr.environments`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NoReturn

from cli import status
from cli.repo_settings import SETTINGS_FILE, find_settings
from plattr import environments
from plattr.crd import CRDS, crd_name, custom_resource_definition
from plattr.errors import ExitCode, PlattrError, SettingsError
from plattr.frameworks import DEFAULTS
from plattr.models import Application
from plattr.validation import InvalidDocument, decode
from plattr.yamlio import dump_all, load_all
from renderer.errors import Problem, SpecErrors
from renderer.options import (
    DEFAULT_TTL,
    InvalidOption,
    PreviewParams,
    RenderOptions,
    pull_request_number,
)
from renderer.pipeline import render_paths
from renderer.sources import decode_applications, read_specs

EXAMPLE_IMAGE: Final = "registry.example.com/team/{name}:0.1.0"

STARTER: Final = """\
# A Plattr Application: `plattr validate` checks it, `plattr render` shows what it becomes.
apiVersion: platform.internal/v1alpha1
kind: Application
metadata:
  name: {name}
spec:
  framework: {framework}
  environment: {environment}
  imageRef: {image}
  # port: {port}                 # default for {framework}
  database:
    enabled: false               # a Postgres schema, roles and the {name}-db Secret
  storage:
    enabled: false               # S3 buckets, listed under buckets: [{{name: uploads}}]
  auth:
    enabled: false               # a Keycloak realm; providers: [google, github]
  scaling:
    min: 1
    max: 3
    targetCPU: 80
"""


class UsageError(SettingsError):
    """A command line the user must change: a refused argument or a missing flag."""


FLAG_SOURCES: Final = {
    "environment": "--environment",
    "pull_request": "--preview-pr",
    "image_tag": "--image-tag",
    "head_sha": "--head-sha",
    "ttl": "--ttl",
    "image_repository": "--preview-image-repository",
}
"""The flag that sets each option of `renderer.options` that only a flag sets (the options
check the values, so both entry points refuse the same ones with the same rule)."""


def render_options(args: argparse.Namespace, start: Path) -> RenderOptions:
    """The options from the flags, else the environment, else the settings file of the GitOps
    repo that holds `start`; `InvalidOption` names where a refused value came from."""
    found = find_settings(start)
    sources = dict(FLAG_SOURCES)

    def pick(field: str, flag: str, variable: str, key: str) -> str | None:
        candidates = [(getattr(args, field), flag), (os.environ.get(variable), variable)]
        if found is not None:
            candidates.append((getattr(found.settings, field), found.source(key)))
        for value, source in candidates:
            if value:
                sources[field] = source
                return str(value)
        return None

    try:
        base_domain = pick("base_domain", "--base-domain", "BASE_DOMAIN", "baseDomain")
        if base_domain is None:
            raise UsageError(
                "no base domain: pass --base-domain, set BASE_DOMAIN, or put baseDomain in "
                f"{SETTINGS_FILE} at the GitOps repo's root"
            )
        preview = None
        if args.preview_pr is not None:
            number = pull_request_number(args.preview_pr)
            preview = PreviewParams(
                number, args.image_tag, args.head_sha, args.ttl, args.preview_image_repository
            )
        return RenderOptions(
            base_domain=base_domain,
            aws_account_id=pick(
                "aws_account_id", "--aws-account-id", "AWS_ACCOUNT_ID", "awsAccountId"
            ),
            environment=args.environment,
            environments=declared_environments(args),
            preview=preview,
        )
    except InvalidOption as error:
        raise error.came_from(sources[error.field]) from None


def declared_environments(args: argparse.Namespace) -> environments.Environments:
    """`--environments FILE`, else `$PLATTR_ENVIRONMENTS_FILE`, else the shipped declaration."""
    if args.environments is not None:
        return environments.load(args.environments)
    return environments.from_environ()


def _require_declared(args: argparse.Namespace) -> None:
    """`UsageError` naming the declared environments unless `--env` is one of them."""
    declared = declared_environments(args)
    if args.env not in declared:
        raise UsageError(declared.undeclared_message(args.env, "--env"))


def cmd_render(args: argparse.Namespace) -> int:
    manifests = render_paths(args.paths, render_options(args, args.paths[0]))
    if args.output == "json":
        listing = {"apiVersion": "v1", "kind": "List", "items": manifests}
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
    else:
        sys.stdout.write(dump_all(manifests))
    return ExitCode.OK


def cmd_validate(args: argparse.Namespace) -> int:
    documents = read_specs(args.paths)
    declared = declared_environments(args)
    applications = decode_applications(documents, declared)
    for document, app in zip(documents, applications, strict=True):
        namespace = declared.require(app.spec.environment).namespace_name
        print(f"{document.source}: {app.metadata.name} ({namespace}) is valid")
    if not documents:
        print("no Application specs found", file=sys.stderr)
        return ExitCode.INVALID
    return ExitCode.OK


def cmd_init(args: argparse.Namespace) -> int:
    _require_declared(args)
    text = STARTER.format(
        name=args.name,
        framework=args.framework,
        environment=args.env,
        image=args.image or EXAMPLE_IMAGE.format(name=args.name),
        port=DEFAULTS[args.framework].port,
    )
    try:
        decode(load_all(text)[0], Application)  # never write a starter that does not validate
    except InvalidDocument as invalid:  # the name or --image given
        problems = [Problem("the starter spec", None, error) for error in invalid.errors]
        raise SpecErrors(problems) from None
    if args.output == "-":
        sys.stdout.write(text)
        return ExitCode.OK
    path = Path(args.output or f"{args.name}/application.yaml")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return ExitCode.OK


def cmd_crds(args: argparse.Namespace) -> int:
    if args.split is None:
        sys.stdout.write(dump_all(custom_resource_definition(info) for info in CRDS))
        return ExitCode.OK
    args.split.mkdir(parents=True, exist_ok=True)
    for info in CRDS:
        path = args.split / f"{crd_name(info)}.yaml"
        path.write_text(dump_all([custom_resource_definition(info)]), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return ExitCode.OK


def cmd_set_image(args: argparse.Namespace) -> int:
    from cli.edit import set_image, spec_path

    _require_declared(args)
    path = spec_path(args.root, args.app, args.env)
    if not path.is_file():
        raise UsageError(f"no spec for {args.app!r} in {args.env}: {path} does not exist")
    changed = set_image(path, args.app, args.image)
    print(f"{path}: {'imageRef set to ' + args.image if changed else 'already at that image'}")
    return ExitCode.OK


def cmd_diff(args: argparse.Namespace) -> int:
    import tempfile

    from cli.diff import diff_sources

    base = Path(args.base)
    options = render_options(args, base if base.is_dir() else Path.cwd())
    with tempfile.TemporaryDirectory(prefix="plattr-diff-") as scratch:
        text = diff_sources(
            args.base,
            args.head,
            args.path,
            Path(scratch),
            lambda directory: render_paths([directory], options),
        )
    sys.stdout.write(text)
    return ExitCode.CHANGED if text and args.exit_code else ExitCode.OK


def _add_render_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-domain",
        help=f"apps live under it (default: $BASE_DOMAIN, else baseDomain in {SETTINGS_FILE})",
    )
    parser.add_argument(
        "--aws-account-id",
        help="for IRSA role ARNs of apps with storage (default: $AWS_ACCOUNT_ID, else "
        f"awsAccountId in {SETTINGS_FILE})",
    )
    parser.add_argument(
        "--environment", help="override spec.environment (one of the declared environments)"
    )
    preview = parser.add_argument_group("preview (render a PR preview of the app)")
    preview.add_argument("--preview-pr", metavar="N", help="pull request number")
    preview.add_argument("--image-tag", help="preview image tag")
    preview.add_argument("--head-sha", help="commit of the preview (tag <app>-<sha>)")
    preview.add_argument("--ttl", default=DEFAULT_TTL, help="preview time to live (e.g. 72h)")
    preview.add_argument(
        "--preview-image-repository",
        metavar="REPOSITORY",
        help="where preview images are pushed (default: the spec image's repository)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="plattr", description=__doc__)
    root.add_argument(
        "--environments",
        type=Path,
        metavar="FILE",
        help="the environments declaration (default: $PLATTR_ENVIRONMENTS_FILE, else the "
        "one shipped with Plattr: production, staging, uat)",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="specs to Kubernetes manifests on stdout")
    render.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    render.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    _add_render_flags(render)
    render.set_defaults(handler=cmd_render)

    validate = commands.add_parser("validate", help="report every error in every spec")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.set_defaults(handler=cmd_validate)

    init = commands.add_parser("init", help="write a starter spec")
    init.add_argument("name")
    init.add_argument("--framework", required=True, choices=sorted(DEFAULTS))
    init.add_argument("--env", required=True, help="a declared environment")
    init.add_argument("--image", help="image reference (default: a placeholder)")
    init.add_argument("-o", "--output", help="file to write, or - for stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=cmd_init)

    set_image = commands.add_parser(
        "set-image", help="set an app's imageRef in place (comments and layout kept)"
    )
    set_image.add_argument("app")
    set_image.add_argument("image")
    set_image.add_argument("--env", required=True, help="a declared environment")
    set_image.add_argument(
        "--root", type=Path, default=Path(), help="the GitOps repo (holds apps/<env>/<app>/)"
    )
    set_image.set_defaults(handler=cmd_set_image)

    diff = commands.add_parser("diff", help="manifest diff between two directories or git refs")
    diff.add_argument("base", help="directory, or git ref (e.g. origin/main)")
    diff.add_argument("head", help="directory, or git ref (e.g. HEAD)")
    diff.add_argument("--path", default="apps", help="path inside the repo for git refs")
    diff.add_argument("--exit-code", action="store_true", help="exit 3 when the renders differ")
    _add_render_flags(diff)
    diff.set_defaults(handler=cmd_diff)

    crds = commands.add_parser("crds", help="print the CustomResourceDefinitions")
    crds.add_argument("--split", type=Path, metavar="DIR", help="write one file per CRD")
    crds.set_defaults(handler=cmd_crds)

    status.add_parser(commands)
    return root


def run(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except PlattrError as error:
        heading = "invalid input:\n" if error.exit_code is ExitCode.INVALID else ""
        print(f"plattr {args.command}: {heading}{error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug of ours: one line, never a traceback
        print(
            f"plattr {args.command}: internal error ({type(error).__name__}: {error}); "
            "please report it",
            file=sys.stderr,
        )
        return ExitCode.INVALID
    return code


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:]))
