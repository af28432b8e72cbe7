"""Incident changes on the live stream (GET /api/v1/stream): a filing, a tasking and an
escalation reach the members taking part, and nobody else hears the incident exists."""

from __future__ import annotations

import dataclasses
from typing import Any

from shieldwall.incidents import escalation
from tests.api.serving import serving
from tests.incidents.conftest import Cast, FakeClock
from tests.stream.test_stream import events


def test_only_participants_hear_of_an_incident_and_its_escalation(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    app.state.settings = dataclasses.replace(app.state.settings, stream_keepalive_seconds=0.3)
    incident = cast.file(severity="critical")
    clock.at(minutes=15, seconds=1)  # past the acknowledge clock's 15 minutes
    assert escalation.run(app.state.db, app.state.incident_config, clock()).breaches == 1
    with serving(app) as base:
        for outsider in (cast.outsider.analyst, cast.lab.admin, cast.instance_admin):
            heard = events(base, outsider, last_event_id="0",
                           params={"type": "incident"})  # fmt: skip
            assert heard == [], outsider
            everything = events(base, outsider, last_event_id="0")
            assert incident["id"] not in {e["data"]["id"] for e in everything}
        for party in (cast.requester, cast.cert):
            heard = events(base, party.reader, last_event_id="0",
                           params={"type": "incident"})  # fmt: skip
            assert {e["data"]["id"] for e in heard} == {incident["id"]}
            assert all(e["event"] == "incident" for e in heard)
            kinds = [e["data"]["kind"] for e in heard]
            assert kinds[-1] == "clock-breach", kinds
        # A filter on TLP below the incident's leaves it out.
        assert events(base, cast.requester.reader, last_event_id="0",
                      params={"type": "incident", "max_tlp": "green"}) == []  # fmt: skip
