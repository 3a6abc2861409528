"""The object cache: stores and replaces whole objects, reports what a fresh list changed
(deletions included, unchanged versions not), tells listeners after each change, and knows
which scopes have been listed."""

from __future__ import annotations

from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ApiResource, KubeObject, ObjectKey


def obj(name: str, version: str, namespace: str = "staging") -> KubeObject:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": version}}


def key(name: str, namespace: str = "staging") -> ObjectKey:
    return ObjectKey("Widget", namespace, name)


def test_put_returns_the_version_it_replaced_and_remove_what_it_removed() -> None:
    cache = ObjectCache()
    assert cache.put(key("a"), obj("a", "1")) is None
    assert cache.put(key("a"), obj("a", "2")) == obj("a", "1")
    assert cache.get(key("a")) == obj("a", "2")
    assert cache.remove(key("a")) == obj("a", "2")
    assert cache.get(key("a")) is None
    assert cache.remove(key("a")) is None


def test_objects_keys_and_count_by_kind_and_namespace() -> None:
    cache = ObjectCache()
    cache.put(key("a"), obj("a", "1"))
    cache.put(key("b", "production"), obj("b", "1", "production"))
    cache.put(ObjectKey("Gadget", "staging", "c"), obj("c", "1"))
    assert sorted(o["metadata"]["name"] for o in cache.objects("Widget")) == ["a", "b"]
    assert [o["metadata"]["name"] for o in cache.objects("Widget", "production")] == ["b"]
    assert sorted(cache.keys("Widget")) == [key("b", "production"), key("a")]
    assert (cache.count("Widget"), cache.count("Gadget"), cache.count("Nothing")) == (2, 1, 0)


def test_a_fresh_list_reports_only_what_changed_and_drops_what_is_gone() -> None:
    cache = ObjectCache()
    cache.put(key("same"), obj("same", "1"))
    cache.put(key("changed"), obj("changed", "1"))
    cache.put(key("gone"), obj("gone", "1"))
    changes = cache.replace(
        "Widget",
        [
            (key("same"), obj("same", "1")),
            (key("changed"), obj("changed", "2")),
            (key("new"), obj("new", "1")),
        ],
    )
    assert changes == [
        (key("changed"), obj("changed", "1"), obj("changed", "2")),
        (key("new"), None, obj("new", "1")),
        (key("gone"), obj("gone", "1"), None),
    ]
    assert cache.get(key("gone")) is None


def test_a_namespaced_list_leaves_other_namespaces_alone() -> None:
    cache = ObjectCache()
    cache.put(key("a"), obj("a", "1"))
    cache.put(key("b", "production"), obj("b", "1", "production"))
    assert cache.replace("Widget", [], namespace="staging") == [(key("a"), obj("a", "1"), None)]
    assert cache.get(key("b", "production")) == obj("b", "1", "production")


def test_synced_once_every_scope_was_listed() -> None:
    cache = ObjectCache()
    assert not cache.synced(["Widget", "Gadget/staging"])
    cache.replace("Widget", [])
    assert not cache.synced(["Widget", "Gadget/staging"])
    cache.replace("Gadget", [], namespace="staging")
    assert cache.synced(["Widget", "Gadget/staging"])
    assert not cache.synced(["Gadget/production"])


def test_listeners_hear_every_change_after_it_is_made_until_they_unsubscribe() -> None:
    cache = ObjectCache()
    heard: list[tuple[ObjectKey, KubeObject | None]] = []

    def listener(changed: ObjectKey) -> None:
        heard.append((changed, cache.get(changed)))  # the change is visible already

    cache.subscribe(listener)
    cache.put(key("a"), obj("a", "1"))
    cache.replace("Widget", [(key("b"), obj("b", "1"))])
    cache.unsubscribe(listener)
    cache.remove(key("b"))
    assert heard == [
        (key("a"), obj("a", "1")),
        (key("b"), obj("b", "1")),
        (key("a"), None),
    ]


def test_objects_of_the_kinds_it_was_given_are_stored_trimmed_others_as_they_come() -> None:
    rollout = ApiResource("Widget", "/apis/example.com/v1", "widgets", kept=("status.ready",))
    cache = ObjectCache([rollout])
    heavy = {
        "metadata": {"name": "a", "namespace": "staging", "managedFields": [{"manager": "x"}]},
        "spec": {"template": {}},
        "status": {"ready": 1, "conditions": []},
    }
    lean = {"metadata": {"name": "a", "namespace": "staging"}, "status": {"ready": 1}}
    cache.put(key("a"), heavy)
    assert cache.get(key("a")) == lean
    fresh = {**heavy, "metadata": {"name": "b", "resourceVersion": "2"}}
    changes = cache.replace("Widget", [(key("b"), fresh)])
    assert cache.get(key("b")) == {**lean, "metadata": fresh["metadata"]}
    assert [new for _, _, new in changes if new is not None] == [cache.get(key("b"))]
    gadget = ObjectKey("Gadget", "staging", "c")
    cache.put(gadget, heavy)
    assert cache.get(gadget) == heavy
