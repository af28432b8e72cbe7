"""Sharing in a real browser: a bad form says what is wrong beside the field; an industry member
shares a report at TLP:GREEN through the preview, and a national CERT finds it. Screenshots are
saved under the test's output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.serving import serving
from tests.factories import World
from tests.web.signing_in import email_of, with_password
from tests.web.test_browser import browser_page, sign_in_as  # noqa: F401  (the fixture)


@pytest.mark.sqlite_only  # what the browser sees does not depend on the database
def test_share_at_green_as_industry_and_find_it_as_a_national_cert(  # type: ignore[no-untyped-def]
    world: World,
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    sharer = world.user(world.member("Pipeline operator", kind="industry"))
    cert = world.user(world.member("CERT-EU", kind="national-cert"))
    for user in (sharer, cert):
        with_password(world, user)
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, email_of(world, sharer))
        page.get_by_role("link", name="Share").click()
        page.wait_for_url(url + "/share")
        page.get_by_label("Title", exact=True).fill(
            "Green phishing wave"
        )  # required: the browser says so
        page.get_by_label("Indicators", exact=False).fill("198.51.100.61\nnot a value")
        with page.expect_navigation():  # the old page is still there until the new one loads
            page.get_by_role("button", name="Preview").click()
        error = page.locator("#values-error")
        assert "not a value" in error.inner_text()
        assert (
            page.get_by_label("Indicators", exact=False).get_attribute("aria-describedby")
            == "values-error"
        )
        page.screenshot(path=str(tmp_path / "share-errors.png"), full_page=True)

        page.get_by_label("Description", exact=True).fill(
            "Seen by jane.doe@pipeline.example on fs01.corp.local"
        )
        page.get_by_label("Indicators", exact=False).fill("198.51.100.61\nbad-domain.example")
        page.get_by_label("TLP", exact=True).select_option("green")
        page.get_by_label("Distribution", exact=True).select_option("community")
        with page.expect_navigation():  # the old page is still there until the new one loads
            page.get_by_role("button", name="Preview").click()
        expect(page.get_by_text("2 indicators found")).to_be_visible()
        assert "jane.doe" not in page.locator(".sanitized").inner_text()
        page.screenshot(path=str(tmp_path / "share-preview.png"), full_page=True)
        page.get_by_role("button", name="Share", exact=True).click()
        page.wait_for_url(url + "/reports/report--*")
        expect(page.get_by_role("heading", name="Green phishing wave")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, email_of(world, cert))
        page.goto(url + "/reports")
        page.get_by_role("link", name="Green phishing wave").click()
        main = page.locator("main").inner_text()
        assert "198.51.100.61" in main and "TLP:GREEN" in main and "jane.doe" not in main
        page.screenshot(path=str(tmp_path / "cert-finds-it.png"), full_page=True)
