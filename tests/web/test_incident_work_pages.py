"""The work on an incident's page (notes, status, the wait on the requester, tasks, closing),
as the coordinator and the requester do it; readers see no forms and may not post them. That
members not taking part get the 404 page of an unknown incident from every one of these forms
is in test_incident_pages.py, first."""

from __future__ import annotations

import uuid

from tests.factories import indicator
from tests.incidents import conftest as incident_fixtures
from tests.incidents.conftest import Cast, FakeClock
from tests.web.signing_in import signed_in
from tests.web.test_accessibility import check
from tests.web.test_incident_pages import post_form

cast, clock = incident_fixtures.cast, incident_fixtures.clock


def test_readers_see_no_forms_and_may_not_post_them(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    reader = signed_in(cast.world, app, cast.requester.reader)
    page = reader.get(url).text
    assert "SCADA gateway encrypted" in page
    for action in ("/notes", "/tasks", "/close", "/status"):
        assert f'action="{url}{action}"' not in page
    refused = post_form(reader, url, f"{url}/notes", text="Let me in")
    assert refused.status_code == 403
    assert "Let me in" not in reader.get(url).text


def test_coordinator_and_requester_take_it_to_the_end(cast: Cast, app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    requester = signed_in(cast.world, app, cast.requester.analyst)
    assert 'action="' + url + '/status"' not in requester.get(url).text  # the coordinator's

    page = post_form(coordinator, url, f"{url}/notes", text=" ")
    assert page.status_code == 422 and 'aria-describedby="note-error"' in page.text
    done = post_form(coordinator, url, f"{url}/notes", text="Call at 10:00 on the usual bridge")
    assert done.status_code == 303
    page = coordinator.get(done.headers["location"]).text
    assert "Written on the timeline." in page and "Call at 10:00 on the usual bridge" in page

    done = post_form(coordinator, url, f"{url}/status", status="waiting-on-requester",
                     reason="Which firmware runs on the gateway?")  # fmt: skip
    assert done.status_code == 303
    page = requester.get(url).text
    assert "clocks paused" in page and 'action="' + url + '/resume"' in page
    clock.advance(hours=3)
    assert post_form(requester, url, f"{url}/resume", note="Firmware 4.2").status_code == 303
    page = requester.get(url).text
    assert "clocks paused" not in page and "Firmware 4.2" in page

    bad = post_form(coordinator, url, f"{url}/tasks", title="Image the disk", due="soon")
    assert bad.status_code == 422 and 'id="task-error"' in bad.text
    done = post_form(coordinator, url, f"{url}/tasks", title="Image the disk",
                     owner_member_id=cast.requester.member_id, due="2026-03-02T13:00",
                     mandatory="on")  # fmt: skip
    assert done.status_code == 303
    page = requester.get(url).text
    assert "Image the disk" in page and "2026-03-02 13:00" in page
    clock.advance(hours=2)  # 14:00: past its due time
    page = requester.get(url).text
    assert "OVERDUE" in page.split('<h2 id="tasks">')[1].split("</table>")[0]
    assert "Image the disk" in page.split('class="overdue" role="alert">')[1].split("</p>")[0]
    refused = post_form(coordinator, url, f"{url}/status", status="resolved")
    assert refused.status_code == 409 and "mandatory task" in refused.text
    task_id = cast.cert.analyst.get(f"/api/v1/incidents/{incident}").json()["tasks"][0]["id"]
    done = post_form(requester, url, f"{url}/tasks/{task_id}", status="done")
    assert done.status_code == 303
    check(url, coordinator.get(url).text)

    page = post_form(coordinator, url, f"{url}/close", resolution="resolved", summary="")
    assert page.status_code == 422 and 'aria-describedby="close-error"' in page.text
    done = post_form(coordinator, url, f"{url}/close", resolution="resolved",
                     summary="Gateway rebuilt from a clean image")  # fmt: skip
    assert done.status_code == 303
    page = requester.get(url).text
    assert "The incident is closed." not in page  # said only to the one who closed it
    assert "closed" in page and "Gateway rebuilt from a clean image" in page
    for action in ("/notes", "/tasks", "/close", "/status"):
        assert f'action="{url}{action}"' not in page  # closed: nothing more to do
    assert "The incident is closed." in coordinator.get(done.headers["location"]).text


def test_evidence_intel_and_the_lead_from_the_page(cast: Cast, app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    ioc = indicator("203.0.113.190", tlp="amber")
    assert cast.requester.analyst.share(ioc).status_code == 201
    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    requester = signed_in(cast.world, app, cast.requester.analyst)
    coordinator = signed_in(cast.world, app, cast.cert.analyst)

    bad = post_form(requester, url, f"{url}/evidence", name="Disk image", hash_algorithm="sha256",
                    hash_value="not hex", location="Safe 2")  # fmt: skip
    assert bad.status_code == 422 and 'aria-describedby="evidence-error"' in bad.text
    digest = "a" * 64
    done = post_form(requester, url, f"{url}/evidence", name="Disk image",
                     hash_algorithm="sha256", hash_value=digest, location="Safe 2")  # fmt: skip
    assert done.status_code == 303
    page = requester.get(done.headers["location"]).text
    assert "Evidence recorded." in page and f"sha256:{digest}" in page
    evidence_id = cast.cert.analyst.get(f"/api/v1/incidents/{incident}").json()["evidence"][0]["id"]
    custody = f"{url}/evidence/{evidence_id}/custody"
    done = post_form(requester, url, custody, action="transferred", note="by courier",
                     to_member_id=cast.cert.member_id, hash_seen=digest)  # fmt: skip
    assert done.status_code == 303, done.text
    page = coordinator.get(url).text
    assert "transferred: by courier" in page and "2 entries, intact" in page

    hidden = f"indicator--{uuid.uuid4()}"
    refused = post_form(requester, url, f"{url}/links", object_ids=f"{ioc['id']}\n{hidden}")
    assert refused.status_code == 422 and hidden in refused.text  # all or nothing
    assert post_form(requester, url, f"{url}/links", object_ids=ioc["id"]).status_code == 303
    assert "Indicator 203.0.113.190" in requester.get(url).text.split('id="intel"')[1]
    # Unlinked by the member that linked it (or the coordinator); a link to intel one may not
    # see is not found, as an unknown one.
    unlink = f"{url}/links/{ioc['id']}/unlink"
    assert f'action="{unlink}"' in coordinator.get(url).text
    hidden_unlink = post_form(requester, url, f"{url}/links/{hidden}/unlink")
    assert hidden_unlink.status_code == 404
    done = post_form(requester, url, unlink)
    assert done.status_code == 303, done.text
    page = requester.get(done.headers["location"]).text
    assert "Link removed." in page and "Indicator 203.0.113.190" not in page.split('id="intel"')[1]
    assert post_form(requester, url, unlink).status_code == 404  # gone
    assert post_form(requester, url, f"{url}/links", object_ids=ioc["id"]).status_code == 303

    shared = post_form(requester, url, f"{url}/intel", values="198.51.100.191\nevil-c2.example",
                       tlp="green", distribution="community")  # fmt: skip
    assert shared.status_code == 303, shared.text
    linked = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()["links"]
    assert {"ipv4 198.51.100.191", "domain evil-c2.example"} <= {link["name"] for link in linked}
    bystander = cast.outsider.analyst  # the intel is the community's; the incident is not
    found = bystander.get("/api/v1/search", params={"q": "evil-c2.example", "mode": "value"})
    assert found.status_code == 200 and found.json()["objects"], found.text
    assert bystander.get(f"/api/v1/incidents/{incident}").status_code == 404

    no_reason = post_form(coordinator, url, f"{url}/handover", member_id=cast.alliance.member_id)
    assert no_reason.status_code == 422 and 'id="handover-error"' in no_reason.text
    done = post_form(coordinator, url, f"{url}/handover", member_id=cast.alliance.member_id,
                     reason="Spreading to LV and LT", keep_previous="on")  # fmt: skip
    assert done.status_code == 303
    page = coordinator.get(done.headers["location"]).text
    assert "Lead handed over." in page and "Who led it" in page
    assert 'action="' + url + '/handover"' not in page  # CERT-EE no longer coordinates
    alliance = signed_in(cast.world, app, cast.alliance.analyst).get(url).text
    assert 'action="' + url + '/handover"' in alliance
    check(url, alliance)


def test_severity_and_tlp_change_from_the_page(cast: Cast, app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    incident = cast.file(severity="high", tlp="amber")["id"]
    url = f"/incidents/{incident}"
    requester = signed_in(cast.world, app, cast.requester.analyst)
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    assert 'id="edit-tlp"' not in coordinator.get(url).text  # the TLP is the requester's
    refused = post_form(coordinator, url, f"{url}/edit", severity="high", tlp="clear")
    assert refused.status_code == 403
    done = post_form(requester, url, f"{url}/edit", severity="critical", tlp="red")
    assert done.status_code == 303
    page = requester.get(done.headers["location"]).text
    assert 'class="tlp-banner tlp-red"' in page and "Saved;" in page
    acknowledge = page.split('<th scope="row">acknowledge')[1].split("</tr>")[0]
    assert "<td>15m</td>" in acknowledge  # critical: acknowledge within 15 minutes
    assert post_form(coordinator, url, f"{url}/edit", severity="medium").status_code == 303
    assert "<td>4h</td>" in coordinator.get(url).text.split('<th scope="row">acknowledge')[1]
    bad = post_form(coordinator, url, f"{url}/edit", severity="apocalyptic")
    assert bad.status_code == 422 and 'aria-describedby="edit-error"' in bad.text


def test_a_form_without_the_sessions_token_is_refused(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    forms = {
        "/notes": {"text": "forged"},
        "/status": {"status": "contained"},
        "/edit": {"severity": "low"},
        "/taskings": {},
        "/close": {"resolution": "resolved", "summary": "forged"},
    }
    for action, fields in forms.items():
        page = coordinator.post(f"{url}{action}", data={**fields, "csrf": "forged"})
        assert page.status_code == 403 and "The form has expired" in page.text, action
    body = cast.cert.analyst.get(f"/api/v1/incidents/{incident}").json()
    assert body["status"] == "filed" and body["severity"] == "high" and not body["responders"]


def test_a_task_for_a_person_of_ones_own_member(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.signing_in import email_of

    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    requester = signed_in(cast.world, app, cast.requester.analyst)
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    analyst, admin, reader = (email_of(cast.world, u) for u in cast.requester.users)
    # Negative first: no member is offered, or shown, another member's people.
    page = coordinator.get(url).text
    assert analyst not in page and admin not in page and reader not in page
    refused = post_form(coordinator, url, f"{url}/tasks", title="Not theirs to name",
                        owner_member_id=cast.requester.member_id,
                        owner_user_id=cast.cert.analyst.user_id)  # fmt: skip
    assert refused.status_code == 422 and "not a user of the owning member" in refused.text
    assert "Not theirs to name" not in coordinator.get(url).text  # nothing stored

    page = requester.get(url).text
    person = page.split('id="task-person"')[1].split("</select>")[0]
    assert analyst in person and admin in person and reader not in person  # readers do no tasks
    done = post_form(requester, url, f"{url}/tasks", title="Pull the firewall logs",
                     owner_user_id=cast.requester.analyst.user_id)  # fmt: skip
    assert done.status_code == 303, done.text
    task = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()["tasks"][0]
    assert task["owner"]["user_id"] == cast.requester.analyst.user_id
    row = requester.get(url).text.split("Pull the firewall logs")[1].split("</tr>")[0]
    assert analyst in row
    seen_by_coordinator = coordinator.get(url).text
    assert analyst not in seen_by_coordinator and "one of its users" in seen_by_coordinator

    # Marking it done leaves the person as it was; a new person is a change of its own.
    admin_id, analyst_id = cast.requester.admin.user_id, cast.requester.analyst.user_id
    for status, shown in (("open", analyst_id), ("done", admin_id)):
        form = {"status": status, "shown_user_id": shown, "owner_user_id": admin_id}
        answer = post_form(requester, url, f"{url}/tasks/{task['id']}", **form)
        assert answer.status_code == 303, answer.text
        task = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()["tasks"][0]
        assert task["owner"]["user_id"] == admin_id and task["status"] == status
    timeline = cast.requester.analyst.get(f"/api/v1/incidents/{incident}/timeline").json()
    kinds = [e["kind"] for e in timeline["entries"] if e["kind"].startswith("task")]
    assert kinds == ["task", "task-update", "task-done"], kinds
    # The due time shown is kept unless changed; a new one is set, an empty one clears it.
    page = requester.get(url).text
    assert f'id="task-{task["id"]}-due" name="due" type="datetime-local" value=""' in page
    for due, stored in (("2026-03-04T08:00", "2026-03-04T08:00"), ("", None)):
        shown = (task["due_at"] or "")[:16]
        form = {"status": "done", "shown_due": shown, "due": due}
        assert post_form(requester, url, f"{url}/tasks/{task['id']}", **form).status_code == 303
        task = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()["tasks"][0]
        assert (task["due_at"] or "")[:16] == (stored or ""), task
    bad = post_form(requester, url, f"{url}/tasks/{task['id']}", status="done", due="soon")
    assert bad.status_code == 422 and f'id="task-{task["id"]}-error"' in bad.text
    check(url, requester.get(url).text)


def test_the_coordinator_releases_a_responder_and_a_responder_withdraws(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_incident_pages import tasking_of

    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    for member in (cast.lab, cast.malware):
        tasked = cast.cert.analyst.post(
            f"/api/v1/incidents/{incident}/taskings", json={"member_id": member.member_id}
        )
        assert tasked.status_code == 201, tasked.text
    lab_tasking = tasking_of(cast, incident, cast.lab.member_id)
    malware_tasking = tasking_of(cast, incident, cast.malware.member_id)
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    requester = signed_in(cast.world, app, cast.requester.analyst)
    lab = signed_in(cast.world, app, cast.lab.analyst)
    lab_reader = signed_in(cast.world, app, cast.lab.reader)
    release = f"{url}/taskings/{lab_tasking}/release"
    # Negative first: neither the requester nor a tasked member's reader may end a tasking,
    # and a member still to answer has Accept and Decline, not Withdraw.
    assert f'action="{release}"' not in requester.get(url).text
    assert post_form(requester, url, release, reason="not wanted").status_code == 403
    assert post_form(lab_reader, url, release, reason="not wanted").status_code == 403
    assert f'action="{release}"' not in lab.get(url).text

    no_reason = post_form(coordinator, url, release, reason=" ")
    assert no_reason.status_code == 422 and f'aria-describedby="release-{lab_tasking}-error"' in (
        no_reason.text
    )
    done = post_form(coordinator, url, release, reason="The lab is needed elsewhere")
    assert done.status_code == 303, done.text
    page = coordinator.get(done.headers["location"]).text
    assert "Responder released" in page and "The lab is needed elsewhere" in page
    assert lab.get(url).status_code == 404  # released: out, as if it never existed
    again = post_form(coordinator, url, release, reason="twice")
    assert again.status_code == 409  # released already

    malware = signed_in(cast.world, app, cast.malware.analyst)
    answer = f"{url}/taskings/{malware_tasking}/answer"
    assert post_form(malware, url, answer, answer="accept").status_code == 303
    withdraw = f"{url}/taskings/{malware_tasking}/release"
    assert f'action="{withdraw}"' in malware.get(url).text
    gone = post_form(malware, url, withdraw, reason="Our analysts are called away")
    assert gone.status_code == 303 and gone.headers["location"] == "/incidents?answered=withdrawn"
    listed = malware.get(gone.headers["location"]).text
    assert "no longer yours to see" in listed and "SCADA gateway encrypted" not in listed
    assert "Our analysts are called away" in coordinator.get(url).text
    check(url, coordinator.get(url).text)


def test_what_was_filed_is_changed_from_the_page(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.signing_in import csrf_of

    incident = cast.file()["id"]
    url = f"/incidents/{incident}"
    requester = signed_in(cast.world, app, cast.requester.analyst)
    coordinator = signed_in(cast.world, app, cast.cert.analyst)
    # Negative first: the title, description and TLP are the requester's alone.
    page = coordinator.get(url).text
    assert 'id="edit-title"' not in page and 'id="edit-description"' not in page
    assert 'id="edit-countries"' in page  # the scope is both parties' to refine
    refused = post_form(coordinator, url, f"{url}/edit", title="Renamed by the CERT")
    assert refused.status_code == 403
    bad = post_form(coordinator, url, f"{url}/edit", countries="EE, Estonia")
    assert bad.status_code == 422 and 'id="edit-error"' in bad.text and "countries" in bad.text

    form = {"title": "SCADA gateway and historian encrypted", "severity": "high", "tlp": "amber",
            "description": "Now the historian too; ask kati.kask@grid.example.",
            "countries": "EE, LV", "sectors": "Energy", "services": "SCADA, historian",
            "languages": "et, en", "needs_shown": "1"}  # fmt: skip
    web_form = {**form, "needs": ["forensics", "ot-ics"], "csrf": csrf_of(requester.get(url).text)}
    done = requester.post(f"{url}/edit", data=web_form)
    assert done.status_code == 303, done.text
    body = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()
    assert body["title"] == "SCADA gateway and historian encrypted"
    assert "kati.kask" not in body["description"]  # masked before anyone else sees it
    assert body["countries"] == ["EE", "LV"] and body["services"] == ["SCADA", "historian"]
    assert body["needs"] == ["forensics", "ot-ics"] and body["languages"] == ["et", "en"]
    seen = coordinator.get(url).text
    assert "SCADA gateway and historian encrypted" in seen and "kati.kask" not in seen
    timeline = cast.requester.analyst.get(f"/api/v1/incidents/{incident}/timeline").json()
    changed = [e for e in timeline["entries"] if e["kind"] == "updated"]
    assert len(changed) == 1 and "countries" in changed[0]["text"], changed

    # The coordinator narrows the help needed; nothing else it sent differed, nothing else moves.
    scope = {k: form[k] for k in ("severity", "countries", "sectors", "services", "languages")}
    scope |= {"needs_shown": "1", "needs": ["forensics"]}
    scope["csrf"] = csrf_of(coordinator.get(url).text)
    done = coordinator.post(f"{url}/edit", data=scope)
    assert done.status_code == 303, done.text
    body = cast.requester.analyst.get(f"/api/v1/incidents/{incident}").json()
    assert body["needs"] == ["forensics"] and body["title"].startswith("SCADA gateway and")
    timeline = cast.requester.analyst.get(f"/api/v1/incidents/{incident}/timeline").json()
    changed = [e["text"] for e in timeline["entries"] if e["kind"] == "updated"]
    assert changed[-1] == "Changed needs", changed
    check(url, requester.get(url).text)
