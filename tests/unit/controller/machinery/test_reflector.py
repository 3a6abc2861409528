"""List then watch: events reach the cache and the handler; a 410 re-lists and reports what
changed in between (deletions included); errors back off instead of spinning."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from controller.machinery.backoff import Backoff
from controller.machinery.cache import ObjectCache
from controller.machinery.kube import KubeError
from controller.machinery.objects import ApiResource, KubeObject, ObjectKey
from controller.machinery.reflector import Reflector

APPLICATION = ApiResource("Application", "/apis/example.com/v1", "applications")


class ScriptedKube:
    """A Kubernetes API whose list answers and watch streams are scripted per call:
    `lists` and `watches` are consumed in order; an exception in either is raised."""

    def __init__(
        self, lists: list[KubeObject | Exception], watches: list[list[KubeObject] | Exception]
    ) -> None:
        self.lists = lists
        self.watches = watches
        self.watched_from: list[str] = []

    def list(self, path: str, query: Mapping[str, str | int | bool] | None = None) -> KubeObject:
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def watch(
        self, path: str, query: Mapping[str, str | int | bool], timeout_seconds: int
    ) -> Iterator[KubeObject]:
        self.watched_from.append(str(query["resourceVersion"]))
        events = self.watches.pop(0)
        if isinstance(events, Exception):
            raise events
        yield from events


def gone() -> KubeError:
    return KubeError(410, "Gone", "too old resource version")


def obj(name: str, version: str, generation: int = 1) -> KubeObject:
    return {
        "metadata": {
            "name": name,
            "namespace": "staging",
            "resourceVersion": version,
            "generation": generation,
        }
    }


def listing(version: str, *items: KubeObject) -> KubeObject:
    return {"metadata": {"resourceVersion": version}, "items": list(items)}


def event(kind: str, item: KubeObject) -> KubeObject:
    return {"type": kind, "object": item}


class Recorder:
    def __init__(self, stop: threading.Event, stop_after: int) -> None:
        self.changes: list[tuple[str, str | None, str | None]] = []
        self._stop, self._stop_after = stop, stop_after

    def __call__(self, key: ObjectKey, old: KubeObject | None, new: KubeObject | None) -> None:
        version = lambda o: None if o is None else o["metadata"]["resourceVersion"]  # noqa: E731
        self.changes.append((key.name, version(old), version(new)))
        if len(self.changes) >= self._stop_after:
            self._stop.set()


class CountingBackoff(Backoff):
    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def next(self) -> float:
        self.waits += 1
        return 0.0


def run(
    kube: ScriptedKube, stop_after: int, **kwargs: Any
) -> tuple[ObjectCache, Recorder, CountingBackoff]:
    stop, cache, backoff = threading.Event(), ObjectCache(), CountingBackoff()
    recorder = Recorder(stop, stop_after)
    reflector = Reflector(kube, APPLICATION, cache, recorder, backoff=backoff, **kwargs)  # type: ignore[arg-type]
    reflector.run(stop)
    return cache, recorder, backoff


def test_list_then_watch_from_the_lists_version() -> None:
    kube = ScriptedKube(
        lists=[listing("10", obj("a", "5"))],
        watches=[
            [
                event("ADDED", obj("b", "11")),
                event("MODIFIED", obj("a", "12")),
                event("DELETED", obj("b", "13")),
            ]
        ],
    )
    cache, recorder, _ = run(kube, stop_after=4)
    assert kube.watched_from == ["10"]
    assert recorder.changes == [
        ("a", None, "5"),
        ("b", None, "11"),
        ("a", "5", "12"),
        ("b", "11", None),
    ]
    assert [o["metadata"]["name"] for o in cache.objects("Application")] == ["a"]
    assert cache.synced(["Application"])


def test_after_410_gone_a_fresh_list_reports_what_changed_meanwhile() -> None:
    kube = ScriptedKube(
        lists=[
            listing("10", obj("a", "5"), obj("b", "6")),
            listing("20", obj("a", "15"), obj("c", "16")),
        ],
        watches=[gone(), []],
    )
    cache, recorder, _ = run(kube, stop_after=5)
    assert recorder.changes[2:] == [("a", "5", "15"), ("c", None, "16"), ("b", "6", None)]
    assert sorted(o["metadata"]["name"] for o in cache.objects("Application")) == ["a", "c"]


def test_a_410_inside_the_stream_also_re_lists() -> None:
    error = {"type": "ERROR", "object": {"code": 410, "reason": "Expired", "message": "too old"}}
    kube = ScriptedKube(
        lists=[listing("10"), listing("30", obj("z", "29"))],
        watches=[[error], []],
    )
    _, recorder, _ = run(kube, stop_after=1)
    assert recorder.changes == [("z", None, "29")]


def test_a_broken_watch_resumes_from_the_last_version_seen_after_a_backoff() -> None:
    kube = ScriptedKube(
        lists=[listing("10")],
        watches=[
            [event("ADDED", obj("a", "11"))],
            KubeError(0, "Unreachable", "connection reset"),
            [event("MODIFIED", obj("a", "12"))],
        ],
    )
    _, recorder, backoff = run(kube, stop_after=2, watch_seconds=300)
    assert kube.watched_from == ["10", "11", "11"]
    assert recorder.changes == [("a", None, "11"), ("a", "11", "12")]
    assert backoff.waits >= 1


def test_a_watch_that_ends_at_once_without_events_backs_off() -> None:
    stop = threading.Event()
    kube = ScriptedKube(lists=[listing("10")], watches=[[], [], [event("ADDED", obj("a", "11"))]])
    cache, backoff = ObjectCache(), CountingBackoff()
    reflector = Reflector(
        kube, APPLICATION, cache, Recorder(stop, 1), backoff=backoff, clock=lambda: 0.0
    )  # type: ignore[arg-type]
    reflector.run(stop)
    assert backoff.waits == 2
