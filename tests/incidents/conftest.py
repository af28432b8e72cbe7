"""A partnership to ask for help in, and a clock the tests move by hand.

The cast: an alliance centre (BE), a national CERT (EE), the requester (an Estonian grid
operator), two declared responders (a forensics lab and a malware-analysis company), and an
outsider who declared a profile too, so that it is proposed (third, after the lab and the
malware company), yet never tasked. Each member has
an analyst, a member-admin and a reader; an instance admin sits in a member of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shieldwall.policy import Role
from tests.factories import ApiUser, World

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """The app's incident clock, moved by the test: no sleeping, no wall clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def at(self, **delta: float) -> datetime:
        """T0 plus `delta`, set as now."""
        self.now = T0 + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app: Any) -> FakeClock:
    fake = FakeClock()
    app.state.incident_clock = fake
    return fake


@dataclass
class Party:
    member_id: str
    analyst: ApiUser
    admin: ApiUser  # the member's member-admin
    reader: ApiUser

    @property
    def users(self) -> tuple[ApiUser, ApiUser, ApiUser]:
        return (self.analyst, self.admin, self.reader)


@dataclass
class Cast:
    world: World
    alliance: Party
    cert: Party
    requester: Party
    lab: Party
    malware: Party
    outsider: Party
    instance_admin: ApiUser

    def file(self, by: ApiUser | None = None, **fields: Any) -> dict[str, Any]:
        """File a request (the requester's analyst by default); the answer's JSON."""
        body = {
            "title": "SCADA gateway encrypted",
            "description": "Ransomware on the SCADA gateway; contact jaan.tamm@grid.example.",
            "severity": "high",
            "tlp": "amber",
            "countries": ["EE"],
            "sectors": ["Energy"],
            **fields,
        }
        response = (by or self.requester.analyst).post("/api/v1/incidents", json=body)
        assert response.status_code == 201, response.text
        return response.json()


def _party(world: World, name: str, kind: str, country: str) -> Party:
    member = world.member(name, kind, country=country)
    return Party(
        member,
        world.user(member, Role.ANALYST),
        world.user(member, Role.MEMBER_ADMIN),
        world.user(member, Role.READER),
    )


def declare(party: Party, **profile: Any) -> None:
    response = party.admin.put(f"/api/v1/responders/{party.member_id}", json=profile)
    assert response.status_code == 200, response.text


@pytest.fixture
def cast(world: World, clock: FakeClock) -> Cast:
    alliance = _party(world, "Alliance IRC", "alliance", "BE")
    cert = _party(world, "CERT-EE", "national-cert", "EE")
    requester = _party(world, "Grid EE", "industry", "EE")
    lab = _party(world, "Forensics Lab", "academia", "NL")
    malware = _party(world, "Malware Co", "industry", "DE")
    outsider = _party(world, "Bystander", "industry", "EE")
    admin = world.user(world.member("Instance operator", "partner", country="BE"), Role.ADMIN)
    declare(
        lab,
        capabilities=["incident-response", "forensics"],
        countries=["EE", "LV"],
        sectors=["Energy"],
        languages=["et", "en"],
    )
    declare(
        malware,
        capabilities=["incident-response", "malware-analysis"],
        countries=["DE"],
        languages=["en"],
    )
    declare(outsider, capabilities=["incident-response"], countries=["FI"], availability="limited")
    return Cast(world, alliance, cert, requester, lab, malware, outsider, admin)
