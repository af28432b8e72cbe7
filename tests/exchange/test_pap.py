"""PAP (markings.PAP): MISP's `PAP:` tags as the OASIS PAP marking definitions, through MISP
import and export, and the PAP ceiling of the value exports.

Negative cases first: a blocklist or an RPZ zone (blocking: an active action, which PAP:GREEN
allows and PAP:AMBER and PAP:RED do not) never holds a value marked PAP:AMBER or PAP:RED unless
asked for; IDS alert rules (passive detection, which PAP:RED allows) hold them unless asked not
to. Then the round trip: tags in, markings stored, the same tags out.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from pymisp import MISPEvent

from shieldwall.markings import PAP, PAP_MARKING_IDS, PAP_WHITE_MARKING_ID, pap_marking_of_tags
from tests.factories import ApiUser, World, indicator


def with_pap(value: str, pap: PAP | None) -> dict[str, Any]:
    obj = indicator(value, tlp="green")
    if pap is not None:
        obj["object_marking_refs"] = [*obj["object_marking_refs"], PAP_MARKING_IDS[pap]]
    return obj


def exported(user: ApiUser, path: str, **params: Any) -> str:
    response = user.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.text


def test_blocking_exports_leave_out_amber_and_red_unless_asked(world: World) -> None:
    alice = world.user(world.member())
    shared = [
        with_pap("192.0.2.10", None),
        with_pap("192.0.2.11", PAP.CLEAR),
        with_pap("192.0.2.12", PAP.GREEN),
        with_pap("192.0.2.13", PAP.AMBER),
        with_pap("192.0.2.14", PAP.RED),
    ]
    assert alice.share(*shared).status_code == 201  # well known: no definition sent
    blocklist = "/api/v1/exports/blocklist"
    by_default = exported(alice, blocklist, kind="ipv4").split()
    assert sorted(by_default) == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert sorted(exported(alice, blocklist, kind="ipv4", pap="amber").split()) == [
        "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13",
    ]  # fmt: skip
    assert len(exported(alice, blocklist, kind="ipv4", pap="red").split()) == 5
    assert len(exported(alice, blocklist, kind="ipv4", pap="clear").split()) == 2  # none, clear
    assert exported(alice, blocklist, kind="ipv4", pap="green").split() == by_default
    rules = exported(alice, "/api/v1/exports/suricata", kind="ipv4")
    assert all(f"192.0.2.1{n}" in rules for n in range(5))  # alert rules: passive, any PAP
    green_rules = exported(alice, "/api/v1/exports/suricata", kind="ipv4", pap="green")
    assert "192.0.2.13" not in green_rules and "192.0.2.14" not in green_rules
    assert "192.0.2.12" in green_rules
    for fmt in ("blocklist", "suricata"):
        response = alice.get(f"/api/v1/exports/{fmt}", params={"kind": "ipv4", "pap": "purple"})
        assert response.status_code in (400, 422) and "pap" in response.text


def test_rpz_leaves_out_red_domains_by_default(world: World) -> None:
    alice = world.user(world.member())
    red = {**with_pap("x", PAP.RED), "pattern": "[domain-name:value = 'red.example']"}
    green = {**with_pap("x", PAP.GREEN), "pattern": "[domain-name:value = 'green.example']"}
    assert alice.share(red, green).status_code == 201
    zone = exported(alice, "/api/v1/exports/rpz")
    assert "green.example" in zone and "red.example" not in zone
    assert "red.example" in exported(alice, "/api/v1/exports/rpz", pap="red")


def misp_event() -> dict[str, Any]:
    def attribute(kind: str, value: str, *tags: str) -> dict[str, Any]:
        return {
            "uuid": str(uuid.uuid4()), "type": kind, "category": "Network activity",
            "value": value, "to_ids": True, "distribution": "5", "comment": "",
            "timestamp": "1700000000", "Tag": [{"name": t} for t in tags],
        }  # fmt: skip

    return {
        "uuid": str(uuid.uuid4()), "info": "PAP round trip (SYNTHETIC)", "date": "2023-11-14",
        "timestamp": "1700000000", "published": False, "analysis": "2",
        "threat_level_id": "2", "distribution": "1",
        "Tag": [{"name": "tlp:green"}, {"name": "PAP:RED"}, {"name": "osint"}],
        "Attribute": [
            attribute("ip-dst", "203.0.113.21", "PAP:GREEN"),
            attribute("domain", "inherits-red.example"),
            attribute("ip-dst", "203.0.113.22", "pap:white"),
        ],
    }  # fmt: skip


def test_misp_pap_tags_become_markings_and_come_back_as_tags(world: World) -> None:
    alice = world.user(world.member())
    sent = misp_event()
    assert alice.post("/api/v1/imports/misp", json={"Event": copy.deepcopy(sent)}).status_code == (
        201
    )
    # Markings, not labels: the event's PAP:RED covers the attribute that has none.
    blocked = exported(alice, "/api/v1/exports/blocklist", kind="ipv4", pap="green").split()
    assert sorted(blocked) == ["203.0.113.21", "203.0.113.22"]
    domains = exported(alice, "/api/v1/exports/blocklist", kind="domain")
    assert "inherits-red.example" not in domains
    assert "inherits-red.example" in exported(
        alice, "/api/v1/exports/blocklist", kind="domain", pap="red"
    )
    response = alice.get("/api/v1/exports/misp")
    assert response.status_code == 200, response.text
    (back,) = [e["Event"] for e in response.json()["response"]]
    MISPEvent().load(copy.deepcopy({"Event": back}))
    event_tags = [t["name"] for t in back["Tag"]]
    assert "PAP:RED" in event_tags and "osint" in event_tags
    tags = {a["value"]: [t["name"] for t in a.get("Tag", [])] for a in back["Attribute"]}
    assert tags["203.0.113.21"] == ["PAP:GREEN"]
    assert tags["203.0.113.22"] == ["PAP:WHITE"]  # PAP 1.0's name kept: its own marking
    assert not any(re.match("(?i)pap:", t) for t in tags["inherits-red.example"])


def test_pap_tags_read_in_any_case_and_the_strictest_wins() -> None:
    assert pap_marking_of_tags(["osint", "pap:amber", "PAP:RED"]) == PAP_MARKING_IDS[PAP.RED]
    assert pap_marking_of_tags([" Pap:White "]) == PAP_WHITE_MARKING_ID
    assert pap_marking_of_tags(["tlp:red", "PAP:PURPLE", "papyrus"]) is None
    assert PAP.parse("white") is PAP.CLEAR and PAP.parse("PAP:RED") is PAP.RED
