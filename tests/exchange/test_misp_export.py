"""GET /api/v1/exports/misp: reports out as MISP events that pymisp loads, holding only what
the viewer may see, and MISP events through import and export with nothing lost.

Negative cases first: another member's org-only report, a group's report for those outside the
group, an org-only attribute of a community report, and a relationship to an object the viewer
may not see never reach an export.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from pymisp import MISPEvent, MISPObject, MISPSighting

from tests.factories import ApiUser, World, indicator, report

DATA = Path(__file__).parent / "data"


def osint_event() -> dict[str, Any]:
    return json.loads((DATA / "misp_osint_event.json").read_text())


def exported(user: ApiUser, **params: Any) -> list[dict[str, Any]]:
    response = user.get("/api/v1/exports/misp", params=params)
    assert response.status_code == 200, response.text
    events = response.json()["response"]
    for event in events:
        loaded = MISPEvent()
        loaded.load(copy.deepcopy(event))  # raises on anything MISP would not take (and eats it)
    return [e["Event"] for e in events]


def attribute_values(event: dict[str, Any]) -> set[str]:
    inside = [a for o in event.get("Object") or [] for a in o["Attribute"]]
    return {a["value"] for a in [*event.get("Attribute", []), *inside]}


def test_an_export_never_holds_what_the_viewer_may_not_see(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c)
    group = world.group([a, c])
    secret = indicator("192.0.2.66", tlp="amber", distribution="org")
    assert (
        alice.share(secret, report([secret["id"]], "Org only", distribution="org")).status_code
        == 201
    )
    grouped = indicator("192.0.2.67", tlp="red", distribution="group", group=group)
    assert (
        alice.share(
            grouped, report([grouped["id"]], "Group", tlp="red", distribution="group", group=group)
        ).status_code
        == 201
    )
    event = osint_event()
    event["Event"]["Object"][0]["ObjectReference"][1]["referenced_uuid"] = (
        "a1000000-0000-4000-8000-00000000000d"  # the org-only ssdeep attribute
    )
    assert alice.post("/api/v1/imports/misp", json=event).status_code == 201

    (bobs,) = exported(bob)
    assert bobs["info"].startswith("SYNTHETIC OSINT")
    values = attribute_values(bobs)
    assert "192.0.2.66" not in values and "192.0.2.67" not in values
    assert not any("Zx3tg5n" in v for v in values)  # the org-only ssdeep
    references = [r for o in bobs["Object"] for r in o["ObjectReference"]]
    assert "a1000000-0000-4000-8000-00000000000d" not in {r["referenced_uuid"] for r in references}
    assert "a1000000-0000-4000-8000-00000000000d" not in json.dumps(bobs)

    carols = {e["info"]: e for e in exported(carol)}
    assert set(carols) == {"Group", bobs["info"]}
    assert attribute_values(carols["Group"]) == {"192.0.2.67"}
    assert {t["name"] for t in carols["Group"]["Tag"]} == {"tlp:red"}
    alices = {e["info"]: e for e in exported(alice)}
    assert set(alices) == {"Org only", "Group", bobs["info"]}
    assert any("Zx3tg5n" in v for v in attribute_values(alices[bobs["info"]]))
    assert world.client.get("/api/v1/exports/misp").status_code == 401


def test_exports_are_audited_with_the_objects_they_held(world: World) -> None:
    alice = world.user(world.member())
    assert alice.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    assert len(exported(alice)) == 1
    entries = world.admin().get("/api/v1/audit", params={"action": "export.misp"}).json()
    (entry,) = entries["entries"]
    assert entry["user_id"] == alice.user_id and entry["detail"]["reports"] == 1


def test_stix_reports_from_elsewhere_become_events(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    ip = indicator("198.51.100.44", tlp="green")
    domain = {**indicator(tlp="green"), "pattern": "[domain-name:value = 'evil.example']"}
    odd = {**indicator(tlp="green"), "pattern": "[process:name = 'evil.exe']"}
    malware = {
        "type": "malware", "spec_version": "2.1", "id": "malware--" + ip["id"][11:],
        "created": ip["created"], "modified": ip["created"], "name": "WidgetRAT",
        "is_family": True, "object_marking_refs": ip["object_marking_refs"],
    }  # fmt: skip
    shared = report([ip["id"], domain["id"], odd["id"], malware["id"]], "STIX", tlp="green")
    assert alice.share(ip, domain, odd, malware, shared).status_code == 201
    (event,) = exported(bob)
    kinds = {(a["type"], a["value"], a["to_ids"]) for a in event["Attribute"]}
    assert kinds == {("ip-dst", "198.51.100.44", True), ("domain", "evil.example", True),
                     ("stix2-pattern", "[process:name = 'evil.exe']", True)}  # fmt: skip
    assert {t["name"] for t in event["Tag"]} == {"tlp:green", 'misp-galaxy:malpedia="WidgetRAT"'}


def pymisp_event(info: str) -> MISPEvent:
    """An event with every common attribute type and object, as pymisp builds it."""
    event = MISPEvent()
    event.info = info
    event.distribution = 1
    event.threat_level_id = 2
    event.analysis = 1
    event.set_date("2026-03-01")
    for tag in ("tlp:amber", "type:OSINT", 'misp-galaxy:threat-actor="Sofacy"'):
        event.add_tag(tag)
    plain = [
        ("ip-src", "198.51.100.1", "Network activity", True), ("ip-dst", "2001:db8::1",
        "Network activity", True), ("domain", "bad.example", "Network activity", True),
        ("hostname", "www.bad.example", "Network activity", False),
        ("url", "https://bad.example/x?a='1'", "Network activity", True),
        ("email-src", "a@bad.example", "Payload delivery", True),
        ("email-dst", "victim@corp.example", "Payload delivery", False),
        ("email-subject", "Your invoice", "Payload delivery", False),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e", "Payload delivery", True),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "Payload delivery", True),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "Payload delivery", True),
        ("sha512", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f"
         "2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "Payload delivery", True),
        ("filename", "invoice.pdf.exe", "Payload delivery", False),
        ("filename|sha256", "x.dll|" + "b" * 64, "Payload installation", True),
        ("ip-dst|port", "203.0.113.5|4444", "Network activity", True),
        ("domain|ip", "c2.bad.example|203.0.113.6", "Network activity", False),
        ("mutex", "Global\\evil", "Artifacts dropped", True),
        ("regkey", "HKLM\\Software\\Evil", "Persistence mechanism", False),
        ("AS", "AS64500", "Network activity", False),
        ("user-agent", "EvilAgent/1.0", "Network activity", True),
        ("vulnerability", "CVE-2026-1234", "External analysis", False),
        ("link", "https://vendor.example/report", "External analysis", False),
        ("text", "multi\nline 日本語", "Other", False),
        ("comment", "analyst note", "Other", False),
        ("yara", "rule evil { condition: true }", "Payload installation", True),
        ("btc", "bc1qexample000000000000000000000000000", "Financial fraud", False),
    ]  # fmt: skip
    for number, (kind, value, category, to_ids) in enumerate(plain):
        attribute = event.add_attribute(kind, value, category=category, to_ids=to_ids,
                                        comment=f"comment {number}")  # fmt: skip
        if number == 0:
            attribute.add_tag("kill-chain:Delivery")
            sighting = MISPSighting()
            sighting.from_dict(type="0", source="sensor", date_sighting=1772000000,
                               uuid=str(uuid.uuid4()))  # fmt: skip
            attribute.sightings.append(sighting)
    file_object = MISPObject("file")
    file_object.add_attribute("filename", value="dropper.exe")
    file_object.add_attribute("sha256", value="c" * 64, to_ids=True)
    file_object.add_attribute("size-in-bytes", value="1024")
    domain_ip = MISPObject("domain-ip")
    domain_ip.add_attribute("domain", value="relay.bad.example")
    domain_ip.add_attribute("ip", value="203.0.113.7")
    url = MISPObject("url")
    url.add_attribute("url", value="http://relay.bad.example/p")
    email = MISPObject("email")
    email.add_attribute("from", value="spoof@bad.example")
    email.add_attribute("subject", value="Re: payment")
    connection = MISPObject("network-connection")
    connection.add_attribute("ip-dst", value="203.0.113.8")
    connection.add_attribute("dst-port", value="443")
    for misp_object in (file_object, domain_ip, url, email, connection):
        event.add_object(misp_object)
    file_object.add_reference(connection.uuid, "connects-to", comment="beacon")
    domain_ip.add_reference(url.uuid, "related-to")
    email.add_reference(file_object.uuid, "contains")
    return event


def facts(event: dict[str, Any]) -> dict[str, Any]:
    """What a round trip must keep of an event."""

    def attribute(a: dict[str, Any]) -> tuple[Any, ...]:
        tags = sorted(t["name"] for t in a.get("Tag") or [])
        sightings = sorted(
            (s["uuid"], s["type"], s.get("source"), str(s["date_sighting"]))
            for s in a.get("Sighting") or []
        )
        return (a["uuid"], a["type"], a["category"], a["value"], bool(a["to_ids"]),
                a.get("comment") or "", a.get("object_relation"),
                tuple(tags), tuple(sightings))  # fmt: skip

    return {
        "uuid": event["uuid"], "info": event["info"], "date": str(event["date"]),
        "threat_level_id": str(event["threat_level_id"]), "analysis": str(event["analysis"]),
        "tags": sorted(t["name"] for t in event.get("Tag") or []),
        "attributes": sorted(attribute(a) for a in event["Attribute"]),
        "objects": sorted(
            (o["uuid"], o["name"], str(o["template_uuid"]),
             tuple(sorted(attribute(a) for a in o["Attribute"])),
             tuple(sorted((r["referenced_uuid"], r["relationship_type"])
                          for r in o.get("ObjectReference") or [])))
            for o in event["Object"]
        ),
    }  # fmt: skip


def test_pymisp_events_come_back_out_as_they_went_in(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    built = [pymisp_event("Round trip one"), pymisp_event("Round trip two")]
    sent = [json.loads(e.to_json()) for e in built]
    response = alice.post("/api/v1/imports/misp", json=[{"Event": e} for e in copy.deepcopy(sent)])
    assert response.status_code == 201, response.text
    back = {e["info"]: e for e in exported(bob)}
    assert set(back) == {"Round trip one", "Round trip two"}
    for original in sent:
        assert facts(back[original["info"]]) == facts(original)
    # and once more: what was exported imports as the same objects (nothing new stored)
    again = alice.post(
        "/api/v1/imports/misp", json={"response": [{"Event": e} for e in back.values()]}
    )
    assert again.status_code == 201 and again.json()["stored"] == 0, again.text


def test_one_report_is_chosen_by_id(world: World) -> None:
    alice = world.user(world.member())
    first, second = indicator("192.0.2.1", tlp="green"), indicator("192.0.2.2", tlp="green")
    chosen = report([second["id"]], "Chosen", tlp="green")
    assert alice.share(first, second, report([first["id"]], "Other", tlp="green"), chosen
                       ).status_code == 201  # fmt: skip
    (event,) = exported(alice, report=chosen["id"])
    assert event["info"] == "Chosen" and attribute_values(event) == {"192.0.2.2"}
    assert exported(alice, report="report--00000000-0000-4000-8000-000000000000") == []


def test_awkward_attributes_import_and_come_back(world: World) -> None:
    """Real events carry values STIX will not take as their type, and files as base64."""
    alice = world.user(world.member())
    awkward = [
        ("ssdeep", "24576:abc\ndef:ghi", True, None),  # multi-line
        ("ssdeep", "not-an-ssdeep", True, None),  # malformed
        ("malware-sample", "evil.exe|d41d8cd98f00b204e9800998ecf8427e", True, "UEsDBAo="),
        ("attachment", "screenshot.png", False, "iVBORw0KGgo="),
    ]
    event = {"info": "Awkward", "uuid": str(uuid.uuid4()), "timestamp": "1770000000",
             "Attribute": [{"type": t, "value": v, "to_ids": ids, "uuid": str(uuid.uuid4()),
                            **({"data": d} if d else {})} for t, v, ids, d in awkward]}  # fmt: skip
    response = alice.post("/api/v1/imports/misp", json={"Event": event})
    assert response.status_code == 201, response.text
    (back,) = exported(alice)
    got = {(a["type"], a["value"], a["to_ids"], a.get("data")) for a in back["Attribute"]}
    assert got == set(awkward)
