"""CustomResourceDefinitions generated from the models.

msgspec writes a JSON Schema; Kubernetes wants a *structural* OpenAPI v3 schema: no `$ref`,
a `type` on every node, no `null` branches, no `additionalProperties: false` beside
`properties`, and no `default`s (the API server would add them to stored objects and Argo CD
would then see a diff against Git).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import msgspec

from plattr.models import GROUP, VERSION, Application, PreviewEnvironment

Schema = dict[str, Any]

_DROPPED_KEYS: Final = frozenset({"title", "default", "propertyNames", "$ref"})


class Printer(NamedTuple):
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0


class CrdInfo(NamedTuple):
    model: type[msgspec.Struct]
    kind: str
    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[Printer, ...]


_COMMON_COLUMNS: Final = (
    Printer("Phase", ".status.phase"),
    Printer("URL", ".status.url"),
    Printer("Age", ".metadata.creationTimestamp", "date"),
)

CRDS: Final = (
    CrdInfo(
        Application,
        "Application",
        "applications",
        ("papp", "plattrapp"),
        (Printer("Env", ".spec.environment"), *_COMMON_COLUMNS),
    ),
    CrdInfo(
        PreviewEnvironment,
        "PreviewEnvironment",
        "previewenvironments",
        ("pe", "preview"),
        (
            Printer("App", ".spec.application"),
            Printer("PR", ".spec.pullRequest", "integer"),
            # a timestamp, not a `date` column: kubectl prints a date as an age, and an age
            # in the future as <invalid>
            Printer("Expires", ".status.expiresAt"),
            *_COMMON_COLUMNS,
        ),
    ),
)


def crd_name(info: CrdInfo) -> str:
    return f"{info.plural}.{GROUP}"


def custom_resource_definition(info: CrdInfo) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": crd_name(info),
            "labels": {"app.kubernetes.io/part-of": "plattr"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.kind.lower(),
                "shortNames": list(info.short_names),
                "categories": ["plattr"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": openapi_schema(info.model)},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        _printer_column(column) for column in info.printer_columns
                    ],
                }
            ],
        },
    }


def all_crds() -> list[dict[str, Any]]:
    return [custom_resource_definition(info) for info in CRDS]


def openapi_schema(model: type[msgspec.Struct]) -> Schema:
    """The structural schema of a top-level resource model."""
    (ref,), components = msgspec.json.schema_components([model])
    schema = _structural(ref, components)
    properties = schema["properties"]
    properties["metadata"] = {"type": "object"}
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    conditions = properties.get("status", {}).get("properties", {}).get("conditions")
    if conditions is not None:
        conditions["x-kubernetes-list-type"] = "map"
        conditions["x-kubernetes-list-map-keys"] = ["type"]
    return schema


def _structural(node: Schema, components: dict[str, Schema]) -> Schema:
    if "$ref" in node:
        target = components[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    branches = [branch for branch in node.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) > 1:
        raise ValueError(f"a union of {len(branches)} types cannot be structural: {branches!r}")
    if len(branches) == 1:
        merged = {k: v for k, v in node.items() if k != "anyOf"}
        node = {**_structural(branches[0], components), **merged}
    result: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or key == "anyOf":
            continue
        if key == "properties":
            result[key] = {name: _structural(sub, components) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            result[key] = _structural(value, components)
        elif key == "required":
            if value:
                result[key] = value
        else:
            result[key] = value
    if "properties" in result:
        result.pop("additionalProperties", None)
    if "enum" in result and "type" not in result:
        result["type"] = _enum_type(result["enum"])
    return result


def _enum_type(values: list[object]) -> str:
    if all(isinstance(value, str) for value in values):
        return "string"
    if all(isinstance(value, int) for value in values):
        return "integer"
    raise ValueError(f"enum of mixed types cannot be structural: {values!r}")


def _printer_column(column: Printer) -> dict[str, Any]:
    printed: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "jsonPath": column.json_path,
    }
    if column.priority:
        printed["priority"] = column.priority
    return printed
