"""The cross-border view: a member taking no part sees the same page before and after (written
first), a responder tasked on one of two linked incidents sees no group, and the requester of
both sees them together, across the countries they hit."""

from __future__ import annotations

from tests.factories import indicator
from tests.incidents import conftest as incident_fixtures
from tests.incidents.conftest import Cast
from tests.web.signing_in import signed_in
from tests.web.test_accessibility import check

cast, clock = incident_fixtures.cast, incident_fixtures.clock


def test_linked_incidents_are_shown_together_only_to_those_who_see_both(cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    world = cast.world
    bystander = signed_in(world, app, cast.outsider.analyst)
    before = bystander.get("/incidents/cross-border")
    assert before.status_code == 200 and before.text.count("<p>None.</p>") == 2
    ioc = indicator("203.0.113.180", tlp="amber")
    assert cast.requester.analyst.share(ioc).status_code == 201
    first = cast.file(title="Gateway wiped", countries=["EE", "LV"], links=[ioc["id"]])["id"]
    cast.file(title="Pipeline HMI wiped", countries=["LT"], links=[ioc["id"]])
    tasked = cast.cert.analyst.post(
        f"/api/v1/incidents/{first}/taskings", json={"member_id": cast.lab.member_id}
    )
    assert tasked.status_code == 201, tasked.text
    assert bystander.get("/incidents/cross-border").text == before.text

    lab = signed_in(world, app, cast.lab.analyst).get("/incidents/cross-border").text
    correlated = lab.split('id="correlated"')[1]
    assert "Pipeline HMI wiped" not in lab and "<p>None.</p>" in correlated
    assert "Gateway wiped" in lab.split('id="multi"')[1].split("</section>")[0]  # EE and LV

    requester = signed_in(world, app, cast.requester.analyst).get("/incidents/cross-border")
    group = requester.text.split('id="correlated"')[1]
    assert "2 incidents, across EE, LT, LV" in group
    assert "Gateway wiped" in group and "Pipeline HMI wiped" in group and ioc["id"] in group
    check("/incidents/cross-border", requester.text)
