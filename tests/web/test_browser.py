"""The web application in a real browser (Debian's chromium, driven by Playwright): sign in by
keyboard, see the dashboard's charts, sign out. Screenshots of each page are saved under the
test's output folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.serving import serving
from tests.conftest import IN_CI
from tests.dashboard.test_figures import dated
from tests.factories import World, indicator, report
from tests.web.signing_in import PASSWORD, email_of, with_password

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


@pytest.mark.sqlite_only  # what the browser sees does not depend on the database
def test_sign_in_by_keyboard_see_the_dashboard_and_sign_out(  # type: ignore[no-untyped-def]
    world: World, app, browser_page, tmp_path: Path
) -> None:
    user = world.user(world.member("Grid operator", country="DE", sectors=["Energy"]))
    with_password(world, user)
    ioc = dated(indicator("198.51.100.41", tlp="amber"), 1)
    shared = dated(report([ioc["id"]], name="Amber report", tlp="amber"), 1)
    assert user.share(shared, ioc).status_code == 201
    page = browser_page
    with serving(app) as url:
        page.goto(url + "/")
        assert page.url == url + "/login"  # not signed in: the sign-in page
        page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
        # By keyboard only: Tab to each field, type, Enter.
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "email"
        page.keyboard.type(email_of(world, user))
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        assert page.locator("svg[role=img]").count() == 10
        expect(page.get_by_text("Amber report")).to_be_visible()
        badge = page.locator(".page-tlp .tlp")
        assert badge.inner_text() == "TLP:AMBER"
        # The stylesheet applied (no inline style is allowed): TLP:AMBER's FIRST colour on black.
        assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(255, 192, 0)"
        assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)"
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        page.get_by_role("link", name="Reports").click()
        page.wait_for_url(url + "/reports")
        page.get_by_role("link", name="Amber report").click()
        expect(page.get_by_role("heading", name="Amber report")).to_be_visible()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(url + "/login")
        page.goto(url + "/")
        assert page.url == url + "/login"
        page.screenshot(path=str(tmp_path / "signed-out.png"), full_page=True)


def sign_in_as(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def texts(page, url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What the user reads on each page (the visible text, charts' tables included)."""
    seen = {}
    for path in ("/", "/reports", "/search?q=Crimson", "/search?q=203.0.113.201&mode=value"):
        page.goto(url + path)
        seen[path] = page.locator("main").inner_text()
    page.goto(url + "/lookup")
    page.get_by_label("Values, one a line", exact=False).fill("203.0.113.201")
    with page.expect_navigation():  # the old page is still there until the new one loads
        page.get_by_role("button", name="Look up").click()
    seen["/lookup"] = page.locator("main").inner_text()
    return seen


@pytest.mark.sqlite_only
def test_a_red_group_report_leaves_no_trace_for_a_member_outside_the_group(  # type: ignore[no-untyped-def]
    world: World, app, browser_page, tmp_path: Path
) -> None:
    industry, cert, outsider = (world.member(n) for n in ("Grid", "CERT", "Outsider"))
    sharer, partner, stranger = world.user(industry), world.user(cert), world.user(outsider)
    for user in (partner, stranger):
        with_password(world, user)
    group = world.group([industry, cert])
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, email_of(world, stranger))
        before = texts(page, url)
        ioc = dated(indicator("203.0.113.201", tlp="red", distribution="group", group=group), 1)
        red = dated(report([ioc["id"]], name="Crimson", tlp="red", distribution="group",
                           group=group), 1)  # fmt: skip
        assert sharer.share(red, ioc).status_code == 201
        after = texts(page, url)
        assert after == before
        for path, text in after.items():
            shown = text.replace("TLP:RED", "", 1) if path == "/reports" else text  # the filter
            assert "Crimson" not in text and "TLP:RED" not in shown, (path, text)
        page.goto(url + f"/reports/{red['id']}")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        page.screenshot(path=str(tmp_path / "outsider-report.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, email_of(world, partner))  # in the group: sees it everywhere
        seen = texts(page, url)
        for path in ("/", "/reports", "/search?q=Crimson", "/lookup"):
            assert "Crimson" in seen[path] and "TLP:RED" in seen[path], path
        page.goto(url + "/")
        page.screenshot(path=str(tmp_path / "partner-dashboard.png"), full_page=True)
