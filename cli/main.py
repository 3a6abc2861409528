"""`plattr`: render, validate and scaffold Application specs; print the CRDs.

Exit codes: 0 ok, 1 invalid input (message on stderr, no traceback), 2 usage error,
3 differences found (`plattr diff --exit-code` only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NoReturn

from plattr.crd import CRDS, crd_name, custom_resource_definition
from plattr.frameworks import DEFAULTS
from plattr.models import ENVIRONMENTS, Application
from plattr.naming import Target
from plattr.validation import InvalidDocument, decode
from plattr.yamlio import dump_all, load_all
from renderer import status
from renderer.pipeline import render_paths
from renderer.plan import DEFAULT_TTL, PreviewParams, RenderError, RenderOptions
from renderer.sources import SpecErrors, decode_applications, read_specs

EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2
EXIT_CHANGED: Final = 3
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


class UsageError(Exception):
    """A missing setting the user must pass as a flag or environment variable."""


def _render_options(args: argparse.Namespace) -> RenderOptions:
    base_domain = args.base_domain or os.environ.get("BASE_DOMAIN")
    if not base_domain:
        raise UsageError("no base domain: pass --base-domain or set BASE_DOMAIN")
    preview = None
    if args.preview_pr is not None:
        preview = PreviewParams(args.preview_pr, args.image_tag, args.head_sha, args.ttl)
    return RenderOptions(
        base_domain=base_domain,
        aws_account_id=args.aws_account_id or os.environ.get("AWS_ACCOUNT_ID"),
        environment=args.environment,
        preview=preview,
    )


def cmd_render(args: argparse.Namespace) -> int:
    manifests = render_paths(args.paths, _render_options(args))
    if args.output == "json":
        listing = {"apiVersion": "v1", "kind": "List", "items": manifests}
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
    else:
        sys.stdout.write(dump_all(manifests))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    documents = read_specs(args.paths)
    applications = decode_applications(documents)
    for document, app in zip(documents, applications, strict=True):
        target = Target(app.metadata.name, app.spec.environment)
        print(f"{document.source}: {app.metadata.name} ({target.namespace}) is valid")
    if not documents:
        print("no Application specs found", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    text = STARTER.format(
        name=args.name,
        framework=args.framework,
        environment=args.env,
        image=args.image or EXAMPLE_IMAGE.format(name=args.name),
        port=DEFAULTS[args.framework].port,
    )
    decode(load_all(text)[0], Application)  # the starter must always be valid
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    path = Path(args.output or f"{args.name}/application.yaml")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def cmd_crds(args: argparse.Namespace) -> int:
    if args.split is None:
        sys.stdout.write(dump_all(custom_resource_definition(info) for info in CRDS))
        return EXIT_OK
    args.split.mkdir(parents=True, exist_ok=True)
    for info in CRDS:
        path = args.split / f"{crd_name(info)}.yaml"
        path.write_text(dump_all([custom_resource_definition(info)]), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def cmd_set_image(args: argparse.Namespace) -> int:
    from renderer.edit import set_image, spec_path

    path = spec_path(args.root, args.app, args.env)
    if not path.is_file():
        raise UsageError(f"no spec for {args.app!r} in {args.env}: {path} does not exist")
    changed = set_image(path, args.app, args.image)
    print(f"{path}: {'imageRef set to ' + args.image if changed else 'already at that image'}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    import tempfile

    from renderer.diff import diff_sources

    options = _render_options(args)
    with tempfile.TemporaryDirectory(prefix="plattr-diff-") as scratch:
        text = diff_sources(
            args.base,
            args.head,
            args.path,
            Path(scratch),
            lambda directory: render_paths([directory], options),
        )
    sys.stdout.write(text)
    return EXIT_CHANGED if text and args.exit_code else EXIT_OK


def _add_render_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-domain", help="apps live under it (default: $BASE_DOMAIN)")
    parser.add_argument(
        "--aws-account-id", help="for IRSA role ARNs of apps with storage ($AWS_ACCOUNT_ID)"
    )
    parser.add_argument("--environment", choices=ENVIRONMENTS, help="override spec.environment")
    preview = parser.add_argument_group("preview (render a PR preview of the app)")
    preview.add_argument("--preview-pr", type=int, metavar="N", help="pull request number")
    preview.add_argument("--image-tag", help="preview image tag")
    preview.add_argument("--head-sha", help="commit of the preview (tag <app>-<sha>)")
    preview.add_argument("--ttl", default=DEFAULT_TTL, help="preview time to live (e.g. 72h)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="plattr", description=__doc__)
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
    init.add_argument("--env", required=True, choices=ENVIRONMENTS)
    init.add_argument("--image", help="image reference (default: a placeholder)")
    init.add_argument("-o", "--output", help="file to write, or - for stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=cmd_init)

    set_image = commands.add_parser(
        "set-image", help="set an app's imageRef in place (comments and layout kept)"
    )
    set_image.add_argument("app")
    set_image.add_argument("image")
    set_image.add_argument("--env", required=True, choices=ENVIRONMENTS)
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
    except UsageError as error:
        print(f"plattr: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (SpecErrors, InvalidDocument, RenderError) as error:
        print(f"plattr {args.command}: invalid input:\n{error}", file=sys.stderr)
        return EXIT_INVALID
    return code


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:]))
