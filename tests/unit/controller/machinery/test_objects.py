"""Objects as the machinery sees them: a resource's paths, an object's key, its generation."""

from __future__ import annotations

from controller.machinery.objects import ApiResource, ObjectKey, generation

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
