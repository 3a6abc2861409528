"""The CRDs come from the models; the checked-in files must match them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plattr.crd import CRDS, all_crds, crd_name, custom_resource_definition
from plattr.yamlio import dump_all

CRD_DIR = Path(__file__).parent.parent.parent / "charts" / "plattr" / "crds"


@pytest.mark.parametrize("info", CRDS, ids=lambda info: info.kind)
def test_checked_in_crd_matches_the_models(info: Any) -> None:
    path = CRD_DIR / f"{crd_name(info)}.yaml"
    expected = dump_all([custom_resource_definition(info)])
    assert path.read_text() == expected, f"{path} drifted from the models: run `make crds`"


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        nodes += walk(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            nodes += walk(schema[key], f"{path}[{key}]")
    return nodes


@pytest.mark.parametrize("crd", all_crds(), ids=lambda crd: crd["spec"]["names"]["kind"])
def test_schemas_are_structural(crd: dict[str, Any]) -> None:
    (version,) = crd["spec"]["versions"]
    schema = version["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        assert "type" in node, f"{path} has no type"
        forbidden = {"$ref", "anyOf", "default", "title"} & node.keys()
        assert not forbidden, f"{path} has {forbidden}"
        assert not ("properties" in node and "additionalProperties" in node), path
    assert version["subresources"] == {"status": {}}
    columns = [column["name"] for column in version["additionalPrinterColumns"]]
    assert {"Phase", "URL", "Age"} <= set(columns)


def test_application_crd_has_env_column_short_names_and_spec_fields() -> None:
    crd = custom_resource_definition(CRDS[0])
    assert crd["metadata"]["name"] == "applications.platform.internal"
    assert "papp" in crd["spec"]["names"]["shortNames"]
    version = crd["spec"]["versions"][0]
    assert version["additionalPrinterColumns"][0]["jsonPath"] == ".spec.environment"
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["framework", "environment", "imageRef"]
    assert spec["properties"]["scaling"]["properties"]["targetCPU"]["maximum"] == 100
    conditions = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"][
        "conditions"
    ]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_plattr_crds_prints_both(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import run

    assert run(["crds"]) == 0
    kinds = [doc["spec"]["names"]["kind"] for doc in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds == ["Application", "PreviewEnvironment"]
