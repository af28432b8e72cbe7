"""Three real instances (an alliance centre, an EU response team, an industry hub), each its own
process and database, made and paired through the command line: distribution and TLP are
honoured hop by hop, signatures hold across two hops, loops deliver nothing twice, and what was
altered on the way is turned away and audited."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import orjson
import pytest
from tests.factories import indicator
from tests.federation.instances import Instance, make_instance, pair, sharing_of

from shieldwall.db import Database
from shieldwall.federation.keys import instance_key
from shieldwall.federation.outgoing import leaving
from shieldwall.taxii.collections import FEDERATION_COLLECTION_ID

TAXII = "application/taxii+json;version=2.1"


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, ...]]:
    tmp = tmp_path_factory.mktemp("federation")
    alliance = make_instance(tmp, "alliance", "alliance")
    eu = make_instance(tmp, "eu", "partner")
    hub = make_instance(tmp, "hub", "industry")
    try:
        pair(alliance, eu)
        pair(eu, hub)
        yield alliance, eu, hub
    finally:
        for instance in (alliance, eu, hub):
            instance.server.stop()


def test_distribution_and_tlp_hold_hop_by_hop(trio: tuple[Instance, ...]) -> None:
    alliance, eu, hub = trio
    group = alliance.cli("group", "add", "alliance-eu", "--member", "alliance", "--member", "eu")
    group_id = group.strip().splitlines()[-1]
    org = indicator("198.51.100.1", tlp="green", distribution="org")
    community = indicator("198.51.100.2", tlp="green", distribution="community")
    federation = indicator("198.51.100.3", tlp="amber", distribution="federation")
    everywhere = indicator("198.51.100.4", tlp="green", distribution="all")
    red = indicator("198.51.100.5", tlp="red", distribution="group", group=group_id)
    anonymous = indicator("198.51.100.6", tlp="clear", distribution="all", anonymous=True)
    alliance.share(org, community, federation, everywhere, red, anonymous)

    assert "FAILED" not in eu.sync("alliance")
    # The group's definition travelled with it: the EU instance knows it by its name, with the
    # alliance in it, and no member of its own until an admin adds them.
    groups = {g["id"]: g for g in orjson.loads(eu.cli("group", "list", "--json"))}
    assert groups[group_id]["name"] == "alliance-eu"
    assert groups[group_id]["members"] == ["alliance"]
    eu.cli("member", "add", "hub-ops", "--kind", "industry")  # not in the group
    # An admin of the EU instance lets its own member (and, wrongly, the hub) into the group.
    eu.cli("group", "join", group_id, "--member", "eu")
    eu.cli("group", "join", group_id, "--member", "hub")
    hub.sync("eu")
    # Nor does the group's definition travel further, though the hub's account is in it there.
    at_hub = hub.cli("group", "list")
    assert group_id not in at_hub and "alliance-eu" not in at_hub

    # Negative first: what never leaves, and what travels no further than one hop.
    for hidden in (org, community):
        assert eu.seen(hidden["id"]) is None and hub.seen(hidden["id"]) is None
    for one_hop in (federation, red):
        assert hub.seen(one_hop["id"]) is None
    # The EU team has the federation object as community, the group's red one in the group.
    assert sharing_of(eu.seen(federation["id"]))["distribution"] == "community"  # type: ignore[arg-type]
    arrived_red = eu.seen(red["id"])
    assert arrived_red is not None and sharing_of(arrived_red)["sharing_group"] == group_id
    # `all` travels on, signed by its origin, with the path it took.
    at_hub = hub.seen(everywhere["id"])
    assert at_hub is not None
    alliance_key_id = sharing_of(at_hub)["origin"]
    assert sharing_of(at_hub)["signature"]["key_id"] == alliance_key_id
    assert len(sharing_of(at_hub)["path"]) == 2 and sharing_of(at_hub)["path"][0] == alliance_key_id
    # An anonymous contribution travels as the alliance's broker, saying nothing of who.
    anon_at_hub = hub.seen(anonymous["id"])
    assert anon_at_hub is not None and sharing_of(anon_at_hub)["anonymous"] is False
    assert anon_at_hub["created_by_ref"] == alliance.seen(anonymous["id"])["created_by_ref"]  # type: ignore[index]

    # Syncing again stores nothing twice.
    assert "stored 0" in eu.sync("alliance")
    assert "stored 0" in hub.sync("eu")


def test_a_loop_of_three_peers_delivers_nothing_twice(trio: tuple[Instance, ...]) -> None:
    alliance, eu, hub = trio
    pair(hub, alliance)  # alliance - eu - hub - alliance: a loop
    everywhere = indicator("198.51.100.20", tlp="green", distribution="all")
    from_eu = indicator("198.51.100.21", tlp="clear", distribution="all")
    alliance.share(everywhere)
    eu.share(from_eu)
    for _ in range(2):
        for instance in (eu, hub, alliance):
            instance.sync()
    for instance in (alliance, eu, hub):
        for obj in (everywhere, from_eu):
            answer = httpx.get(f"{instance.url}/api/v1/objects/{obj['id']}",
                               params={"versions": "all"}, headers=instance.auth())  # fmt: skip
            assert answer.status_code == 200, (instance.name, answer.text)
            assert len(answer.json()["objects"]) == 1, instance.name
    # What came back to its origin was recognised, not stored as another member's.
    assert "origin" not in sharing_of(alliance.seen(everywhere["id"]))  # type: ignore[arg-type]


def test_an_altered_or_unsigned_object_is_turned_away_and_audited(
    trio: tuple[Instance, ...],
) -> None:
    alliance, eu, _ = trio
    # The EU instance's own key signs; then the object is altered on the way to the alliance.
    eu_db = Database(eu.database_url)
    try:
        key = instance_key(eu_db)
    finally:
        eu_db.dispose()
    honest = leaving(indicator("198.51.100.30", tlp="green", distribution="all"), key)
    altered = leaving(indicator("198.51.100.31", tlp="green", distribution="all"), key)
    altered["pattern"] = "[ipv4-addr:value = '198.51.100.99']"
    unsigned = indicator("198.51.100.32", tlp="green", distribution="all")
    forged = leaving(indicator("198.51.100.33", tlp="green", distribution="all"), key)
    forged["extensions"][next(iter(forged["extensions"]))]["signature"]["value"] = base64.b64encode(
        b"\0" * 64
    ).decode()
    email, api_key = eu.accounts["alliance"]
    basic = (email, api_key)
    root = f"{alliance.url}/taxii2/shieldwall/"
    inbox = next(
        c for c in httpx.get(f"{root}collections/", auth=basic,
                             headers={"Accept": TAXII}).json()["collections"]
        if c["can_write"]
    )  # fmt: skip
    status = httpx.post(
        f"{root}collections/{inbox['id']}/objects/", auth=basic,
        content=httpx.Request("POST", "/", json={
            "objects": [honest, altered, unsigned, forged]}).content,
        headers={"Accept": TAXII, "Content-Type": TAXII},
    )  # fmt: skip
    assert status.status_code == 202, status.text
    body = status.json()
    assert [s["id"] for s in body["successes"]] == [honest["id"]]
    assert {f["id"] for f in body["failures"]} == {altered["id"], unsigned["id"], forged["id"]}
    assert alliance.seen(altered["id"]) is None and alliance.seen(honest["id"]) is not None
    assert "federation.refused" in alliance.audit_actions()


def test_a_peer_reads_only_what_may_leave_towards_it(trio: tuple[Instance, ...]) -> None:
    alliance, eu, _ = trio
    secret = indicator("198.51.100.40", tlp="amber", distribution="community")
    alliance.share(secret)
    email, api_key = eu.accounts["alliance"]  # the account the alliance made for the EU team
    rest = httpx.get(f"{alliance.url}/api/v1/objects/{secret['id']}", headers=eu.auth(api_key))
    assert rest.status_code == 404
    listing = httpx.get(f"{alliance.url}/api/v1/objects", headers=eu.auth(api_key))
    assert listing.status_code == 200 and secret["id"] not in listing.text
    taxii = httpx.get(
        f"{alliance.url}/taxii2/shieldwall/collections/{FEDERATION_COLLECTION_ID}/objects/",
        auth=(email, api_key), headers={"Accept": TAXII},
    )  # fmt: skip
    assert taxii.status_code == 200 and secret["id"] not in taxii.text
    # An account of a member that is not a peer has no federation collection.
    other = httpx.get(
        f"{alliance.url}/taxii2/shieldwall/collections/{FEDERATION_COLLECTION_ID}/",
        headers={"Accept": TAXII, **alliance.auth()},
    )  # fmt: skip
    assert other.status_code == 404
