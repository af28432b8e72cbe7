"""The dashboard's incident section: nothing of an incident for members not taking part
(written first: their dashboard is the same page, byte for byte, before and after an incident is
filed, tasked and overdue), then the marks, taskings, figures and chart for those who are."""

from __future__ import annotations

from shieldwall.incidents import escalation
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
    # The chart over time: incidents, each clock's median and its breaches, per day of filing,
    # the figures GET /api/v1/incidents/figures/series gives this member.
    series = cast.requester.analyst.get(
        "/api/v1/incidents/figures/series", params={"interval": "day"}
    ).json()["points"]
    assert series[-1]["clocks"]["accept"]["breached"] == 1

    def table(caption: str) -> str:
        return requester.split(f"<caption>{caption}</caption>")[1].split("</table>")[0]

    day = f'<th scope="row">{series[-1]["start"][:10]}</th>'
    breached = table("Clocks breached, by period of filing")
    row = breached.split(day)[1].split("</tr>")[0]
    assert row == "<td>0</td><td>1</td><td>0</td><td>0</td>", row  # accept breached
    assert day in table("Median hours until each clock stopped, by period of filing")
    assert requester.count('role="img"') == 10 + 3  # the intel charts, and these three
    check("/", requester)

    # The clock job escalates the breach: the latest escalations name it, to those taking part.
    assert "Latest escalations" not in requester
    escalation.run(app.state.db, app.state.incident_config, clock())
    # The malware lab stayed silent past its answer time: the job tasked the next in rank, the
    # lab, which now takes part. The others still see nothing.
    responders = cast.cert.analyst.get(f"/api/v1/incidents/{incident}").json()["responders"]
    assert [t["member"]["id"] for t in responders if t["state"] == "tasked"] == [cast.lab.member_id]
    assert [dashboard(web) for web in strangers[::2]] == before[::2]
    requester = dashboard(signed_in(world, app, cast.requester.analyst))
    latest = requester.split("<caption>Latest escalations (clocks breached)</caption>")[1]
    latest = latest.split("</table>")[0]
    assert "Pumping station down" in latest and "TLP:RED" in latest and "accept" in latest
    counts = requester.split("<caption>Open incidents by status and by severity</caption>")[1]
    head, body = counts.split("</table>")[0].split("</thead>")
    assert '<th scope="col">acknowledged</th>' in head and '<th scope="col">critical</th>' in head
    assert body.count("<td>1</td>") == 2  # one acknowledged (tasking acknowledges), one critical
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
