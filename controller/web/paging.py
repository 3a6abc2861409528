"""Pages of the API's sorted lists, as Kubernetes pages its lists (`limit` and `continue`).

A page is at most `limit` items after the item a `continue` token names. The token is that
item's place in the list's order, `<app>/<environment>/<namespace>` (each part
percent-encoded), not an index: a page asked for after apps came and went neither repeats nor
skips an item that was listed before and is still there, even when the token's own item has
gone. Tokens do not expire, and any string of that form is one (the OpenAPI schema says so with
`CONTINUE_PATTERN`)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, Protocol, TypeVar
from urllib.parse import quote, unquote

_PART: Final = "[A-Za-z0-9._~%-]*"
CONTINUE_PATTERN: Final = f"^{_PART}/{_PART}/{_PART}$"


class Placed(Protocol):
    """What the list is sorted by: `ApplicationSummary` has these, and so has a `Place`."""

    @property
    def app(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def namespace(self) -> str: ...


class Place(NamedTuple):
    """An item's place in the order, as a `continue` token carries it."""

    app: str
    environment: str
    namespace: str


class InvalidContinue(ValueError):
    """A `continue` token this API did not give."""


Item = TypeVar("Item", bound=Placed)
SortKey = Callable[[Placed], tuple[str, int, str, str]]


def token_after(item: Placed) -> str:
    """The `continue` token for the page after `item`."""
    return "/".join(quote(part, safe="") for part in (item.app, item.environment, item.namespace))


def place_of(token: str) -> Place:
    """The place a token names; InvalidContinue when it is not of a token's form."""
    if not re.fullmatch(CONTINUE_PATTERN, token):
        raise InvalidContinue(
            f"continue: {token[:80]!r} is not a token this API gave (pass back the `continue` "
            "of the previous page unchanged, or leave it out for the first page)"
        )
    app, environment, namespace = (unquote(part) for part in token.split("/"))
    return Place(app, environment, namespace)


def page(
    items: Sequence[Item],
    key: SortKey,
    *,
    after: Place | None,
    limit: int,
    wanted: Callable[[Item], bool],
) -> tuple[tuple[Item, ...], str | None]:
    """Up to `limit` wanted items after `after` (all of them when `limit` is 0) from `items`,
    sorted by `key`, and the token for the next page when another wanted item follows."""
    start = 0 if after is None else bisect.bisect_right(items, key(after), key=key)
    chosen: list[Item] = []
    for item in items[start:]:
        if not wanted(item):
            continue
        if limit and len(chosen) == limit:
            return tuple(chosen), token_after(chosen[-1])
        chosen.append(item)
    return tuple(chosen), None
