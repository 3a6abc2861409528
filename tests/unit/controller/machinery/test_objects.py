"""Objects as the machinery sees them: a resource's paths, an object's key, its generation,
and the copy the cache keeps (trimmed to what readers look at)."""

from __future__ import annotations

from controller.machinery.objects import ApiResource, KubeObject, ObjectKey, generation, trimmed

WIDGETS = ApiResource("Widget", "/apis/example.com/v1", "widgets", "tier=gold")
PODS = ApiResource("Pod", "/api/v1", "pods")


def test_paths_of_a_resource_everywhere_in_a_namespace_and_of_one_object() -> None:
    assert WIDGETS.collection() == "/apis/example.com/v1/widgets"
    assert WIDGETS.collection("staging") == "/apis/example.com/v1/namespaces/staging/widgets"
    assert PODS.item("staging", "web-1") == "/api/v1/namespaces/staging/pods/web-1"
    assert (WIDGETS.label_selector, PODS.label_selector) == ("tier=gold", None)


def test_a_key_comes_from_the_kind_and_the_objects_metadata() -> None:
    key = ObjectKey.of("Widget", {"metadata": {"name": "a", "namespace": "staging"}})
    assert key == ObjectKey("Widget", "staging", "a")
    assert str(key) == "Widget staging/a"
    assert ObjectKey.of("Namespace", {"metadata": {"name": "staging"}}).namespace == ""


def test_generation_is_an_int_or_none() -> None:
    assert generation({"metadata": {"generation": "3"}}) == 3
    assert generation({"metadata": {}}) is None
    assert generation(None) is None


LAST_APPLIED_COPY = {"kubectl.kubernetes.io/last-applied-configuration": '{"a whole": "copy"}'}


def served(**fields: object) -> KubeObject:
    """An object as the API server returns it, with the metadata no reader looks at."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "staging",
            "uid": "u-1",
            "resourceVersion": "7",
            "generation": 3,
            "labels": {"app": "web"},
            "annotations": {"team": "shop", **LAST_APPLIED_COPY},
            "finalizers": ["platform.internal/cleanup"],
            "managedFields": [{"manager": "argocd", "fieldsV1": {"f:spec": {}}}],
            "ownerReferences": [{"kind": "Application", "name": "web"}],
        },
        **fields,
    }


KEPT_META = {
    "name": "web",
    "namespace": "staging",
    "uid": "u-1",
    "resourceVersion": "7",
    "generation": 3,
    "labels": {"app": "web"},
    "annotations": {"team": "shop"},
    "finalizers": ["platform.internal/cleanup"],
}


def test_trimming_drops_managed_fields_owner_references_and_the_last_applied_copy() -> None:
    spec, status = {"replicas": 2, "template": {"spec": {}}}, {"phase": "Running"}
    obj = served(spec=spec, status=status)
    assert trimmed(obj, None) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": KEPT_META,
        "spec": spec,
        "status": status,
    }
    assert "managedFields" in obj["metadata"]  # the original is left as it is
    assert obj["metadata"]["annotations"] == {"team": "shop", **LAST_APPLIED_COPY}


def test_trimming_keeps_only_the_named_fields_and_fields_of_fields() -> None:
    obj = served(
        spec={"replicas": 2, "template": {"spec": {"containers": []}}},
        status={"availableReplicas": 1, "conditions": [{"type": "Available"}]},
        data={"password": "c2VjcmV0"},
    )
    kept = ("spec.replicas", "status.availableReplicas", "status.updatedReplicas", "data")
    assert trimmed(obj, kept) == {
        "metadata": KEPT_META,
        "spec": {"replicas": 2},
        "status": {"availableReplicas": 1},
        "data": {"password": "c2VjcmV0"},
    }


def test_trimming_to_metadata_only_and_of_objects_missing_what_is_kept() -> None:
    obj = served(data={"password": "c2VjcmV0"})
    assert trimmed(obj, ()) == {"metadata": KEPT_META}
    bare: KubeObject = {"metadata": {"name": "web"}}
    assert trimmed(bare, ("spec.replicas", "status.availableReplicas", "data")) == bare
    assert trimmed({"metadata": {"name": "web"}, "status": None}, ("status.x",)) == bare
