"""A small, honest expander of the ApplicationSets the plattr chart renders: the Argo CD
Applications they would generate for a checkout of the GitOps repo and a list of open pull requests.

It implements what those files use, the way Argo CD's ApplicationSet controller does with
`goTemplate: true`: the list, git directory and git files generators, the GitHub pull-request
generator (label filter; parameters `number`, `branch`, `head_sha`, ...), the matrix
generator (the second generator may use the first one's parameters) and a generator's
`selector` (`matchLabels`, `matchExpressions` with In/NotIn). Templates may only reference
fields (`{{.a.b}}`), and a `templatePatch` may also say `{{ toJson .a.b }}`; anything else is
refused rather than guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Params = dict[str, Any]
FIELD = re.compile(r"\{\{\s*\.([A-Za-z_][\w.]*)\s*\}\}")
TO_JSON = re.compile(r"\{\{\s*toJson\s+\.([A-Za-z_][\w.]*)\s*\}\}")


class UnsupportedTemplate(ValueError):
    """The ApplicationSet uses something this expander does not implement."""


@dataclass(frozen=True)
class PullRequest:
    """An open pull request, as GitHub's API lists it."""

    owner: str
    repo: str
    number: int
    head_sha: str
    branch: str = "feature"
    labels: tuple[str, ...] = ("preview",)
    target_branch: str = "main"
    author: str = "someone"

    def params(self) -> Params:
        return {
            "number": self.number,
            "branch": self.branch,
            "branch_slug": re.sub(r"[^a-z0-9-]", "-", self.branch.lower()),
            "target_branch": self.target_branch,
            "target_branch_slug": self.target_branch,
            "head_sha": self.head_sha,
            "head_short_sha": self.head_sha[:8],
            "head_short_sha_7": self.head_sha[:7],
            "labels": list(self.labels),
            "author": self.author,
        }


@dataclass(frozen=True)
class Sources:
    """What the generators read: the GitOps repo's checkout and GitHub's open PRs."""

    checkout: Path
    pull_requests: Sequence[PullRequest] = field(default_factory=tuple)


def substitute(value: Any, params: Mapping[str, Any]) -> Any:
    """`value` with every `{{.field.path}}` replaced (recursively in lists and dicts)."""
    if isinstance(value, dict):
        return {key: substitute(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, params) for item in value]
    if not isinstance(value, str):
        return value
    rest = FIELD.sub("", value)
    if "{{" in rest or "}}" in rest:
        raise UnsupportedTemplate(f"only {{{{.field}}}} references are supported: {value!r}")
    return FIELD.sub(lambda match: str(_lookup(params, match.group(1))), value)


def _lookup(params: Mapping[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            # goTemplateOptions: missingkey=error
            raise KeyError(f"template references {dotted!r}, which the generator does not set")
        value = value[part]
    return value


def _path_params(relative: Path) -> Params:
    return {
        "path": {
            "path": relative.as_posix(),
            "basename": relative.name,
            "basenameNormalized": re.sub(r"[^a-z0-9-]", "-", relative.name.lower()),
            "segments": list(relative.parts),
        }
    }


def _git(generator: Mapping[str, Any], sources: Sources) -> Iterator[Params]:
    root = sources.checkout
    for entry in generator.get("directories", []):
        if entry.get("exclude"):
            raise UnsupportedTemplate("git directory excludes are not implemented")
        for found in sorted(root.glob(entry["path"])):
            if found.is_dir() and not found.name.startswith("."):
                yield _path_params(found.relative_to(root))
    for entry in generator.get("files", []):
        for found in sorted(root.glob(entry["path"])):
            content = yaml.safe_load(found.read_text())
            yield {**content, **_path_params(found.parent.relative_to(root))}


def _pull_requests(generator: Mapping[str, Any], sources: Sources) -> Iterator[Params]:
    github = generator["github"]
    wanted = set(github.get("labels", []))
    for pull in sources.pull_requests:
        if (pull.owner, pull.repo) == (github["owner"], github["repo"]) and wanted <= set(
            pull.labels
        ):
            yield pull.params()


def _matrix(generator: Mapping[str, Any], sources: Sources) -> Iterator[Params]:
    first, second = generator["generators"]
    for outer in generate(first, sources):
        for inner in generate(substitute(second, outer), sources):
            yield {**outer, **inner}


def _list(generator: Mapping[str, Any], sources: Sources) -> Iterator[Params]:
    del sources  # the elements are the parameters
    for element in generator["elements"]:
        yield dict(element)


GENERATORS = {"git": _git, "pullRequest": _pull_requests, "matrix": _matrix, "list": _list}
OPERATORS = {"In": lambda value, values: value in values, "NotIn": lambda v, vs: v not in vs}


def selected(params: Mapping[str, Any], selector: Mapping[str, Any]) -> bool:
    """Whether `params` pass a generator's post-selector (a label selector over them)."""
    if unknown := selector.keys() - {"matchLabels", "matchExpressions"}:
        raise UnsupportedTemplate(f"selector keys {sorted(unknown)} are not implemented")
    expressions = [
        {"key": key, "operator": "In", "values": [value]}
        for key, value in selector.get("matchLabels", {}).items()
    ] + list(selector.get("matchExpressions", []))
    for expression in expressions:
        if expression["operator"] not in OPERATORS:
            raise UnsupportedTemplate(f"selector operator {expression['operator']!r}")
        value = str(params.get(expression["key"], ""))
        if not OPERATORS[expression["operator"]](value, expression["values"]):
            return False
    return True


def generate(generator: Mapping[str, Any], sources: Sources) -> Iterator[Params]:
    """The parameter sets of one generator, through its selector."""
    (kind,) = generator.keys() - {"selector"}
    if kind not in GENERATORS:
        raise UnsupportedTemplate(f"generator {kind!r} is not implemented")
    selector = generator.get("selector", {})
    for params in GENERATORS[kind](generator[kind], sources):
        if selected(params, selector):
            yield params


def patched(app: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`app` with `patch` merged in, mapping by mapping (lists and scalars are replaced)."""
    merged = dict(app)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = patched(current, value)
        else:
            merged[key] = value
    return merged


def template_patch(text: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A `templatePatch` filled in: `{{ toJson .field }}` and `{{.field}}` references."""
    filled = TO_JSON.sub(lambda match: json.dumps(_lookup(params, match.group(1))), text)
    patch: dict[str, Any] = yaml.safe_load(substitute(filled, params))
    return patch


def applications(appset: Mapping[str, Any], sources: Sources) -> list[dict[str, Any]]:
    """The Argo CD Applications `appset` generates, in its namespace."""
    spec = appset["spec"]
    if not spec.get("goTemplate"):
        raise UnsupportedTemplate("only goTemplate ApplicationSets are implemented")
    generated = []
    for generator in spec["generators"]:
        for params in generate(generator, sources):
            app = substitute(spec["template"], params)
            if "templatePatch" in spec:
                app = patched(app, template_patch(spec["templatePatch"], params))
            app["metadata"].setdefault("namespace", appset["metadata"]["namespace"])
            generated.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app})
    return generated


def load_applicationsets(directory: Path) -> list[dict[str, Any]]:
    """Every ApplicationSet in `directory`'s YAML files."""
    return [
        doc
        for path in sorted(directory.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "ApplicationSet"
    ]
