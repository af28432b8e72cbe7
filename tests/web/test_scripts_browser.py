"""The pages' scripts in a real browser (Debian's chromium, driven by Playwright): a sighting
recorded in one click without a reload, focus kept; a long upload on /share showing its progress
and its outcome without leaving the page; and the same pages doing the same work with JavaScript
switched off. Screenshots are saved under the test's output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from tests.api.serving import serving
from tests.factories import World, bundle, indicator, report
from tests.web.signing_in import email_of, with_password
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, browser_page, sign_in_as  # noqa: F401

# Steps the upload's status line went through, kept by the page itself as they happen.
WATCH_PROGRESS = """() => {
  window.steps = [];
  const text = document.getElementById("upload-progress-text");
  new MutationObserver(() => window.steps.push(text.textContent))
    .observe(text, {childList: true, characterData: true, subtree: true});
  window.sameDocument = true;
}"""
# htmx keeps its state on each element it took over; until it has, a click submits the form as
# a page without scripts would (a whole new page), which a test pressing right after the load
# event, or right after a swap brought a new row (and form), can beat on a busy machine.
HTMX_READY = "() => 'htmx-internal-data' in (document.querySelector('form.seen') || {})"


def open_report(page, url: str, report_id: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + f"/reports/{report_id}")
    page.wait_for_function(HTMX_READY)


def many_indicators(n: int, name: str) -> dict[str, Any]:
    iocs = [indicator(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", tlp="green") for i in range(n)]
    shared = report([i["id"] for i in iocs], name=name, tlp="green")
    return bundle(shared, *iocs)


def green_report(world: World, member: str, value: str) -> tuple[Any, dict[str, Any], str]:
    """A user with a password, and a TLP:GREEN report of one indicator it shared."""
    user = world.user(world.member(member))
    with_password(world, user)
    ioc = indicator(value, tlp="green")
    shared = report([ioc["id"]], name=f"Report on {value}", tlp="green")
    assert user.share(shared, ioc).status_code == 201
    return user, ioc, shared["id"]


@pytest.mark.sqlite_only  # what the browser sees does not depend on the database
def test_a_sighting_in_one_click_without_a_reload(  # type: ignore[no-untyped-def]
    world: World,
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    user, ioc, report_id = green_report(world, "Water utility", "198.51.100.77")
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, email_of(world, user))
        open_report(page, url, report_id)
        page.evaluate("window.sameDocument = true")
        button = page.get_by_role("button", name="Seen 198.51.100.77 here")
        button.focus()
        page.keyboard.press("Enter")  # by keyboard, as anyone may
        expect(page.locator("#seen-status")).to_have_text("Recorded a sighting of 198.51.100.77.")
        row = page.locator(f"[id='row-{ioc['id']}']")
        expect(row.locator("td").nth(4)).to_have_text("1")  # the Seen column, recounted
        assert page.evaluate("window.sameDocument") is True  # no reload
        assert page.url == url + f"/reports/{report_id}"
        assert page.evaluate("document.activeElement.id") == "seen-1-1"  # focus kept
        page.wait_for_function(HTMX_READY)  # the row came back new: its form too
        page.keyboard.press("Enter")  # again: the button is still there and in focus
        expect(row.locator("td").nth(4)).to_have_text("2")
        page.screenshot(path=str(tmp_path / "report-seen.png"), full_page=True)
        # A refusal (here a value tampered with in the page) is said in words, the row kept.
        page.wait_for_function(HTMX_READY)
        page.locator("form.seen input[name=value]").evaluate("e => e.value = 'not a value'")
        button.click()
        expect(page.locator("#seen-status")).to_contain_text("Not done: Not recorded")
        expect(row.locator("td").nth(4)).to_have_text("2")
        assert page.evaluate("window.sameDocument") is True
    seen = user.get("/api/v1/sightings", params={"value": "198.51.100.77"}).json()
    assert seen["seen"] == 2


@pytest.mark.sqlite_only
def test_a_sighting_after_the_session_ended_opens_the_sign_in_page(  # type: ignore[no-untyped-def]
    world: World,
    app,
    browser_page,  # noqa: F811
) -> None:
    user, _, report_id = green_report(world, "Rail operator", "198.51.100.78")
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, email_of(world, user))
        open_report(page, url, report_id)
        page.context.clear_cookies()  # as when the session ends on the server
        page.get_by_role("button", name="Seen 198.51.100.78 here").click()
        page.wait_for_url(url + "/login")  # not the sign-in form swapped into the table
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    seen = user.get("/api/v1/sightings", params={"value": "198.51.100.78"}).json()
    assert seen["seen"] == 0


@pytest.mark.sqlite_only
def test_a_long_upload_shows_its_progress_and_its_outcome(  # type: ignore[no-untyped-def]
    world: World,
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    user = world.user(world.member("Telecom operator"))
    with_password(world, user)
    big = tmp_path / "big.json"
    big.write_bytes(orjson.dumps(many_indicators(12_000, "Twelve thousand")))
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"type": "bundle", "objects": [{"type": "x"}]}))
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, email_of(world, user))
        page.goto(url + "/share")
        page.evaluate(WATCH_PROGRESS)
        page.get_by_label("STIX 2.1 bundle", exact=False).set_input_files(str(bad))
        page.get_by_role("button", name="Upload and share").click()
        error = page.locator("#file-error")
        expect(error).to_contain_text("bundle rejected")
        field = page.get_by_label("STIX 2.1 bundle", exact=False)
        assert field.get_attribute("aria-describedby") == "file-error"
        assert field.get_attribute("aria-invalid") == "true"

        field.set_input_files(str(big))
        page.get_by_role("button", name="Upload and share").click()
        expect(page.locator("#upload-progress")).to_be_visible()
        page.screenshot(path=str(tmp_path / "share-upload-progress.png"), full_page=True)
        done = page.locator("#uploaded")
        expect(done).to_have_text("Stored 12001 objects (0 already here).", timeout=120_000)
        expect(page.locator("#upload-progress")).to_be_hidden()
        expect(error).to_have_count(0)  # the earlier mistake is gone
        steps = page.evaluate("window.steps")
        assert page.evaluate("window.sameDocument") is True  # no page was loaded
        assert any(s.startswith("Uploading") for s in steps), steps
        assert any(s.startswith("Received") for s in steps), steps
        page.screenshot(path=str(tmp_path / "share-upload-done.png"), full_page=True)
        page.goto(url + "/reports")
        expect(page.get_by_role("link", name="Twelve thousand")).to_be_visible()


@pytest.mark.sqlite_only
def test_without_javascript_the_same_work_is_done_by_plain_forms(  # type: ignore[no-untyped-def]
    world: World, app, tmp_path: Path
) -> None:
    import os

    from tests.conftest import IN_CI

    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    user, _, report_id = green_report(world, "Port authority", "198.51.100.79")
    small = tmp_path / "small.json"
    small.write_bytes(orjson.dumps(many_indicators(3, "Three without script")))
    with sync_playwright() as pw, serving(app) as url:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            sign_in_as(page, url, email_of(world, user))
            page.goto(url + f"/reports/{report_id}")
            with page.expect_navigation():
                page.get_by_role("button", name="Seen 198.51.100.79 here").click()
            expect(page.locator("#seen-status")).to_have_text(
                "Recorded a sighting of 198.51.100.79."
            )
            assert "?seen=" in page.url  # a whole new page, as any form gives
            page.goto(url + "/share")
            page.get_by_label("STIX 2.1 bundle", exact=False).set_input_files(str(small))
            with page.expect_navigation():
                page.get_by_role("button", name="Upload and share").click()
            expect(page.locator("#uploaded")).to_have_text("Stored 4 objects (0 already here).")
            expect(page.locator("#upload-progress")).to_be_hidden()
            page.screenshot(path=str(tmp_path / "share-upload-no-script.png"), full_page=True)
        finally:
            browser.close()
    seen = user.get("/api/v1/sightings", params={"value": "198.51.100.79"}).json()
    assert seen["seen"] == 1
