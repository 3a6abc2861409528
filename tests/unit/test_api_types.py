"""The dashboard API's types (plattr/api.py): what the server encodes is what clients decode."""

from __future__ import annotations

from typing import get_args

import msgspec

from plattr import api, models


def test_an_api_phase_is_a_resource_phase_or_unknown() -> None:
    assert set(get_args(api.Phase)) == {*get_args(models.Phase), "Unknown"}


def test_fields_are_camel_case_on_the_wire_and_decode_back() -> None:
    summary = api.PreviewSummary(
        kind="PreviewEnvironment",
        namespace="preview-shop-pr-7",
        name="shop-pr-7",
        app="shop",
        environment="pr-7",
        phase="Running",
        image_ref="registry.example.com/shop:shop-abc1234",
        failing=(api.ConditionOut(type="AuthReady", status="False", reason="Waiting"),),
        pull_request=7,
        seconds_left=3600,
    )
    wire = msgspec.json.decode(msgspec.json.encode(api.PreviewList(items=(summary,))))
    (item,) = wire["items"]
    assert {"imageRef", "pullRequest", "secondsLeft", "argocdUrl", "updatedAt"} <= set(item)
    assert item["failing"][0]["lastTransitionTime"] is None
    decoded = msgspec.json.decode(msgspec.json.encode(wire), type=api.PreviewList)
    assert decoded.items == (summary,)


def test_a_client_ignores_fields_a_newer_server_adds() -> None:
    body = b'{"items": [], "remainingItemCount": 3}'
    assert msgspec.json.decode(body, type=api.ApplicationList) == api.ApplicationList(items=())
