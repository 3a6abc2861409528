"""The dashboard in headless Chromium (Debian's, driven by Playwright: no browser download)
against a real controller on the real stack: open the board, create an Application, watch
its card turn Running without a reload, open its detail view. Screenshots of the board, the
detail view and the board on a phone are kept in test-artifacts/."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from controller.kinds import APPLICATION
from plattr.naming import Target
from tests.support.controller_harness import TIMEOUT, Harness, rendered, running_controller
from tests.support.dashboard_app import dashboard_url
from tests.support.stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CHROMIUM: Final = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out (closed network here).
CHROMIUM_FLAGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS: Final = Path("test-artifacts")
SPEC: Final = {
    "framework": "nextjs",
    "environment": "staging",
    "imageRef": "registry.example.test/storefront:2.3.0",
    "database": {"enabled": True},
    "auth": {"enabled": True, "providers": ["github"]},
}


@pytest.fixture(scope="module")
def dashboard(stack: LocalStack) -> Iterator[tuple[Harness, str]]:
    with (
        running_controller(stack) as harness,
        dashboard_url(harness.controller.view, stack.kube_api_client) as url,
    ):
        yield harness, url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    expect.set_options(timeout=TIMEOUT * 1000)  # the app turns Running when provisioned
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_new_app_turns_running_live_and_opens_its_detail(
    dashboard: tuple[Harness, str], browser: Browser
) -> None:
    harness, url = dashboard
    target = Target(f"web-{uuid.uuid4().hex[:6]}", "staging")
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(TIMEOUT * 1000)
    page.goto(url)
    expect(page.locator("#live")).to_have_text("Live")  # the stream is open
    page.evaluate("window.notReloaded = true")

    harness.apply(rendered(SPEC, target.app))
    card = page.locator(f"#card-Application-staging-{target.app}")
    expect(card.locator(".badge")).to_have_text("Running")
    assert page.evaluate("window.notReloaded") is True
    expect(card.locator("a", has_text="Open app")).to_have_attribute(
        "href", f"https://{target.host('apps.example.test')}"
    )
    shoot(page, "dashboard-board.png")

    card.locator("a", has_text="Details").click()
    expect(page.locator("h1")).to_have_text(target.app)
    conditions = harness.status(APPLICATION, target.namespace, target.app)["conditions"]
    expect(page.locator(".conditions tbody tr")).to_have_count(len(conditions))
    expect(page.locator(".conditions .badge", has_text="False")).to_have_count(0)
    expect(page.locator(".timeline")).to_contain_text("PhaseRunning")
    expect(page.locator(".secrets")).to_contain_text(target.secret_name("db"))
    shoot(page, "dashboard-detail.png")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.goto(url)
    expect(phone.locator(f"#card-Application-staging-{target.app}")).to_be_visible()
    shoot(phone, "dashboard-phone.png")
