"""Correlations and lookups through the API: exact values, ranges, URLs on a domain, the policy."""

from __future__ import annotations

import hashlib

from shieldwall.policy import Role
from tests.factories import World, indicator, report, stix_id


def pattern_indicator(pattern: str, **marking: object) -> dict:
    return {**indicator(**marking), "pattern": pattern}  # type: ignore[arg-type]


def test_the_same_value_correlates_across_members(world: World) -> None:
    a, b = world.user(world.member()), world.user(world.member())
    mine = indicator("198.51.100.7", tlp="green", distribution="community")
    theirs = indicator("198.51.100.7", tlp="green", distribution="community")
    rep = report([theirs["id"]], tlp="green", distribution="community")
    assert a.share(mine).status_code == 201
    assert b.share(theirs, rep).status_code == 201
    data = a.get(f"/api/v1/objects/{mine['id']}/correlations").json()
    assert [m["id"] for m in data["matches"]] == [theirs["id"]]
    assert data["matches"][0]["values"] == ["ipv4:198.51.100.7"]
    assert data["matches"][0]["reports"] == [rep["id"]]
    assert data["seen_in_reports"] == 1 and data["seen_by_members"] == 1


def test_correlations_never_show_what_the_viewer_may_not_see(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c, Role.READER)
    public = indicator("203.0.113.9", tlp="green", distribution="community")
    secret = indicator("203.0.113.9", tlp="red", distribution="org")
    secret_report = report([secret["id"]], tlp="red", distribution="org")
    alice.share(public)
    bob.share(secret, secret_report)
    # carol sees alice's indicator but not bob's: no match, no count, no report
    data = carol.get(f"/api/v1/objects/{public['id']}/correlations").json()
    assert data["matches"] == [] and data["seen_in_reports"] == 0 and data["seen_by_members"] == 0
    looked = carol.post("/api/v1/lookup", json={"values": ["203.0.113.9"]}).json()["results"][0]
    assert [m["id"] for m in looked["matches"]] == [public["id"]]
    # nor may she ask about bob's object at all
    hidden = carol.get(f"/api/v1/objects/{secret['id']}/correlations")
    assert hidden.status_code == 404
    # bob sees both
    data = bob.get(f"/api/v1/objects/{secret['id']}/correlations").json()
    assert [m["id"] for m in data["matches"]] == [public["id"]]


def test_address_inside_a_range_and_a_url_on_a_domain(world: World) -> None:
    a = world.user(world.member())
    net = pattern_indicator("[ipv4-addr:value = '192.0.2.0/24']")
    host = indicator("192.0.2.77")
    domain = pattern_indicator("[domain-name:value = 'evil.example']")
    url = pattern_indicator("[url:value = 'http://EVIL.example/payload']")
    assert a.share(net, host, domain, url).status_code == 201
    from_net = a.get(f"/api/v1/objects/{net['id']}/correlations").json()
    assert [m["id"] for m in from_net["matches"]] == [host["id"]]
    from_host = a.get(f"/api/v1/objects/{host['id']}/correlations").json()
    assert [m["id"] for m in from_host["matches"]] == [net["id"]]
    from_domain = a.get(f"/api/v1/objects/{domain['id']}/correlations").json()
    assert [m["id"] for m in from_domain["matches"]] == [url["id"]]
    looked = a.post("/api/v1/lookup", json={"values": ["192.0.2.0/24", "192.0.2.5"]}).json()
    assert {m["id"] for m in looked["results"][0]["matches"]} == {net["id"], host["id"]}
    assert [m["id"] for m in looked["results"][1]["matches"]] == [net["id"]]


def test_a_value_held_by_very_many_objects_is_noisy(world: World, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.replace(noisy_threshold=3)
    a = world.user(world.member())
    many = [indicator("198.51.100.200") for _ in range(5)]
    rare = indicator("198.51.100.201")
    other = {**indicator("198.51.100.201"), "id": stix_id("indicator")}
    a.share(*many, rare, other)
    data = a.get(f"/api/v1/objects/{many[0]['id']}/correlations").json()
    assert data["noisy_values"] == ["ipv4:198.51.100.200"] and data["matches"] == []
    looked = a.post("/api/v1/lookup", json={"values": ["198.51.100.200", "198.51.100.201"]}).json()
    assert looked["results"][0]["noisy_values"] == ["ipv4:198.51.100.200"]
    assert len(looked["results"][1]["matches"]) == 2


def test_private_lookup_discloses_only_a_prefix(world: World) -> None:
    a, b = world.user(world.member()), world.user(world.member())
    a.share(indicator("198.51.100.50", tlp="green", distribution="community"))
    digest = hashlib.sha256(b"ipv4:198.51.100.50").hexdigest()
    answer = b.post("/api/v1/lookup/private", json={"prefixes": [digest[:5]]}).json()
    assert digest in [r["digest"] for r in answer["results"][digest[:5]]]
    bad = b.post("/api/v1/lookup/private", json={"prefixes": ["xyz"]})
    assert bad.status_code == 422
