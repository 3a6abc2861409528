"""Decode documents into the models, reporting every error of a document at once.

The fast path is one `msgspec.convert`. Only when it fails do we walk the document against
the model's types to find each bad field, so a valid spec costs one C call and an invalid one
gets a complete list: field path, bad value, and the rule it broke.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeVar, Union, get_args, get_origin

import msgspec

from plattr import patterns

T = TypeVar("T")

_AT: Final = re.compile(r" - at `\$(?P<inner>[^`]*)`$")
_VALUE_PREVIEW: Final = 60
_TYPE_NAME: Final = re.compile(r"`([^`]+)`")
_LENGTH: Final = re.compile(r"^Expected `str` of length (?P<op>[<>]=) (?P<count>[0-9]+)$")
_TYPE_WORDS: Final = {
    "int": "an integer",
    "float": "a number",
    "str": "a string (quote numbers and booleans in YAML)",
    "bool": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}

_RULES: Final = {
    patterns.DNS1035_LABEL: (
        "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, "
        "ending with a letter or digit"
    ),
    patterns.DNS1123_LABEL: "a DNS-1123 label: lowercase letters, digits and '-'",
    patterns.DNS1123_SUBDOMAIN: "a DNS name: lowercase labels of letters, digits and '-'",
    patterns.IMAGE_REFERENCE: (
        "an image reference such as registry.example.com/team/app:1.2.3 "
        "(lowercase repository, optional :tag and @sha256:digest)"
    ),
    patterns.QUANTITY: "a Kubernetes quantity such as 100m, 0.5, 256Mi or 1Gi",
    patterns.ENV_VAR_NAME: "an environment variable name (letters, digits, '_')",
    patterns.QUALIFIED_NAME: "a label key such as team or example.com/team",
    patterns.LABEL_VALUE: "a label value: at most 63 letters, digits, '-', '_' or '.'",
    patterns.BUCKET_LOGICAL_NAME: "lowercase letters, digits and '-', at most 40 characters",
    patterns.TTL: "a duration such as 30m, 72h or 7d",
    patterns.CONFIG_KEY: "a key of letters, digits, '-', '_' or '.'",
    patterns.HTTP_PATH: "a path starting with '/', without spaces",
}


class FieldError(NamedTuple):
    """One problem in a document: where (dotted path) and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class InvalidDocument(Exception):
    """A document that does not fit its model; `errors` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


def decode(document: object, model: type[T]) -> T:
    """`document` as a `model`, or `InvalidDocument` with every error in it."""
    try:
        return msgspec.convert(document, model, strict=True)
    except msgspec.ValidationError:
        raise InvalidDocument(find_errors(document, model)) from None


def find_errors(document: object, model: object) -> list[FieldError]:
    """Every error of `document` against the type `model` (empty when it decodes)."""
    return _collect(document, model, "")


def _collect(value: object, typ: object, path: str) -> list[FieldError]:
    try:
        msgspec.convert(value, typ, strict=True)
    except msgspec.ValidationError as error:
        first = error
    else:
        return []
    errors = _collect_children(value, _unwrap(typ)[0], path)
    return errors or [_leaf_error(first, value, typ, path)]


def _collect_children(value: object, typ: object, path: str) -> list[FieldError]:
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct) and isinstance(value, dict):
        return _collect_struct(value, typ, path)
    origin, args = get_origin(typ), get_args(typ)
    if origin is list and isinstance(value, list):
        return [e for i, item in enumerate(value) for e in _collect(item, args[0], f"{path}[{i}]")]
    if origin is dict and isinstance(value, dict):
        key_type, value_type = args
        return [
            error
            for key, item in value.items()
            for error in (
                _collect(key, key_type, _join(path, str(key)))
                + _collect(item, value_type, _join(path, str(key)))
            )
        ]
    return []


def _collect_struct(
    value: dict[Any, Any], struct: type[msgspec.Struct], path: str
) -> list[FieldError]:
    fields = {info.encode_name: info for info in msgspec.structs.fields(struct)}
    errors: list[FieldError] = []
    if struct.__struct_config__.forbid_unknown_fields:
        for key in value:
            if key not in fields:
                known = ", ".join(sorted(fields))
                errors.append(
                    FieldError(_join(path, str(key)), f"unknown field; known fields: {known}")
                )
    for name, info in fields.items():
        if name in value:
            errors += _collect(value[name], info.type, _join(path, name))
        elif info.required:
            errors.append(FieldError(_join(path, name), "required field is missing"))
    return errors


def _unwrap(typ: object) -> tuple[object, list[object]]:
    """The type under `Annotated[...]` and `X | None` (when just one X), with its metadata."""
    metadata: list[object] = []
    while True:
        origin = get_origin(typ)
        if origin is Annotated:
            metadata += typ.__metadata__  # type: ignore[attr-defined]
            typ = get_args(typ)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(typ) if arg is not type(None)]
            if len(members) != 1:
                return typ, metadata
            typ = members[0]
        else:
            return typ, metadata


def _leaf_error(
    error: msgspec.ValidationError, value: object, typ: object, path: str
) -> FieldError:
    match = _AT.search(str(error))
    inner = match.group("inner") if match else ""
    message = _AT.sub("", str(error))
    inner_type, metadata = _unwrap(typ)
    rules = [_RULES.get(m.pattern) for m in metadata if isinstance(m, msgspec.Meta) and m.pattern]
    if isinstance(value, dict):
        return FieldError(path + inner, message)  # a rule across fields: the message says it
    if get_origin(inner_type) is Literal and not inner:
        message = "must be one of: " + ", ".join(str(arg) for arg in get_args(inner_type))
    elif length := _LENGTH.match(message):
        bound = "at most" if length["op"] == "<=" else "at least"
        rule = f"{rules[0]}, " if rules and rules[0] else ""
        message = f"must be {rule}{bound} {length['count']} characters long"
    elif rules and rules[0] and not inner:
        message = f"must be {rules[0]}"
    elif message.startswith("Expected "):
        expected = message.removeprefix("Expected ").split(", got ")[0]
        message = "must be " + _TYPE_NAME.sub(_words, expected)
    got = repr(value)
    if len(got) > _VALUE_PREVIEW:
        got = got[: _VALUE_PREVIEW - 3] + "..."
    return FieldError(path + inner, f"{message} (got {got})")


def _words(match: re.Match[str]) -> str:
    names = [name.strip() for name in match.group(1).split("|")]
    return " or ".join(_TYPE_WORDS.get(name, name) for name in names if name != "null")


def _join(path: str, name: str) -> str:
    name = name or '""'  # an empty key is still a field the user can find
    return f"{path}.{name}" if path else name
