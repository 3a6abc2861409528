"""In-place edits of spec files that keep comments, key order and quoting (ruamel.yaml's
round-trip mode): what CI uses to bump an app's image."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Final

from plattr import patterns
from plattr.errors import PlattrError
from plattr.models import Application
from plattr.validation import InvalidDocument, decode
from renderer.sources import is_spec

SPEC_FILE: Final = "application.yaml"


class EditError(PlattrError):
    """The edit was refused: a bad value, or a file that does not hold the app once."""


def spec_path(root: Path, app: str, environment: str) -> Path:
    """Where the GitOps layout keeps an app's spec: `<root>/apps/<env>/<app>/application.yaml`."""
    return root / "apps" / environment / app / SPEC_FILE


def set_image(path: Path, app: str, image: str) -> bool:
    """Set `spec.imageRef` of app `app` in `path`; False when it already had that image."""
    from ruamel.yaml import YAML  # round-trip editing only; never on the render hot path

    if not re.fullmatch(patterns.IMAGE_REFERENCE, image):
        raise EditError(f"{image!r} is not an image reference (registry/repository:tag)")
    text = path.read_text(encoding="utf-8")
    yaml = YAML()  # round-trip: comments, order and quotes survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(**_indentation(text))
    documents = list(yaml.load_all(text))
    matches = [
        doc for doc in documents if is_spec(doc) and (doc.get("metadata") or {}).get("name") == app
    ]
    if len(matches) != 1:
        raise EditError(f"{path}: expected one Application named {app!r}, found {len(matches)}")
    document: Any = matches[0]
    if document["spec"].get("imageRef") == image:
        return False
    old = document["spec"].get("imageRef")
    document["spec"]["imageRef"] = type(old)(image) if isinstance(old, str) else image
    try:
        decode(_plain(document), Application)  # never write a spec that no longer validates
    except InvalidDocument as invalid:
        raise EditError(f"{path}: with that image the spec would be invalid: {invalid}") from None
    buffer = io.StringIO()
    if len(documents) == 1:
        yaml.dump(documents[0], buffer)
    else:
        yaml.dump_all(documents, buffer)
    _write_atomically(path, buffer.getvalue())
    return True


def _indentation(text: str) -> dict[str, int]:
    """The file's own mapping indent, sequence indent and dash offset, so they survive."""
    from ruamel.yaml.util import load_yaml_guess_indent

    mapping = re.search(r"^[^\s#-][^:]*:\s*\n(?:\s*#.*\n)*( +)[^\s-]", text, re.MULTILINE)
    mapping_indent = len(mapping.group(1)) if mapping else 2
    _, sequence_indent, offset = load_yaml_guess_indent(text)
    return {
        "mapping": mapping_indent,
        "sequence": sequence_indent or mapping_indent,
        "offset": offset or 0,
    }


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
