"""Every validation rule: the field path, the bad value and the rule reach the user."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from plattr.environments import shipped
from plattr.models import Application, PreviewEnvironment
from plattr.validation import InvalidDocument, decode

EXAMPLE_APP = Path(__file__).parent.parent / "fixtures" / "example-application.yaml"


@pytest.fixture
def spec_doc() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_APP.read_text())
    return document


def errors_of(document: object) -> list[str]:
    with pytest.raises(InvalidDocument) as raised:
        decode(document, Application)
    return [str(error) for error in raised.value.errors]


def test_the_complete_example_validates_unchanged(spec_doc: dict[str, Any]) -> None:
    app = decode(spec_doc, Application)
    assert app.metadata.name == "my-frontend"
    assert app.spec.environment == "production"
    assert app.spec.scaling.target_cpu == 70
    assert [bucket.name for bucket in app.spec.storage.buckets] == ["uploads"]
    assert app.spec.auth.providers == ["google", "github"]
    assert app.spec.runs_postgrest


def set_path(document: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return changed


RULES = [
    # (path to set, value, expected error path, fragment of the message)
    ("metadata.name", "My_App", "metadata.name", "DNS-1035 label"),
    ("metadata.name", "1app", "metadata.name", "starting with a letter"),
    ("metadata.name", "a" * 64, "metadata.name", "DNS-1035"),
    ("spec.framework", "rails", "spec.framework", "must be one of: nextjs, node"),
    ("spec.environment", "Prod", "spec.environment", "DNS-1035 label"),
    ("spec.environment", "a" * 21, "spec.environment", "at most 20"),
    ("spec.imageRef", "Not An Image", "spec.imageRef", "image reference"),
    ("spec.imageRef", "repo/app:tag@sha256:abc", "spec.imageRef", "image reference"),
    ("spec.port", 70000, "spec.port", "<= 65535"),
    ("spec.port", "8080", "spec.port", "must be an integer"),
    ("spec.port", 3001, "spec", "taken by the PostgREST sidecar"),
    ("spec.scaling", {"min": 5, "max": 2}, "spec.scaling", "min (5) is greater than max (2)"),
    ("spec.scaling", {"targetCPU": 0}, "spec.scaling.targetCPU", ">= 1"),
    ("spec.scaling", {"targetCPU": 101}, "spec.scaling.targetCPU", "<= 100"),
    ("spec.scaling", {"min": 0}, "spec.scaling.min", ">= 1"),
    (
        "spec.storage",
        {"enabled": True, "buckets": [{"name": "Up_Loads"}]},
        "spec.storage.buckets[0].name",
        "lowercase letters, digits and '-'",
    ),
    (
        "spec.storage",
        {"enabled": True, "buckets": [{"name": "a"}, {"name": "a"}]},
        "spec.storage",
        "lists 'a' twice",
    ),
    ("spec.storage", {"enabled": True, "buckets": []}, "spec.storage", "buckets is empty"),
    (
        "spec.storage",
        {"enabled": True, "buckets": [{"name": "x-s3alias"}]},
        "spec.storage.buckets[0]",
        "suffix S3 reserves",
    ),
    (
        "spec.auth",
        {"enabled": True, "providers": ["myspace"]},
        "spec.auth.providers[0]",
        "must be one of: google, github",
    ),
    ("spec.auth", {"enabled": True, "providers": "google"}, "spec.auth.providers", "a list"),
    ("spec.env", [{"name": "A", "value": 3}], "spec.env[0].value", "quote numbers"),
    ("spec.env", [{"name": "A"}], "spec.env[0]", "exactly one of value"),
    ("spec.env", [{"name": "1A", "value": "x"}], "spec.env[0].name", "environment variable"),
    (
        "spec.env",
        [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}],
        "spec",
        "lists 'A' twice",
    ),
    (
        "spec.env",
        [{"name": "A", "secretKeyRef": {"name": "s"}}],
        "spec.env[0].secretKeyRef.key",
        "required field is missing",
    ),
    (
        "spec.resources",
        {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}},
        "spec.resources",
        "requests.cpu (2) is more than limits.cpu (500m)",
    ),
    (
        "spec.resources",
        {"requests": {"memory": "lots"}},
        "spec.resources.requests.memory",
        "Kubernetes quantity",
    ),
    (
        "spec.probes",
        {"readiness": {"type": "tcp", "path": "/x"}},
        "spec.probes.readiness",
        "path is only for type http",
    ),
    ("spec.probes", {"liveness": {"type": "exec"}}, "spec.probes.liveness.type", "http, tcp"),
    ("spec.ingress", {"hosts": ["Bad Host"]}, "spec.ingress.hosts[0]", "DNS name"),
    ("spec.ingress", {"path": "docs"}, "spec.ingress.path", "starting with '/'"),
    ("spec.labels", {"app.kubernetes.io/name": "x"}, "spec", "prefix Plattr manages"),
    ("spec.labels", {"team": "a b"}, "spec.labels.team", "label value"),
    ("spec.deletionPolicy", "Keep", "spec.deletionPolicy", "Retain, Delete"),
    ("spec.lables", {}, "spec.lables", "unknown field; known fields: annotations"),
    (
        "spec.database",
        {"enabled": True, "postgREST": {}},
        "spec.database.postgREST",
        "unknown field",
    ),
    ("apiVersion", "platform.internal/v1", "", "apiVersion must be platform.internal/v1alpha1"),
]


@pytest.mark.parametrize(("path", "value", "where", "fragment"), RULES)
def test_each_rule_names_the_field_and_the_fix(
    spec_doc: dict[str, Any], path: str, value: object, where: str, fragment: str
) -> None:
    messages = errors_of(set_path(spec_doc, path, value))
    matching = [m for m in messages if m.startswith(f"{where or '(document)'}:")]
    assert matching, messages
    assert any(fragment in m for m in matching), messages


def test_missing_required_fields_are_listed(spec_doc: dict[str, Any]) -> None:
    del spec_doc["spec"]["imageRef"]
    del spec_doc["spec"]["framework"]
    messages = errors_of(spec_doc)
    assert "spec.framework: required field is missing" in messages
    assert "spec.imageRef: required field is missing" in messages


def test_every_error_of_a_document_is_reported_at_once(spec_doc: dict[str, Any]) -> None:
    spec = spec_doc["spec"]
    spec["framework"] = "rails"
    spec["scaling"] = {"targetCPU": 0}
    spec["storage"]["buckets"].append({"name": "b", "pubic": True})
    spec["imageRef"] = "Bad Image"
    spec_doc["metadata"]["name"] = "Bad_Name"
    paths = {message.split(":")[0] for message in errors_of(spec_doc)}
    assert paths == {
        "metadata.name",
        "spec.framework",
        "spec.scaling.targetCPU",
        "spec.storage.buckets[1].pubic",
        "spec.imageRef",
    }


def test_the_bad_value_is_shown_but_cut_when_long(spec_doc: dict[str, Any]) -> None:
    spec_doc["spec"]["framework"] = "x" * 500
    (message,) = errors_of(spec_doc)
    assert "(got 'xxxx" in message
    assert len(message) < 200


@pytest.mark.parametrize("document", [None, [], "text", 42, {"kind": "Application"}])
def test_documents_of_the_wrong_shape_are_rejected_cleanly(document: object) -> None:
    assert errors_of(document)


def test_a_preview_environment_decodes_and_defaults_its_ttl() -> None:
    preview = decode(
        {
            "apiVersion": "platform.internal/v1alpha1",
            "kind": "PreviewEnvironment",
            "metadata": {"name": "web-pr-7", "namespace": "preview-web-pr-7"},
            "spec": {"application": "web", "pullRequest": 7, "imageRef": "r/web:web-abc1234"},
        },
        PreviewEnvironment,
    )
    assert preview.spec.ttl == "72h"
    assert preview.spec.pull_request == 7


def test_objects_from_the_api_server_decode_with_their_extra_metadata(
    spec_doc: dict[str, Any],
) -> None:
    spec_doc["metadata"].update(
        uid="0b0c", generation=3, resourceVersion="42", managedFields=[{"manager": "argocd"}]
    )
    spec_doc["status"] = {"phase": "Running", "conditions": [], "observedGeneration": 3}
    app = decode(spec_doc, Application)
    assert app.metadata.generation == 3
    assert app.status is not None
    assert app.status.phase == "Running"


def test_the_deletion_policy_defaults_by_environment(spec_doc: dict[str, Any]) -> None:
    declared = shipped()

    def policy() -> str:
        spec = decode(spec_doc, Application).spec
        return declared.require(spec.environment).deletion_policy_of(spec)

    assert policy() == "Retain"
    spec_doc["spec"]["environment"] = "staging"
    assert policy() == "Delete"
    spec_doc["spec"]["deletionPolicy"] = "Retain"
    assert policy() == "Retain"
