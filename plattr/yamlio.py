"""YAML in and out: libyaml's C parser on the hot path, plain safe types only.

ruamel.yaml is kept for editing specs in place (`plattr set-image`); here speed matters,
since Argo CD runs the plugin on every refresh of every app.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import yaml

try:
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DOCUMENT_BYTES: Final = 1 << 20
"""Specs are small; a megabyte is already absurd, and bounds what a hostile file costs."""


class YamlError(ValueError):
    """Unparseable YAML, with the line and column where the parser gave up."""


def load_all(text: str, source: str = "<stdin>") -> list[Any]:
    """Every document of a YAML stream (empty documents skipped)."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise YamlError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes; is it a spec?")
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlError(f"{where}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: not valid YAML: {error}") from None


def dump_all(documents: Iterable[Any]) -> str:
    """A `---`-separated stream, keys in the order given, byte-identical for equal input."""
    return yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
        width=10_000,
    )


def line_of(text: str, document_index: int, path: Iterable[str | int]) -> int | None:
    """1-based line of the node at `path` in document `document_index`, if it exists.

    Used on the error path only: composing keeps positions, which loading throws away.
    """
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None]
    except yaml.YAMLError:
        return None
    if document_index >= len(nodes):
        return None
    node: yaml.Node = nodes[document_index]
    line = node.start_mark.line + 1
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == step:
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        if 0 <= step < len(node.value):
            return node.value[step]  # type: ignore[no-any-return]
    return None


def iter_paths(path: str) -> Iterator[str | int]:
    """`spec.buckets[1].name` → `spec`, `buckets`, 1, `name`."""
    for part in path.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]"):
            yield int(part[1:-1])
        elif part:
            yield part
