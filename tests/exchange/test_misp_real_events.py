"""Real published MISP events (data/misp_real/, see its README) in and back out: each one imports
whole, and its export, loaded by pymisp, gives back every attribute, object, reference, tag and
sighting it held, with the awkward cases real events carry.

Negative case first: what another member may not see of an imported real event stays out of
their export.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shieldwall.exchange.misp_document import events_in
from shieldwall.search.index import words
from tests.exchange.test_misp_export import exported
from tests.exchange.test_misp_import import shared
from tests.factories import ApiUser, World
from tests.search.test_search import search

REAL = Path(__file__).parent / "data" / "misp_real"
FILES = sorted(p.name for p in REAL.glob("*.json"))


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text("utf-8"))


def event_of(document: Any) -> dict[str, Any]:
    (event,) = events_in(document)
    return event


def attributes(event: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """Every attribute with what must survive the round trip (its object's uuid too)."""
    found: Counter[tuple[Any, ...]] = Counter()
    holders = [(None, event), *((o.get("uuid"), o) for o in event.get("Object") or [])]
    for holder, inside in holders:
        for a in inside.get("Attribute") or []:
            tags = tuple(sorted(t["name"] for t in a.get("Tag") or []
                                if not t["name"].lower().startswith("tlp:")))  # fmt: skip
            data = hashlib.sha256(a["data"].encode()).hexdigest() if a.get("data") else None
            sightings = sorted(str(s.get("date_sighting")) for s in a.get("Sighting") or [])
            found[(holder, a["uuid"], a["type"], a["value"], a["category"],
                   a["to_ids"] in (True, "1", 1), a.get("comment") or "", tags, data,
                   tuple(sightings))] += 1  # fmt: skip
    return found


def references(event: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(o["uuid"], r["referenced_uuid"], r["relationship_type"])
            for o in event.get("Object") or [] for r in o.get("ObjectReference") or []}  # fmt: skip


def imported(user: ApiUser, name: str) -> dict[str, Any]:
    response = user.post("/api/v1/imports/misp", json=real(name))
    assert response.status_code == 201, response.text
    return response.json()


def test_another_member_never_sees_an_org_only_part_of_a_real_event(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    document = real("existing_event.json")
    secret = document["Object"][0]["Attribute"][0]
    secret["distribution"] = "0"  # your organisation only
    assert alice.post("/api/v1/imports/misp", json=document).status_code == 201
    (bobs,) = exported(bob)
    assert secret["uuid"] not in json.dumps(bobs)
    assert secret["value"] not in {o.get("x_misp_value") for o in shared(bob)}
    (alices,) = exported(alice)
    assert secret["uuid"] in json.dumps(alices)


@pytest.mark.parametrize("name", FILES)
def test_a_real_event_imports_and_comes_back_whole(world: World, name: str) -> None:
    alice = world.user(world.member())
    event = event_of(real(name))
    assert imported(alice, name)["stored"] > 0
    (out,) = [e for e in exported(alice) if e["uuid"] == event["uuid"]]
    assert out["info"] == event["info"]
    assert attributes(out) == attributes(event)
    objects = {(o["uuid"], o["name"], o["template_uuid"], o["meta-category"])
               for o in event.get("Object") or []}  # fmt: skip
    assert {(o["uuid"], o["name"], o["template_uuid"], o["meta-category"])
            for o in out["Object"]} == objects  # fmt: skip
    assert references(out) == references(event)
    clusters = {c["tag_name"] for g in event.get("Galaxy") or [] for c in g["GalaxyCluster"]}
    tags = {t["name"] for t in event.get("Tag") or [] if not t["name"].startswith("tlp:")}
    assert {t["name"] for t in out["Tag"] if not t["name"].startswith("tlp:")} == tags | clusters
    tlp = [t["name"] for t in event.get("Tag") or [] if t["name"].startswith("tlp:")]
    if tlp == ["tlp:white"]:
        assert "tlp:clear" in {t["name"] for t in out["Tag"]}  # TLP 2.0's name for it


def test_a_multi_line_ssdeep_is_kept_whole_and_a_good_one_is_an_indicator(world: World) -> None:
    alice = world.user(world.member())
    imported(alice, "to_delete2.json")
    ssdeep = {o["x_misp_value"]: o for o in shared(alice) if o.get("x_misp_type") == "ssdeep"}
    (broken,) = [v for v in ssdeep if "\r\n" in v]
    assert ssdeep[broken]["type"] == "note" and ssdeep[broken]["content"] == broken
    (good,) = [v for v in ssdeep if "\r\n" not in v]
    assert ssdeep[good]["pattern"] == f"[file:hashes.'SSDEEP' = '{good}']"
    (attachment,) = [o for o in shared(alice) if o.get("x_misp_type") == "attachment"]
    assert attachment["type"] == "file" and attachment["name"].endswith(".pdf")
    assert len(attachment["x_misp_data"]) > 100_000


def test_galaxy_clusters_sharing_a_uuid_are_each_their_own_object(world: World) -> None:
    alice = world.user(world.member())
    imported(alice, "existing_event.json")
    objects = shared(alice)
    malware = {o["name"] for o in objects if o["type"] == "malware"}
    assert malware == {"JHUHUGIT", "XTunnel", "ADVSTORESHELL", "USBStealer", "XAgentOSX",
                       "CHOPSTICK", "Downdelph"}  # fmt: skip
    assert {o["name"] for o in objects if o["type"] == "tool"} == {
        "GAMEFISH", "X-Tunnel", "EVILTOSS", "X-Agent", "Sednit EK", "DealersChoice"
    }  # fmt: skip
    assert {o["x_misp_uuid"] for o in objects if o["type"] == "malware"} == {
        "d752161c-78f6-11e7-a0ea-bfa79b407ce4"  # a UUIDv1, kept as it came
    }
    # Objects referring to objects: relationships between their groupings.
    groupings = {o["id"] for o in objects if o["type"] == "grouping"}
    between = [o for o in objects if o["type"] == "relationship"
               and o["source_ref"] in groupings and o["target_ref"] in groupings]  # fmt: skip
    assert len(between) == 11


def test_clusters_on_attributes_are_linked_to_the_attribute(world: World) -> None:
    alice = world.user(world.member())
    imported(alice, "galaxy_1.json")
    objects = {o["id"]: o for o in shared(alice)}
    linked = [o for o in objects.values() if o["type"] == "relationship"
              and "x_misp_galaxy_tag" in o]  # fmt: skip
    assert linked
    for relationship in linked:
        assert objects[relationship["source_ref"]]["x_misp_type"]
        target = objects[relationship["target_ref"]]
        assert target["x_misp_galaxy_tag"] == relationship["x_misp_galaxy_tag"]
    assert any(o["type"] == "attack-pattern" for o in objects.values())


def test_non_latin_text_and_repeated_uuids_are_all_kept(world: World) -> None:
    alice = world.user(world.member())
    event = event_of(real("japanese_test_heavy.json"))
    imported(alice, "japanese_test_heavy.json")
    notes = [o for o in shared(alice) if o["type"] == "note" and "x_misp_uuid" in o]
    assert sorted(n["content"] for n in notes) == sorted(a["value"] for a in event["Attribute"])
    assert {n["x_misp_uuid"] for n in notes} == {event["Attribute"][0]["uuid"]}
    (report,) = shared(alice, type="report")
    assert report["name"] == event["info"] and "条イ音態" in report["name"]


def test_sightings_of_attributes_that_are_no_indicator_are_kept(world: World) -> None:
    alice = world.user(world.member())
    imported(alice, "sighting_2.json")
    objects = {o["id"]: o for o in shared(alice)}
    sighted = {objects[o["sighting_of_ref"]]["x_misp_type"]
               for o in objects.values() if o["type"] == "sighting"}  # fmt: skip
    assert sighted == {"comment", "target-external"}


def test_attributes_without_a_category_take_the_one_misp_gives_their_type(world: World) -> None:
    alice = world.user(world.member())
    document = real("existing_event.json")
    for attribute in document["Attribute"]:
        del attribute["category"]
    assert alice.post("/api/v1/imports/misp", json=document).status_code == 201
    (out,) = exported(alice)
    categories = {a["type"]: a["category"] for a in out["Attribute"]}
    assert categories["domain"] == "Network activity" and categories["text"] == "Other"
    assert categories["link"] == "External analysis"


def test_a_feed_folder_of_real_events_is_pulled_whole(
    app: Any, world: World, tmp_path: Path
) -> None:
    from shieldwall.exchange.misp_feed import folder_fetch, pull_feed
    from shieldwall.members import service

    alice = world.user(world.member())
    manifest = {}
    for name in FILES:  # each file as it was published, named by its event's uuid
        event = event_of(real(name))
        (tmp_path / f"{event['uuid']}.json").write_bytes((REAL / name).read_bytes())
        manifest[event["uuid"]] = {"timestamp": event["timestamp"], "info": event["info"]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with world.db.read() as conn:
        viewer = service.viewer_for_user(conn, alice.user_id)
    pulled = pull_feed(app.state.ingestor, viewer, folder_fetch(tmp_path))
    assert (pulled.listed, pulled.fetched, pulled.failed) == (len(FILES), len(FILES), {})
    assert {r["x_misp_uuid"] for r in shared(alice, type="report")} == set(manifest)


def test_a_notes_japanese_text_is_searched_and_an_attachments_payload_is_not(
    world: World,
) -> None:
    """Search holds an object's prose (search/index.py): a note's Japanese text is found by its
    words; a sample's or attachment's base64 payload (x_misp_data) is no prose, and none of its
    letter runs finds the object holding it."""
    alice = world.user(world.member())
    for name in ("japanese_test_heavy.json", "to_delete2.json", "HTML_event.json"):
        imported(alice, name)
    objects = shared(alice)
    notes = [o for o in objects if o["type"] == "note" and not o["content"].isascii()]
    assert notes
    for note in notes[:3]:
        word = next(w for w in words(note["content"]) if not w.isascii())
        assert note["id"] in search(alice, word), word
    holding = [o for o in objects if o.get("x_misp_data")]
    assert len(holding) >= 2
    for obj in holding:
        runs = [w for w in words(obj["x_misp_data"][:2000]) if len(w) >= 12]
        for run in runs[:3]:
            assert obj["id"] not in search(alice, run), run
