"""Pages of a sorted list: every item once and in order across pages, stable when items come
and go between pages, filters applied before the limit, and tokens checked."""

from __future__ import annotations

import pytest

from controller.web.paging import InvalidContinue, Place, Placed, page, place_of, token_after

ORDER = {"production": 0, "staging": 1}


def key(item: Placed) -> tuple[str, int, str, str]:
    return (item.app, ORDER.get(item.environment, 2), item.environment, item.namespace)


def listing(*apps: str) -> list[Place]:
    return sorted(
        (Place(app, env, env) for app in apps for env in ("staging", "production")), key=key
    )


def every(item: Placed) -> bool:
    return True


def all_pages(items: list[Place], limit: int) -> list[tuple[Place, ...]]:
    pages, after = [], None
    while True:
        found, token = page(items, key, after=after, limit=limit, wanted=every)
        pages.append(found)
        if token is None:
            return pages
        after = place_of(token)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 7])
def test_every_item_once_in_order(limit: int) -> None:
    items = listing("a", "b", "c")
    pages = all_pages(items, limit)
    assert [item for found in pages for item in found] == items
    assert all(len(found) == limit for found in pages[:-1])
    assert 0 < len(pages[-1]) <= limit


def test_limit_zero_is_everything_on_one_page() -> None:
    items = listing("a", "b")
    assert page(items, key, after=None, limit=0, wanted=every) == (tuple(items), None)


def test_no_token_when_the_page_ends_the_list() -> None:
    items = listing("a")
    assert page(items, key, after=None, limit=2, wanted=every) == (tuple(items), None)


def test_the_next_page_starts_after_the_tokens_place_even_when_its_item_is_gone() -> None:
    items = listing("a", "b", "c")
    first, token = page(items, key, after=None, limit=3, wanted=every)
    assert first[-1] == Place("b", "production", "production")
    assert token is not None
    changed = [i for i in items if i != first[-1] and i.app != "a"]
    changed = sorted([*changed, Place("a", "uat", "uat"), Place("bb", "staging", "x")], key=key)
    second, _ = page(changed, key, after=place_of(token), limit=10, wanted=every)
    # what came before the token's place is not repeated; what is after it is listed once
    assert second == (
        Place("b", "staging", "staging"),
        Place("bb", "staging", "x"),
        Place("c", "production", "production"),
        Place("c", "staging", "staging"),
    )


def test_a_filter_applies_before_the_limit_and_a_token_only_when_more_match() -> None:
    items = listing("a", "b", "c")

    def staging(item: Placed) -> bool:
        return item.environment == "staging"

    found, token = page(items, key, after=None, limit=2, wanted=staging)
    assert [i.app for i in found] == ["a", "b"]
    assert token is not None
    rest, last = page(items, key, after=place_of(token), limit=2, wanted=staging)
    assert [i.app for i in rest] == ["c"]
    assert last is None
    exactly, none = page(items, key, after=None, limit=3, wanted=staging)
    assert len(exactly) == 3
    assert none is None


@pytest.mark.parametrize(
    "item", [Place("shop", "staging", "team-staging"), Place("", "a/b", "%2F ü")]
)
def test_a_token_is_the_place_of_the_last_item(item: Place) -> None:
    assert place_of(token_after(item)) == item


@pytest.mark.parametrize("token", ["", "shop/staging", "a/b/c/d", "shop/staging/team staging"])
def test_a_token_this_api_did_not_give_is_refused_with_what_to_do(token: str) -> None:
    with pytest.raises(InvalidContinue, match="leave it out for the first page"):
        place_of(token)
