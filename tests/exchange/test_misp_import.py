"""POST /api/v1/imports/misp and `shieldwall import --format misp`: MISP events in, whole or not
at all, and nobody sees more of them than the event's markings allow.

Negative cases first: a broken event stores nothing, a document that is not MISP is refused, a
reader may not import, another member never sees an org-only attribute.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldwall.exchange.misp_document import _NAMESPACE, _uuid5
from shieldwall.markings import PAP, PAP_MARKING_IDS, TLP
from shieldwall.policy import Role
from tests.factories import ApiUser, World
from tests.test_cli import run

DATA = Path(__file__).parent / "data"


def osint_event() -> dict[str, Any]:
    return json.loads((DATA / "misp_osint_event.json").read_text())


def shared(user: ApiUser, **params: Any) -> list[dict[str, Any]]:
    response = user.get("/api/v1/objects", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    platform = user.platform_identity_ids()
    return [o for o in response.json()["objects"] if o["id"] not in platform]


def test_a_broken_event_stores_nothing_and_names_the_attribute(world: World) -> None:
    alice = world.user(world.member())
    good, broken = osint_event(), osint_event()
    broken["Event"]["uuid"] = "6f3c2a10-8d1e-4c7b-9a2f-0e6b1d4c3a22"
    del broken["Event"]["Attribute"][3]["value"]
    response = alice.post("/api/v1/imports/misp", json=[good, broken])
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "event 1" in message and "a1000000-0000-4000-8000-000000000004" in message
    assert "no value" in message
    assert shared(alice) == []


def test_what_is_not_a_misp_event_is_refused(world: World) -> None:
    alice = world.user(world.member())
    for document in ({"type": "bundle"}, [1, 2], {"response": [{"Event": "x"}]}, {}):
        response = alice.post("/api/v1/imports/misp", json=document)
        assert response.status_code == 422, (document, response.text)
        assert "MISP event" in response.json()["error"]["message"]
    garbage = alice.post("/api/v1/imports/misp", content=b"{not json")
    assert garbage.status_code == 400
    assert shared(alice) == []


def test_readers_and_strangers_may_not_import(world: World) -> None:
    member = world.member()
    reader = world.user(member, Role.READER)
    assert reader.post("/api/v1/imports/misp", json=osint_event()).status_code == 403
    assert world.client.post("/api/v1/imports/misp", json=osint_event()).status_code == 401
    assert shared(world.user(member)) == []


def test_another_member_never_sees_an_org_only_attribute(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    assert alice.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    ssdeep = "[file:hashes.'SSDEEP' = '24576:Zx3tg5n+PHj6S7yQ9c3R:Zx3tDP6S+Q9c3R']"
    assert ssdeep in [o.get("pattern") for o in shared(alice, type="indicator")]
    bobs = shared(bob)
    assert bobs and ssdeep not in [o.get("pattern") for o in bobs]
    assert all(o.get("x_misp_type") != "ssdeep" for o in bobs)


def test_an_osint_event_becomes_a_report_with_all_it_holds(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    response = alice.post("/api/v1/imports/misp", json=osint_event())
    assert response.status_code == 201, response.text
    (report,) = shared(bob, type="report")
    assert report["name"].startswith("SYNTHETIC OSINT") and "日本語" in report["name"]
    # tlp: and PAP: tags are markings (PAP's the OASIS definition's: markings.PAP), not labels
    assert report["object_marking_refs"] == [TLP.GREEN.marking_id, PAP_MARKING_IDS[PAP.GREEN]]
    assert report["x_misp_uuid"] == "5f3c2a10-8d1e-4c7b-9a2f-0e6b1d4c3a21"
    assert report["x_misp_threat_level"] == "high" and report["x_misp_analysis"] == "completed"
    assert {"type:OSINT", 'misp-galaxy:threat-actor="Sofacy"'} <= set(report["labels"])
    assert "PAP:GREEN" not in report["labels"]
    objects = {o["id"]: o for o in shared(bob)}
    # every ref but the org-only ssdeep indicator, which only alice sees
    assert len(set(report["object_refs"]) - set(objects)) == 1
    assert set(report["object_refs"]) <= set(objects) | {o["id"] for o in shared(alice)}
    by_uuid = {o.get("x_misp_uuid"): o for o in objects.values()}
    c2 = by_uuid["a1000000-0000-4000-8000-000000000001"]
    assert c2["type"] == "indicator" and c2["pattern"] == "[ipv4-addr:value = '198.51.100.23']"
    assert c2["x_misp_comment"] == "C2 server" and c2["labels"] == [
        "kill-chain:Command and Control"
    ]
    url = by_uuid["a1000000-0000-4000-8000-000000000003"]
    assert url["pattern"] == "[url:value = 'https://update-check.example/gate.php?id=1&it\\'s=ok']"
    dropper = by_uuid["a1000000-0000-4000-8000-000000000005"]["pattern"]
    assert dropper == (
        "[file:name = 'invoice_2026.doc' AND "
        "file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']"
    )
    assert by_uuid["a1000000-0000-4000-8000-000000000008"]["type"] == "email-addr"
    assert by_uuid["a1000000-0000-4000-8000-00000000000a"]["type"] == "vulnerability"
    text = by_uuid["a1000000-0000-4000-8000-00000000000c"]
    assert text["type"] == "note" and text["content"].endswith("再利用。")
    btc = by_uuid["a1000000-0000-4000-8000-00000000000f"]  # no STIX home, no category
    assert btc["type"] == "note" and btc["x_misp_type"] == "btc"
    assert btc["x_misp_category"] == "Financial fraud"  # MISP's default for btc
    file_object = by_uuid["b1000000-0000-4000-8000-000000000001"]
    assert file_object["type"] == "grouping" and file_object["name"] == "file"
    assert len(file_object["object_refs"]) == 3
    relationships = [o for o in objects.values() if o["type"] == "relationship"]
    assert {r["relationship_type"] for r in relationships} == {"communicates-with", "connects-to"}
    assert {r["x_misp_relationship_type"] for r in relationships} == {
        "communicates-with",
        "connects to",
    }
    (sighting,) = [o for o in objects.values() if o["type"] == "sighting"]
    assert sighting["sighting_of_ref"] == c2["id"] and sighting["x_misp_source"] == "sensor-7"
    kinds = {o["type"]: o["name"] for o in objects.values() if "x_misp_galaxy_tag" in o}
    assert kinds == {"threat-actor": "Sofacy", "malware": "ΣRAT",
                     "attack-pattern": "Spearphishing Attachment - T1566.001"}  # fmt: skip


@pytest.mark.parametrize("shape", ["bare", "list", "response"])
def test_every_shape_misp_writes_is_read_and_importing_again_changes_nothing(
    world: World, shape: str
) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    event = osint_event()
    document: Any = {
        "bare": event["Event"], "list": [event], "response": {"response": [event]}
    }[shape]  # fmt: skip
    first = alice.post("/api/v1/imports/misp", json=document)
    assert first.status_code == 201, first.text
    assert first.json()["stored"] > 20
    again = alice.post("/api/v1/imports/misp", json=document).json()
    assert again["stored"] == 0 and again["unchanged"] == first.json()["stored"]
    # Another member importing the same public event keeps a copy of its own.
    theirs = bob.post("/api/v1/imports/misp", json=copy.deepcopy(document))
    assert theirs.status_code == 201, theirs.text
    assert len(shared(alice, type="report")) == 2


def test_the_command_imports_misp_events(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run(
        "user",
        "add",
        "ana@cert.example",
        "--member",
        "CERT-Test",
        "--role",
        "analyst",
        database_url=database_url,
    )
    path = tmp_path / "event.json"
    path.write_text(json.dumps(osint_event()))
    out = run("import", "--format", "misp", str(path), "--user", "ana@cert.example",
              database_url=database_url)  # fmt: skip
    assert "stored 29 objects" in out.stdout
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"hello": "world"}))
    refused = run("import", "--format", "misp", str(broken), "--user", "ana@cert.example",
                  database_url=database_url, check=False)  # fmt: skip
    assert refused.returncode != 0 and "not a MISP event" in refused.stderr


def test_a_value_stix_will_not_take_is_a_note_and_what_refers_to_it_follows(
    world: World,
) -> None:
    alice = world.user(world.member())
    event = osint_event()
    bad, good = event["Event"]["Object"][0], event["Event"]["Object"][1]
    bad["Attribute"][0].update(type="md5", value="not-an-md5", to_ids=True,
                               Sighting=[{"date_sighting": "1770795000", "type": "0"}])  # fmt: skip
    good["ObjectReference"] = [{"uuid": "c1000000-0000-4000-8000-0000000000aa",
                                "referenced_uuid": bad["Attribute"][0]["uuid"],
                                "relationship_type": "drops"}]  # fmt: skip
    response = alice.post("/api/v1/imports/misp", json=event)
    assert response.status_code == 201, response.text
    objects = {o["id"]: o for o in shared(alice)}
    (note,) = [o for o in objects.values() if o.get("x_misp_value") == "not-an-md5"]
    assert note["type"] == "note" and note["content"] == "not-an-md5"
    assert note["x_misp_type"] == "md5" and note["x_misp_to_ids"] is True
    assert not [o for o in objects.values() if o.get("pattern", "").endswith("'not-an-md5']")]
    (drops,) = [o for o in objects.values() if o.get("x_misp_relationship_type") == "drops"]
    assert drops["target_ref"] == note["id"]
    assert any(o.get("sighting_of_ref") == note["id"] for o in objects.values())
    (report,) = shared(alice, type="report")
    assert note["id"] in report["object_refs"]
    grouping = next(o for o in objects.values() if o.get("x_misp_uuid") == bad["uuid"])
    assert note["id"] in grouping["object_refs"]


@given(st.text())
def test_member_ids_are_rfc_4122_uuid5(name: str) -> None:
    assert _uuid5(name) == str(uuid.uuid5(_NAMESPACE, name))


def test_a_cluster_named_by_its_tag_alone_is_filled_in_from_the_published_galaxies(
    world: World,
) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    event = osint_event()
    del event["Event"]["Galaxy"]  # as feeds and pymisp-built events carry them: tags only
    event["Event"]["Tag"].append({"name": 'misp-galaxy:mitre-intrusion-set="APT28"'})
    for user in (alice, bob):
        response = user.post("/api/v1/imports/misp", json=copy.deepcopy(event))
        assert response.status_code == 201, response.text
    mine = {o["x_misp_galaxy_tag"]: o for o in shared(alice) if "x_misp_galaxy_tag" in o}
    technique = mine['misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"']
    # ATT&CK's published cluster: its uuid as the id, each member holding a copy of its own.
    assert technique["id"] == "attack-pattern--2e34237d-8574-43f6-aace-ae2915de8597"
    assert technique["external_references"] == [
        {"source_name": "mitre-attack", "external_id": "T1566.001"}
    ]
    assert "spearphishing" in technique["description"].lower()
    actor = mine['misp-galaxy:threat-actor="Sofacy"']  # a synonym of the published APT28
    assert actor["type"] == "threat-actor" and actor["name"] == "Sofacy"
    assert "FANCY BEAR" in actor["aliases"]
    group = mine['misp-galaxy:mitre-intrusion-set="APT28"']
    assert group["type"] == "intrusion-set"
    assert {"source_name": "mitre-attack", "external_id": "G0007"} in group["external_references"]
    theirs = {o["id"] for o in shared(bob) if "x_misp_galaxy_tag" in o}
    assert {o["id"] for o in mine.values()} == theirs
