"""MISP feeds: /feeds/misp/{feed}/manifest.json, hashes.csv and {uuid}.json serve a TAXII
collection's selection as MISP for the API key's user, and `pull_feed` / `shieldwall feed pull`
import only what is new or changed, from a feed on a loopback socket or in a folder.

Negative cases first: a feed limited to a group is no feed for others, a feed never lists,
hashes or serves an event or value the reader may not see, nor one past its TLP ceiling.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from pymisp import MISPEvent

from shieldwall.exchange.misp_feed import HttpFeed, folder_fetch, pull_feed
from shieldwall.markings import TLP
from shieldwall.policy import Role
from shieldwall.selections.service import Selection
from shieldwall.taxii.collections import create_collection
from tests.api.serving import serving
from tests.exchange.test_misp_import import osint_event
from tests.factories import ApiUser, World, indicator, report
from tests.test_cli import run

OSINT_UUID = "5f3c2a10-8d1e-4c7b-9a2f-0e6b1d4c3a21"


def feed(world: World, **selection: Any) -> str:
    with world.db.write() as conn:
        return create_collection(conn, f"Feed {selection}", Selection(**selection))


def md5(value: str) -> str:
    return hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()


def hashes(user: ApiUser, feed_id: str) -> set[str]:
    response = user.get(f"/feeds/misp/{feed_id}/hashes.csv")
    assert response.status_code == 200, response.text
    return set(response.text.splitlines())


def test_a_feed_never_serves_what_its_reader_may_not_see(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c, Role.READER)
    group = world.group([a, c])
    secret = indicator("192.0.2.66", tlp="amber", distribution="org")
    hidden = report([secret["id"]], "Org only", distribution="org")
    assert alice.share(secret, hidden).status_code == 201
    assert alice.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    everything, grouped = feed(world), feed(world, sharing_group_id=group)

    assert bob.get(f"/feeds/misp/{grouped}/manifest.json").status_code == 404
    assert carol.get(f"/feeds/misp/{grouped}/manifest.json").status_code == 200
    assert world.client.get(f"/feeds/misp/{everything}/manifest.json").status_code == 401
    listed = bob.get(f"/feeds/misp/{everything}/manifest.json").json()
    assert list(listed) == [OSINT_UUID]
    assert md5("192.0.2.66") + "," not in "".join(hashes(bob, everything))
    org_only_ssdeep = "24576:Zx3tg5n+PHj6S7yQ9c3R:Zx3tDP6S+Q9c3R"
    assert f"{md5(org_only_ssdeep)},{OSINT_UUID}" not in hashes(bob, everything)
    assert f"{md5(org_only_ssdeep)},{OSINT_UUID}" in hashes(alice, everything)
    hidden_uuid = hidden["id"].partition("--")[2]
    assert bob.get(f"/feeds/misp/{everything}/{hidden_uuid}.json").status_code == 404
    assert alice.get(f"/feeds/misp/{everything}/{hidden_uuid}.json").status_code == 200
    assert bob.get("/feeds/misp/not-a-feed/manifest.json").status_code == 404


def test_a_feed_keeps_to_its_tlp_ceiling_inside_events(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    event = osint_event()
    event["Event"]["Attribute"][1]["Tag"] = [{"name": "tlp:amber"}]  # the domain
    assert alice.post("/api/v1/imports/misp", json=event).status_code == 201
    amber = indicator("192.0.2.70", tlp="amber")
    assert alice.share(amber, report([amber["id"]], "Amber", tlp="amber")).status_code == 201
    green = feed(world, max_tlp=TLP.GREEN)
    assert list(bob.get(f"/feeds/misp/{green}/manifest.json").json()) == [OSINT_UUID]
    served = bob.get(f"/feeds/misp/{green}/{OSINT_UUID}.json").json()["Event"]
    values = {a["value"] for a in served["Attribute"]}
    assert "198.51.100.23" in values and "update-check.example" not in values


def test_a_served_event_is_what_misp_loads_and_what_the_manifest_lists(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    assert alice.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    feed_id = feed(world)
    entry = bob.get(f"/feeds/misp/{feed_id}/manifest.json").json()[OSINT_UUID]
    assert entry["info"].startswith("SYNTHETIC OSINT") and entry["timestamp"] == "1770790000"
    assert {"name": "tlp:green"} in entry["Tag"]
    served = bob.get(f"/feeds/misp/{feed_id}/{OSINT_UUID}.json").json()
    event = MISPEvent()
    event.load(copy.deepcopy(served))
    assert str(event.uuid) == OSINT_UUID and len(event.attributes) > 10
    assert f"{md5('198.51.100.23')},{OSINT_UUID}" in hashes(bob, feed_id)


def test_a_pull_over_http_fetches_only_new_and_changed_events(app: Any, world: World) -> None:
    alice = world.user(world.member(kind="national-cert"))
    bob = world.user(world.member())
    carol = world.user(world.member(), Role.READER)  # the feed's reader on the serving side
    assert alice.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    # Served and pulled by one instance here: the feed serves national CERTs' reports only,
    # or bob's copies would be served back to him.
    feed_id = feed(world, member_kinds=("national-cert",))
    viewer = _viewer(world, bob)
    with serving(app) as base, HttpFeed(f"{base}/feeds/misp/{feed_id}", carol.headers) as fetch:
        first = pull_feed(app.state.ingestor, viewer, fetch)
        assert (first.listed, first.fetched, first.skipped, first.failed) == (1, 1, 0, {})
        assert first.stored > 20
        again = pull_feed(app.state.ingestor, viewer, fetch)
        assert (again.fetched, again.skipped, again.stored) == (0, 1, 0)
        changed = osint_event()
        changed["Event"]["timestamp"] = "1770990000"
        changed["Event"]["Attribute"].append({
            "type": "domain", "value": "new.update-check.example", "to_ids": True,
            "category": "Network activity", "uuid": "a1000000-0000-4000-8000-0000000000ff",
            "timestamp": "1770990000",
        })  # fmt: skip
        assert alice.post("/api/v1/imports/misp", json=changed).status_code == 201
        newer = pull_feed(app.state.ingestor, viewer, fetch)
        assert (newer.fetched, newer.skipped) == (1, 0) and newer.stored >= 2
    bobs = bob.get("/api/v1/objects", params={"type": "indicator", "limit": 1000}).json()
    assert "[domain-name:value = 'new.update-check.example']" in {
        o["pattern"] for o in bobs["objects"]
    }


def _viewer(world: World, user: ApiUser):  # type: ignore[no-untyped-def]
    from shieldwall.members import service

    with world.db.read() as conn:
        return service.viewer_for_user(conn, user.user_id)


def test_the_command_pulls_a_feed_from_a_folder(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    event = osint_event()
    (folder / f"{OSINT_UUID}.json").write_text(json.dumps(event))
    broken_uuid = "00000000-0000-4000-8000-0000000000bb"
    (folder / f"{broken_uuid}.json").write_text(json.dumps({"nothing": "here"}))
    (folder / "manifest.json").write_text(json.dumps({
        OSINT_UUID: {"timestamp": event["Event"]["timestamp"], "info": "x"},
        broken_uuid: {"timestamp": "1770000000", "info": "broken"},
    }))  # fmt: skip
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Test", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    first = run("feed", "pull", str(folder), "--user", "ana@cert.example",
                database_url=database_url, check=False)  # fmt: skip
    assert first.returncode == 1 and "2 events listed: 2 fetched" in first.stdout
    assert broken_uuid in first.stderr and "not a MISP event" in first.stderr
    assert folder_fetch(folder)("manifest.json")
    (folder / "manifest.json").write_text(json.dumps({
        OSINT_UUID: {"timestamp": event["Event"]["timestamp"], "info": "x"}}))  # fmt: skip
    second = run("feed", "pull", str(folder), "--user", "ana@cert.example", "--json",
                 database_url=database_url)  # fmt: skip
    assert json.loads(second.stdout) == {"listed": 1, "fetched": 0, "skipped": 1, "stored": 0,
                                         "failed": {}}  # fmt: skip


def test_two_members_copies_of_one_event_are_two_feed_events(world: World) -> None:
    alice, dave = world.user(world.member()), world.user(world.member())
    bob = world.user(world.member())
    for user in (alice, dave):
        assert user.post("/api/v1/imports/misp", json=osint_event()).status_code == 201
    feed_id = feed(world)
    listed = list(bob.get(f"/feeds/misp/{feed_id}/manifest.json").json())
    assert len(listed) == 2 and listed[0] == OSINT_UUID
    for event_uuid in listed:
        served = bob.get(f"/feeds/misp/{feed_id}/{event_uuid}.json")
        assert served.status_code == 200 and served.json()["Event"]["uuid"] == event_uuid
    assert bob.get(f"/feeds/misp/{feed_id}/{uuid.uuid4()}.json").status_code == 404
    assert bob.get(f"/feeds/misp/{feed_id}/not-a-uuid.json").status_code == 404
