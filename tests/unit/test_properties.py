"""Property tests: every valid spec renders to objects the Kubernetes 1.31 schema accepts;
arbitrary input never ends in anything but a list of field errors."""

from __future__ import annotations

import string
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plattr.environments import shipped
from plattr.frameworks import DEFAULTS
from plattr.models import Application
from plattr.validation import InvalidDocument, decode, find_errors
from renderer.options import PreviewParams
from renderer.render import render
from tests.support.render_helpers import OPTIONS
from tests.support.schema_check import check_manifest

label = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
bucket = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True)
env_name = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True)
quantity_cpu = st.sampled_from(["50m", "100m", "250m", "1", "2"])
quantity_mem = st.sampled_from(["64Mi", "128Mi", "1Gi"])
probe = st.one_of(
    st.fixed_dictionaries({"type": st.just("tcp")}),
    st.fixed_dictionaries(
        {"type": st.just("http"), "path": st.from_regex(r"/[a-z]{0,8}", fullmatch=True)},
        optional={"periodSeconds": st.integers(1, 60), "initialDelaySeconds": st.integers(0, 30)},
    ),
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(1, 5))
    buckets = draw(st.lists(bucket, min_size=1, max_size=3, unique=True))
    env_names = draw(st.lists(env_name, max_size=3, unique=True))
    spec: dict[str, Any] = {
        "framework": draw(st.sampled_from(sorted(DEFAULTS))),
        "environment": draw(st.sampled_from(shipped().names)),
        "imageRef": draw(st.sampled_from(["nginx", "r.example.com:5000/team/app:1.0", "a/b:c"])),
        "scaling": {"min": low, "max": low + draw(st.integers(0, 5))},
    }
    optional: dict[str, Any] = {
        "port": st.integers(1024, 3000),
        "env": st.just([{"name": n, "value": "v"} for n in env_names]),
        "database": st.fixed_dictionaries(
            {"enabled": st.booleans()}, optional={"postgrest": st.just({"enabled": False})}
        ),
        "storage": st.just({"enabled": True, "buckets": [{"name": b} for b in buckets]}),
        "auth": st.just({"enabled": True, "providers": ["google"]}),
        "ingress": st.fixed_dictionaries({"enabled": st.booleans()}),
        "probes": st.fixed_dictionaries({}, optional={"readiness": probe, "liveness": probe}),
        "resources": st.fixed_dictionaries(
            {"requests": st.fixed_dictionaries({"cpu": quantity_cpu, "memory": quantity_mem})}
        ),
        "labels": st.dictionaries(label, label, max_size=2).filter(
            lambda d: not any(k.startswith(("app.kubernetes.io", "platform.internal")) for k in d)
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    if spec.get("resources") and spec.get("port"):
        spec.pop("resources")
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=label, spec=specs(), preview=st.one_of(st.none(), st.integers(1, 99999)))
def test_valid_specs_render_to_valid_kubernetes_objects(
    name: str, spec: dict[str, Any], preview: int | None
) -> None:
    document = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }
    app = decode(document, Application)
    declared = shipped().get(app.spec.environment)
    assume(preview is None or (declared is not None and declared.previews))
    options = msgspec.structs.replace(OPTIONS, preview=PreviewParams(preview) if preview else None)
    for manifest in render(app, options):
        check_manifest(manifest)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(string.ascii_letters, max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "x"]), json_values)
)
def test_random_documents_only_ever_give_field_errors(document: dict[str, Any]) -> None:
    errors = find_errors(document, Application)
    assert all(isinstance(error.message, str) and error.message for error in errors)
    if errors:
        with pytest.raises(InvalidDocument):
            decode(document, Application)


@settings(max_examples=200, deadline=None)
@given(
    spec=specs(),
    mutation=st.tuples(
        st.sampled_from(
            ["framework", "environment", "imageRef", "scaling", "port", "storage", "env"]
        ),
        json_values,
    ),
)
def test_a_mutated_valid_spec_is_either_valid_or_names_the_field(
    spec: dict[str, Any], mutation: tuple[str, Any]
) -> None:
    field, value = mutation
    spec[field] = value
    document = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "app"},
        "spec": spec,
    }
    errors = find_errors(document, Application)
    assert all(error.path.startswith("spec") for error in errors), errors
