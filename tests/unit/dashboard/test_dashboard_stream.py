"""The live stream: cache changes reach subscribers as server-sent events, a slow subscriber
gets one reset instead of a growing queue, and leaving unsubscribes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from benchmarks.dashboard_samples import application, put
from controller.kinds import SECRET
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ObjectKey
from controller.web.project import Projector
from controller.web.stream import QUEUE_SIZE, RESET, ChangeHub, sse


def test_cache_tells_listeners_each_change_and_stops_when_unsubscribed() -> None:
    cache, seen = ObjectCache(), []
    cache.subscribe(seen.append)
    key = put(cache, application("shop"))
    cache.replace(key.kind, [], namespace=None)
    cache.unsubscribe(seen.append)
    put(cache, application("blog"))
    assert seen == [key, key]


async def next_frame(frames: AsyncIterator[str]) -> str:
    return await asyncio.wait_for(anext(frames), 5)


def test_changes_stream_as_upsert_and_delete_events() -> None:
    async def scenario() -> list[str]:
        cache = ObjectCache()
        hub, projector = ChangeHub(cache), Projector(cache, "apps.example.com", None)
        frames = sse(hub, projector.summary, lambda key: key.name != "ignored")
        assert await next_frame(frames) == "retry: 3000\n\n"
        key = put(cache, application("ignored"))  # filtered out: no frame
        key = put(cache, application("shop"))
        cache.put(ObjectKey(SECRET.name, "staging", "shop-db"), {"metadata": {}})  # not watched
        got = [await next_frame(frames)]
        cache.remove(key)
        got.append(await next_frame(frames))
        assert len(hub) == 1
        await frames.aclose()
        assert len(hub) == 0
        return got

    upsert, delete = asyncio.run(scenario())
    assert upsert.startswith("event: upsert\ndata: ")
    assert json.loads(upsert.split("data: ", 1)[1])["name"] == "shop"
    assert delete.startswith("event: delete\ndata: ")
    assert json.loads(delete.split("data: ", 1)[1]) == {
        "kind": "Application",
        "namespace": "staging",
        "name": "shop",
    }


def test_a_subscriber_that_falls_behind_gets_one_reset() -> None:
    async def scenario() -> list[ObjectKey]:
        cache = ObjectCache()
        hub = ChangeHub(cache)
        subscription = hub.subscribe()
        for n in range(QUEUE_SIZE + 5):
            put(cache, application(f"app-{n}"))
        await asyncio.sleep(0.01)  # let the loop run the handed-over callbacks
        queued = []
        while not subscription.queue.empty():
            queued.append(subscription.queue.get_nowait())
        return queued

    queued = asyncio.run(scenario())
    assert RESET in queued
    assert len(queued) < QUEUE_SIZE


def test_keepalive_comment_when_nothing_changes() -> None:
    async def scenario() -> str:
        cache = ObjectCache()
        frames = sse(ChangeHub(cache), lambda key: None, lambda key: True, keepalive=0.01)
        await next_frame(frames)
        frame = await next_frame(frames)
        await frames.aclose()
        return frame

    assert asyncio.run(scenario()) == ": keepalive\n\n"
