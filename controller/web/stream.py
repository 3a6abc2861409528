"""The live stream: cache changes to Applications and PreviewEnvironments, as server-sent
events, to every open page and `plattr status --watch`.

The cache tells `ChangeHub` each changed key on a reflector thread; the hub hands it to the
event loop of each subscriber. A subscriber that falls behind gets one `reset` event (load
everything again) instead of an unbounded queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Final

import msgspec

from controller.kinds import PLATTR_KINDS
from controller.machinery.cache import ObjectCache
from controller.machinery.objects import ObjectKey
from plattr.api import STREAM_DELETE, STREAM_RESET, STREAM_UPSERT, ApplicationSummary, Removed

QUEUE_SIZE: Final = 256
KEEPALIVE_SECONDS: Final = 15.0
RESET: Final = ObjectKey("", "", "")
"""Queued instead of keys once a subscriber's queue is full."""
WATCHED: Final = frozenset(kind.name for kind in PLATTR_KINDS)


class Subscription:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[ObjectKey] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, key: ObjectKey) -> None:
        """On the event loop: queue `key`, or empty the queue for one RESET when full."""
        if self.queue.full():
            while not self.queue.empty():
                self.queue.get_nowait()
            key = RESET
        self.queue.put_nowait(key)


class ChangeHub:
    """Fans the cache's changes out to subscribers on their event loops."""

    def __init__(self, cache: ObjectCache) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        cache.subscribe(self._changed)

    def _changed(self, key: ObjectKey) -> None:
        if key.kind not in WATCHED:
            return
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, key)
            except RuntimeError:  # its loop has closed; it unsubscribes itself
                continue

    def subscribe(self) -> Subscription:
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.remove(subscription)

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscriptions)


Render = Callable[[ObjectKey], ApplicationSummary | None]
"""The current summary of a key, or None once the object is gone."""


async def sse(
    hub: ChangeHub,
    render: Render,
    wanted: Callable[[ObjectKey], bool],
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[str]:
    """`upsert` (the object's summary), `delete` (its key) and `reset` events, with a
    comment every `keepalive` seconds so proxies keep the connection open."""
    subscription = hub.subscribe()
    try:
        yield "retry: 3000\n\n"
        while True:
            try:
                key = await asyncio.wait_for(subscription.queue.get(), keepalive)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if key == RESET:
                yield f"event: {STREAM_RESET}\ndata: {{}}\n\n"
            elif wanted(key):
                yield frame(key, render(key))
    finally:
        hub.unsubscribe(subscription)


def frame(key: ObjectKey, summary: ApplicationSummary | None) -> str:
    if summary is None:
        gone = msgspec.convert(key._asdict(), Removed)
        return f"event: {STREAM_DELETE}\ndata: {msgspec.json.encode(gone).decode()}\n\n"
    return f"event: {STREAM_UPSERT}\ndata: {msgspec.json.encode(summary).decode()}\n\n"
