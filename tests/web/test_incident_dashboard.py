"""The dashboard's incident section: nothing of an incident for members not taking part
(written first: their dashboard is the same page, byte for byte, before and after an incident is
filed, tasked and overdue), then the marks, taskings, figures and chart for those who are."""

from __future__ import annotations

from tests.incidents import conftest as incident_fixtures
from tests.incidents.conftest import Cast, FakeClock
from tests.web.signing_in import signed_in
from tests.web.test_accessibility import check

cast, clock = incident_fixtures.cast, incident_fixtures.clock


def dashboard(web) -> str:  # type: ignore[no-untyped-def]
    response = web.get("/")
    assert response.status_code == 200, response.text
    return response.text


def test_members_not_taking_part_see_the_same_dashboard(cast: Cast, app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    world = cast.world
    strangers = [signed_in(world, app, u) for u in
                 (cast.outsider.analyst, cast.lab.admin, cast.instance_admin)]  # fmt: skip
    before = [dashboard(web) for web in strangers]
    assert all("No incidents your member takes part in." in page for page in before)
    incident = cast.file(title="Pumping station down", severity="critical", tlp="red")["id"]
    tasked = cast.cert.analyst.post(
        f"/api/v1/incidents/{incident}/taskings", json={"member_id": cast.malware.member_id}
    )
    assert tasked.status_code == 201, tasked.text
    clock.advance(hours=2)  # critical: accept within 1 hour, answer within 30 minutes
    assert [dashboard(web) for web in strangers] == before

    requester = dashboard(signed_in(world, app, cast.requester.analyst))
    marks = requester.split("<caption>Clocks running late or overdue</caption>")[1]
    marks = marks.split("</table>")[0]
    assert "Pumping station down" in marks and "OVERDUE" in marks and "accept" in marks
    assert 'class="tlp tlp-red">TLP:RED' in requester.split('class="page-tlp"')[1][:200]
    assert "Incidents filed over time" in requester and '<th scope="row">critical</th>' in requester
    by_country = requester.split("Response times by country")[1].split("</table>")[0]
    assert '<th scope="row">EE</th>' in by_country
    assert '<th scope="row">Energy</th>' in requester.split("Response times by sector")[1]
    check("/", requester)


def test_a_tasked_member_sees_what_awaits_its_answer(cast: Cast, app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    incident = cast.file(title="SCADA gateway encrypted", severity="high")["id"]
    tasked = cast.cert.analyst.post(
        f"/api/v1/incidents/{incident}/taskings", json={"member_id": cast.lab.member_id}
    )
    assert tasked.status_code == 201, tasked.text
    lab = dashboard(signed_in(cast.world, app, cast.lab.analyst))
    awaiting = lab.split("<caption>Taskings awaiting your member's answer</caption>")[1]
    assert "SCADA gateway encrypted" in awaiting.split("</table>")[0]
    assert "No clock is running late." in lab
