"""The incident pages, as three members use them (requester, coordinator, responders) beside
those who must see nothing, written first: a member not taking part gets the very 404 page of
an unknown incident, on every page and form, and its list is the same before and after."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.factories import indicator
from tests.incidents import conftest as incident_fixtures
from tests.incidents.conftest import Cast, FakeClock
from tests.web.signing_in import browser, csrf_of, signed_in
from tests.web.test_accessibility import check
from tests.web.test_members_page import _REFERENCE

# The partnership of tests/incidents (requester, national CERT coordinating, responders,
# a bystander) and its hand-moved clock, as fixtures here too.
cast, clock = incident_fixtures.cast, incident_fixtures.clock
INCIDENT_URL = re.compile(r"/incidents/([0-9a-f-]{36})")


def main_of(html: str) -> str:
    return html.split("<main", 1)[1]


def post_form(web: Any, page_url: str, target: str, **fields: Any) -> Any:
    """Post a form of `page_url` to `target`, with the page's CSRF token."""
    token = csrf_of(web.get(page_url).text)
    return web.post(target, data={**fields, "csrf": token})


def file_by_web(web: Any, action: str = "file", **fields: Any) -> Any:
    form = {"title": "Substation HMI wiped", "severity": "high", "tlp": "amber",
            "description": "Wiper on the HMI; ask mari.maasikas@grid.example or call "
                           "+372 5123 4567. Host hmi01.corp.local is gone.",
            "countries": "EE", "sectors": "Energy", "action": action, **fields}  # fmt: skip
    return post_form(web, "/incidents/new", "/incidents/new", **form)


def filed_id(response: Any) -> str:
    assert response.status_code == 303, response.text
    found = INCIDENT_URL.fullmatch(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def tasking_of(cast: Cast, incident_id: str, member_id: str) -> str:
    body = cast.cert.analyst.get(f"/api/v1/incidents/{incident_id}").json()
    return next(t["id"] for t in body["responders"] if t["member"]["id"] == member_id)


def test_members_not_taking_part_get_the_404_of_an_unknown_incident(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    world = cast.world
    strangers = {
        "untasked responder": signed_in(world, app, cast.outsider.analyst),
        "another member's admin": signed_in(world, app, cast.lab.admin),
        "instance admin": signed_in(world, app, cast.instance_admin),
    }
    lists = ("/incidents", "/incidents?status=filed", "/incidents?severity=high",
             "/incidents?role=responder", "/")  # fmt: skip
    before = {name: {u: web.get(u).text for u in lists} for name, web in strangers.items()}
    incident = cast.file(title="Quiet grid outage")["id"]
    cast.cert.analyst.post(
        f"/api/v1/incidents/{incident}/taskings", json={"member_id": cast.malware.member_id}
    )
    tasking = tasking_of(cast, incident, cast.malware.member_id)
    task = cast.cert.analyst.post(f"/api/v1/incidents/{incident}/tasks", json={"title": "Image"})
    assert task.status_code == 201, task.text
    disk = {"name": "disk", "hash": {"algorithm": "md5", "value": "0" * 32}, "location": "safe"}
    held = cast.requester.analyst.post(f"/api/v1/incidents/{incident}/evidence", json=disk)
    assert held.status_code == 201, held.text
    ioc = indicator("203.0.113.195", tlp="green")  # intel every stranger may see
    assert cast.requester.analyst.share(ioc).status_code == 201
    linked = cast.requester.analyst.post(
        f"/api/v1/incidents/{incident}/links", json={"object_ids": [ioc["id"]]}
    )
    assert linked.status_code == 201, linked.text
    linked_id = ioc["id"]
    unknown = str(uuid.uuid4())
    for name, web in strangers.items():
        for url in lists:
            page = web.get(url)
            assert page.status_code == 200 and page.text == before[name][url], (name, url)
            assert "Quiet grid outage" not in page.text
        nothing = web.get(f"/incidents/{unknown}")
        assert nothing.status_code == 404
        for url in (f"/incidents/{incident}", f"/incidents/{incident}?after=1"):
            page = web.get(url)
            assert (page.status_code, page.text) == (404, nothing.text), (name, url)
        for action, fields in (
            (f"/incidents/{incident}/taskings/{tasking}/answer", {"answer": "accept"}),
            (f"/incidents/{incident}/taskings/{tasking}/answer", {"answer": "decline"}),
            (f"/incidents/{incident}/taskings", {"member_id": cast.lab.member_id}),
            (f"/incidents/{incident}/taskings/{tasking}/release", {"reason": "let go"}),
            (f"/incidents/{incident}/taskings/{tasking}/release", {"reason": ""}),
            (f"/incidents/{incident}/notes", {"text": "anyone there?"}),
            (f"/incidents/{incident}/notes", {"text": ""}),
            (f"/incidents/{incident}/status", {"status": "contained"}),
            (f"/incidents/{incident}/resume", {"note": "answered"}),
            (f"/incidents/{incident}/close", {"resolution": "withdrawn", "summary": "gone"}),
            (f"/incidents/{incident}/tasks", {"title": "Look", "due": "not a time"}),
            (f"/incidents/{incident}/tasks/{task.json()['id']}", {"status": "done"}),
            (f"/incidents/{incident}/evidence", {"name": "disk", "hash_algorithm": "md5",
                                                 "hash_value": "1" * 32, "location": "x"}),
            (f"/incidents/{incident}/evidence/{held.json()['id']}/custody", {"action": "examined"}),
            (f"/incidents/{incident}/links", {"object_ids": f"indicator--{uuid.uuid4()}"}),
            (f"/incidents/{incident}/links/{linked_id}/unlink", {}),
            (f"/incidents/{incident}/intel", {"values": "198.51.100.9"}),
            (f"/incidents/{incident}/handover", {"member_id": cast.lab.member_id, "reason": "x"}),
            (f"/incidents/{incident}/edit", {"severity": "low"}),
            (f"/incidents/{incident}/edit", {"severity": "nonsense"}),
        ):  # fmt: skip
            page = post_form(web, "/incidents", action, **fields)
            unknown_action = action.replace(incident, unknown)
            other = post_form(web, "/incidents", unknown_action, **fields)
            assert (page.status_code, page.text) == (404, other.text) == (404, nothing.text), (
                name,
                action,
            )
    # A responder that declined is out: the same 404, and gone from its list.
    malware = signed_in(world, app, cast.malware.analyst)
    assert "Quiet grid outage" in malware.get("/incidents").text
    answer = f"/incidents/{incident}/taskings/{tasking}/answer"
    page = post_form(
        malware, f"/incidents/{incident}", answer, answer="decline", reason="No one free"
    )
    assert page.status_code == 303 and page.headers["location"] == "/incidents?answered=declined"
    assert "Quiet grid outage" not in malware.get("/incidents").text
    gone = malware.get(f"/incidents/{incident}")
    assert (gone.status_code, gone.text) == (404, malware.get(f"/incidents/{unknown}").text)
    assert browser(app).get(f"/incidents/{incident}").headers["location"] == "/login"


def test_mistakes_come_back_beside_their_field_and_readers_may_not_file(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(cast.world, app, cast.requester.analyst)
    blank = web.get("/incidents/new").text
    assert "-error" not in blank and 'value="file"' not in blank  # no preview yet, no File
    page = file_by_web(web, action="preview", title=" ", countries="Estonia", severity="dire")
    assert page.status_code == 422
    for field in ("title", "countries", "severity"):
        assert (
            f'id="{field}-error"' in page.text and f'aria-describedby="{field}-error"' in page.text
        )
    page = file_by_web(web, action="preview", countries="Estonia")
    assert page.status_code == 422 and 'id="countries-error"' in page.text
    assert "Estonia" in page.text.split('id="countries-error"')[1].split("</p>")[0]
    page = file_by_web(web, action="preview", severity="dire")
    assert page.status_code == 422 and 'id="severity-error"' in page.text
    hidden = f"indicator--{uuid.uuid4()}"
    page = file_by_web(web, links=hidden)
    assert page.status_code == 422 and 'id="links-error"' in page.text and hidden in page.text
    forged = web.post("/incidents/new", data={"title": "x", "csrf": "forged", "action": "file"})
    assert forged.status_code == 403
    reader = signed_in(cast.world, app, cast.requester.reader)
    assert "Readers may not file" in reader.get("/incidents/new").text
    refused = file_by_web(reader)
    assert refused.status_code == 403
    assert cast.requester.analyst.get("/api/v1/incidents").json()["incidents"] == []


def test_file_through_the_preview_and_every_party_sees_its_part(  # type: ignore[no-untyped-def]
    cast: Cast,
    app,
    clock: FakeClock,
) -> None:
    world = cast.world
    web = signed_in(world, app, cast.requester.analyst)
    page = file_by_web(web, action="preview")
    assert page.status_code == 200, page.text
    preview = page.text.split('id="preview-description">')[1].split("</pre>")[0]
    assert "mari.maasikas" not in preview and "5123 4567" not in preview
    assert "hmi01.corp.local" not in preview and "[EMAIL-1]" in preview
    assert "CERT-EE" in page.text.split('id="preview"')[1]  # the coordinator, by the rule
    assert 'value="file"' in page.text
    incident = filed_id(file_by_web(web))
    page = web.get(f"/incidents/{incident}")
    assert page.status_code == 200
    main = main_of(page.text)
    assert 'class="tlp-banner tlp-amber"' in main and "TLP:AMBER" in main
    assert "Substation HMI wiped" in main and "CERT-EE" in main and "Grid EE" in main
    assert "mari.maasikas" not in page.text
    # The requester sees the proposals with their reasons, but tasks no one.
    assert "Forensics Lab" in main and "covers country EE" in main
    assert 'action="/incidents/' + incident + '/taskings"' not in main

    coordinator = signed_in(world, app, cast.cert.analyst)
    listed = coordinator.get("/incidents").text
    assert "Substation HMI wiped" in listed and "acknowledge: running" in listed
    page = coordinator.get(f"/incidents/{incident}").text
    assert f'action="/incidents/{incident}/taskings"' in page
    tasked = post_form(coordinator, f"/incidents/{incident}", f"/incidents/{incident}/taskings",
                       member_id=cast.lab.member_id)  # fmt: skip
    assert tasked.status_code == 303 and tasked.headers["location"].endswith("?done=tasked")
    page = coordinator.get(tasked.headers["location"]).text
    assert "Responder tasked" in page and "acknowledged" in page

    lab = signed_in(world, app, cast.lab.analyst)
    assert "Substation HMI wiped" in lab.get("/incidents?role=responder").text
    tasking = tasking_of(cast, incident, cast.lab.member_id)
    page = lab.get(f"/incidents/{incident}").text
    assert f"/taskings/{tasking}/answer" in page and "Responders proposed" not in page
    answer = f"/incidents/{incident}/taskings/{tasking}/answer"
    refused = post_form(lab, f"/incidents/{incident}", answer, answer="decline", reason=" ")
    assert refused.status_code == 422
    assert f'id="reason-{tasking}-error"' in refused.text
    assert f'aria-describedby="reason-{tasking}-error"' in refused.text
    reader = signed_in(world, app, cast.lab.reader)
    assert f"/taskings/{tasking}/answer" not in reader.get(f"/incidents/{incident}").text
    accepted = post_form(lab, f"/incidents/{incident}", answer, answer="accept", reason="On it")
    assert accepted.status_code == 303
    page = lab.get(accepted.headers["location"]).text
    assert "You accepted" in page and "responding" in page
    assert f"/taskings/{tasking}/answer" not in page  # answered: no buttons any more
    twice = post_form(lab, f"/incidents/{incident}", answer, answer="accept")
    assert twice.status_code == 409

    for user, url in ((web, "/incidents"), (lab, "/incidents"), (web, f"/incidents/{incident}"),
                      (web, "/incidents/new")):  # fmt: skip
        html = user.get(url).text
        check(url, html)
        for ref in _REFERENCE.findall(html):  # no other host
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref


def test_clocks_say_what_is_overdue_and_filters_narrow_the_list(  # type: ignore[no-untyped-def]
    cast: Cast,
    app,
    clock: FakeClock,
) -> None:
    incident = cast.file(title="Pumping station down", severity="critical")["id"]
    cast.file(title="Odd logins", severity="low")
    web = signed_in(cast.world, app, cast.requester.analyst)
    page = web.get(f"/incidents/{incident}").text
    assert "OVERDUE" not in page and 'role="alert"' not in page
    clock.advance(minutes=20)  # critical: acknowledge within 15 minutes
    page = web.get(f"/incidents/{incident}").text
    alert = page.split('class="overdue" role="alert">')[1].split("</p>")[0]
    assert alert == "Overdue: acknowledge"
    listed = web.get("/incidents?severity=critical").text
    assert "Pumping station down" in listed and "acknowledge: OVERDUE" in listed
    assert "Odd logins" not in listed
    assert "Odd logins" in web.get("/incidents?severity=low").text
    assert "Pumping station down" not in web.get("/incidents?status=closed").text
    assert web.get("/incidents?status=nonsense").status_code == 200  # any, not a failure
