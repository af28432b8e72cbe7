"""Asking for help in a real browser (Debian's chromium, driven by Playwright): an industry
member files a request through the preview, keyboard first; the national CERT coordinating it
finds it and tasks the proposed forensics lab, which accepts; a bystander finds nothing.
Screenshots of each page are saved under the test's output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.serving import serving
from tests.incidents import conftest as incident_fixtures
from tests.incidents.conftest import Cast
from tests.web.signing_in import email_of, with_password
from tests.web.test_browser import browser_page, sign_in_as  # noqa: F401  (the fixture)

cast, clock = incident_fixtures.cast, incident_fixtures.clock


@pytest.mark.sqlite_only  # what the browser sees does not depend on the database
def test_file_a_request_and_see_it_answered(  # type: ignore[no-untyped-def]
    cast: Cast,
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    world = cast.world
    people = (cast.requester.analyst, cast.cert.analyst, cast.lab.analyst, cast.outsider.analyst)
    requester, coordinator, lab, bystander = (email_of(world, u) for u in people)
    for user in people:
        with_password(world, user)
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, requester)
        page.get_by_role("link", name="Incidents").click()
        page.wait_for_url(url + "/incidents")
        expect(page.get_by_text("No incidents.")).to_be_visible()
        page.get_by_role("link", name="Ask for assistance").click()
        page.wait_for_url(url + "/incidents/new")
        # By keyboard from the title on: Tab moves field to field in reading order.
        page.get_by_label("Title").focus()
        page.keyboard.type("Substation HMI wiped")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "description"
        page.keyboard.type(
            "Wiper on the HMI; ask mari.maasikas@grid.example, host hmi01.corp.local"
        )
        page.keyboard.press("Tab")  # into the severity radios: arrows choose
        assert page.evaluate("document.activeElement.name") == "severity"
        page.get_by_label("high", exact=True).check()
        page.get_by_label("TLP", exact=True).select_option("amber")
        page.get_by_label("Countries hit", exact=False).fill("Estonia")
        with page.expect_navigation():  # the old page is still there until the new one loads
            page.get_by_role("button", name="Preview").click()
        error = page.locator("#countries-error")
        assert "Estonia" in error.inner_text()
        assert "countries-error" in page.get_by_label("Countries hit", exact=False).get_attribute(
            "aria-describedby"
        )
        page.get_by_label("Countries hit", exact=False).fill("EE")
        page.get_by_label("Sectors hit", exact=False).fill("Energy")
        page.get_by_label("forensics").check()
        with page.expect_navigation():  # the old page is still there until the new one loads
            page.get_by_role("button", name="Preview").click()
        preview = page.locator("#preview-description").inner_text()
        assert "mari.maasikas" not in preview and "[EMAIL-1]" in preview
        assert "CERT-EE" in page.locator("section[aria-labelledby=preview]").inner_text()
        page.screenshot(path=str(tmp_path / "incident-preview.png"), full_page=True)
        page.get_by_role("button", name="File the request").click()
        page.wait_for_url(url + "/incidents/*")
        incident_url = page.url
        expect(page.get_by_role("heading", name="Substation HMI wiped")).to_be_visible()
        banner = page.locator(".tlp-banner")
        assert banner.inner_text().startswith("TLP:AMBER")
        # FIRST TLP 2.0: TLP:AMBER is FFC000 on black, from the stylesheet (no inline style).
        assert banner.evaluate("e => getComputedStyle(e).color") == "rgb(255, 192, 0)"
        assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)"
        proposals = page.locator("section[aria-labelledby=proposals]").inner_text()
        assert "Forensics Lab" in proposals and "covers forensics" in proposals
        assert "mari.maasikas" not in page.locator("main").inner_text()
        page.screenshot(path=str(tmp_path / "incident-requester.png"), full_page=True)
        # Readable on a phone: the page does not scroll sideways (wide tables scroll inside).
        page.set_viewport_size({"width": 390, "height": 844})
        for path in (incident_url, url + "/incidents", url + "/incidents/new"):
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
        page.goto(incident_url)
        page.screenshot(path=str(tmp_path / "incident-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_role("img", name="Incidents filed over time")).to_be_visible()
        page.screenshot(path=str(tmp_path / "incident-dashboard.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, bystander)
        page.goto(url + "/incidents")
        assert "Substation" not in page.locator("main").inner_text()
        page.goto(incident_url)
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, coordinator)
        page.goto(url + "/incidents")
        page.get_by_role("link", name="Substation HMI wiped").click()
        page.get_by_role("button", name="Task Forensics Lab").click()
        expect(page.get_by_text("Responder tasked")).to_be_visible()
        page.screenshot(path=str(tmp_path / "incident-coordinator.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, lab)
        page.goto(url + "/incidents?role=responder")
        page.get_by_role("link", name="Substation HMI wiped").click()
        page.get_by_label("Reason (needed to decline)").fill("Two analysts from Tartu")
        page.get_by_label("Reason (needed to decline)").press("Tab")
        page.keyboard.press("Enter")  # Accept, by keyboard
        page.wait_for_url("**/incidents/*?done=accepted")
        expect(page.get_by_text("You accepted the tasking.")).to_be_visible()
        responders = page.locator("section[aria-labelledby=responders]").inner_text()
        assert "accepted" in responders and "Two analysts from Tartu" in responders
        page.screenshot(path=str(tmp_path / "incident-responder.png"), full_page=True)


@pytest.mark.sqlite_only
def test_the_work_on_an_incident_by_keyboard(  # type: ignore[no-untyped-def]
    cast: Cast,
    app,
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The requester opens the folded form by keyboard and widens what it asks for, gives a
    task to one of its own people, and the coordinator lets a tasked responder go."""
    world = cast.world
    incident = cast.file(title="Historian encrypted")["id"]
    tasked = cast.cert.analyst.post(
        f"/api/v1/incidents/{incident}/taskings", json={"member_id": cast.lab.member_id}
    )
    assert tasked.status_code == 201, tasked.text
    requester, coordinator = (email_of(world, u) for u in (cast.requester.analyst,
                                                           cast.cert.analyst))  # fmt: skip
    for user in (cast.requester.analyst, cast.cert.analyst):
        with_password(world, user)
    page = browser_page
    with serving(app) as url:
        sign_in_as(page, url, requester)
        page.goto(url + f"/incidents/{incident}")
        summary = page.get_by_text("Change what was filed")
        expect(page.get_by_label("Services hit")).to_be_hidden()  # folded away
        summary.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_label("Services hit")).to_be_visible()
        page.get_by_label("Services hit").focus()
        page.keyboard.type("historian")
        page.get_by_label("ot-ics", exact=True).focus()
        page.keyboard.press("Space")  # tick: OT skills are needed too
        with page.expect_navigation():
            page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("Saved; a new severity")).to_be_visible()
        facts = page.locator("dl.facts").inner_text()
        assert "historian" in facts and "ot-ics" in facts

        page.get_by_label("Task", exact=True).fill("Collect the historian's logs")
        page.get_by_label("Person", exact=False).select_option(label=requester)
        page.get_by_label("Due (UTC)").fill("2026-03-03T12:00")
        with page.expect_navigation():
            page.get_by_role("button", name="Give the task").click()
        tasks = page.locator("section[aria-labelledby=tasks] table")
        expect(tasks).to_contain_text(f"Grid EE: {requester}")
        page.screenshot(path=str(tmp_path / "incident-work-requester.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()

        sign_in_as(page, url, coordinator)
        page.goto(url + f"/incidents/{incident}")
        expect(page.locator("dl.facts")).to_contain_text("ot-ics")
        page.get_by_label("Why Forensics Lab is let go").fill("Needs OT skills instead")
        with page.expect_navigation():
            page.get_by_role("button", name="Release Forensics Lab").click()
        expect(page.get_by_text("Responder released")).to_be_visible()
        expect(page.locator("section[aria-labelledby=responders]")).to_contain_text("released")
        page.screenshot(path=str(tmp_path / "incident-work-coordinator.png"), full_page=True)
