"""YAML in and out.

On the render hot path (Argo CD runs the plugin on every refresh of every app) specs are
parsed with ryaml, a YAML 1.2 parser in Rust that imports in a third of PyYAML's time and
refuses duplicate keys, alias bombs and deep nesting itself; the plugin writes JSON documents
with msgspec. PyYAML, slower to import, serves what people read (`plattr render` output,
golden files, diffs) and finds line numbers on the error path only. ruamel.yaml is kept for
editing specs in place (`plattr set-image`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import msgspec
import ryaml

if TYPE_CHECKING:
    import yaml

MAX_DOCUMENT_BYTES: Final = 1 << 20
"""Specs are small; a megabyte is already absurd, and bounds what a hostile file costs."""
MAX_NODES: Final = 100_000
"""Nodes a document may expand to once aliases are followed (stops "billion laughs")."""
MAX_DEPTH: Final = 64
_POSITION: Final = re.compile(r"at line (\d+) column (\d+)")


class YamlError(ValueError):
    """Unparseable YAML, with the line and column where the parser gave up."""


def load_all(text: str, source: str = "<stdin>") -> list[Any]:
    """Every document of a YAML stream, empty ones as `None` (indexes match `line_of`)."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise YamlError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes; is it a spec?")
    try:
        documents = ryaml.loads_all(text) or []
    except ryaml.InvalidYamlError as error:
        where = _POSITION.search(str(error))
        at = f"{source}:{where.group(1)}:{where.group(2)}" if where else source
        raise YamlError(f"{at}: not valid YAML: {error}") from None
    except ValueError as error:  # ryaml's own: a mapping or a list used as a mapping key
        raise YamlError(
            f"{source}: not valid YAML for a spec: {error} (a mapping key must be a plain "
            "scalar such as a field name)"
        ) from None
    for index, document in enumerate(documents):
        _check_size(document, source, index)
    return documents


def _check_size(document: Any, source: str, index: int) -> None:
    """Reject documents that expand beyond `MAX_NODES` or nest beyond `MAX_DEPTH`."""
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise YamlError(f"{source}: document {index + 1} nests deeper than {MAX_DEPTH}")
        if not isinstance(node, (dict, list)):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        children = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(child, depth + 1) for child in children)
        if total > MAX_NODES:
            raise YamlError(
                f"{source}: document {index + 1} expands to more than {MAX_NODES} nodes "
                "(YAML aliases?); write it out plainly"
            )
        sizes[id(node)] = total
        return total

    size(document, 0)


def dump_all(documents: Iterable[Any]) -> str:
    """A `---`-separated block-style stream, keys in the order given, for people to read."""
    import yaml

    return yaml.dump_all(
        documents,
        Dumper=_block_dumper(),
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
        width=10_000,
    )


def _block_dumper() -> type[yaml.SafeDumper]:
    import yaml

    base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[valid-type,misc]
        """Writes shared sub-objects out in full: manifests carry no `&anchor`/`*alias`."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return Dumper


def dump_all_compact(documents: Iterable[Any]) -> str:
    """A `---`-separated stream of one-line JSON documents (JSON is YAML).

    What the plugin prints: Argo CD parses it like any YAML stream, and msgspec's encoder is
    an order of magnitude faster than PyYAML's representer. Keys keep their order.
    """
    return "".join(f"---\n{msgspec.json.encode(document).decode()}\n" for document in documents)


def line_of(text: str, document_index: int, path: Iterable[str | int]) -> int | None:
    """1-based line of the node at `path` in document `document_index`, if it exists.

    Used on the error path only: composing keeps positions, which loading throws away.
    """
    import yaml

    try:
        nodes = list(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return None
    if document_index >= len(nodes) or nodes[document_index] is None:
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
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == step:
                return value  # type: ignore[no-any-return]
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return node.value[step]  # type: ignore[no-any-return]
    return None


def iter_paths(path: str) -> list[str | int]:
    """`spec.buckets[1].name` → `spec`, `buckets`, 1, `name`. A bracketed part that is not a
    number is a mapping key that looks like one (`spec.database.[]` → ..., `[]`)."""
    steps: list[str | int] = []
    for part in path.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            steps.append(int(part[1:-1]))
        elif part:
            steps.append(part)
    return steps
