"""GET /api/v1/reports/{id}: a report with its visible objects, relationships and correlated
reports, through the policy. The "may NOT see" cases come first; every test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from shieldwall.markings import TLP, Distribution, allows
from shieldwall.policy import Role
from tests.factories import STIX_TIME, ApiUser, World, indicator, marked, report, stix_id

VALID = [(tlp, d) for tlp, d in itertools.product(TLP, Distribution) if allows(tlp, d)]
COMMUNITY = {"tlp": "green", "distribution": "community"}


def sdo(type_: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "spec_version": "2.1",
        "id": stix_id(type_),
        "created": STIX_TIME,
        "modified": STIX_TIME,
        **properties,
    }


def relationship(source: str, target: str, kind: str = "indicates", **marking: Any) -> dict:
    rel = sdo("relationship", relationship_type=kind, source_ref=source, target_ref=target)
    return marked(rel, **marking)


def malware(name: str, **marking: Any) -> dict[str, Any]:
    return marked(sdo("malware", name=name, is_family=True), **marking)


def view(user: ApiUser, report_id: str) -> dict[str, Any]:
    response = user.get(f"/api/v1/reports/{report_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def without_report(data: dict[str, Any]) -> str:
    """Everything the view adds to the report's own body, as text: where no trace may be."""
    return orjson.dumps({k: v for k, v in data.items() if k != "report"}).decode()


# --- who may NOT see ---------------------------------------------------------------------------


@pytest.fixture
def story(world: World) -> dict[str, Any]:
    """A's community report R refers to objects of every reach; other reports share its values.

    B is in A's group, C is not. Values: .1 is held by R's community
    indicator, .2 only by its org-only indicator, .3 by its group indicator."""
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    group = world.group([a, b])
    alice, bob, carol = world.user(a), world.user(b), world.user(c)
    o = {
        "comm": indicator("203.0.113.1", **COMMUNITY),
        "org": indicator("203.0.113.2", tlp="amber", distribution="org"),
        "red": indicator("203.0.113.4", tlp="red", distribution="org"),
        "group": indicator("203.0.113.3", tlp="amber", distribution="group", group=group),
        "amber": indicator("203.0.113.5", tlp="amber", distribution="community"),
        "malware": malware("Quokkabot", **COMMUNITY),
    }
    rels = {
        # listed by the report, visible itself, but its source is org-only
        "listed_hidden_end": relationship(o["org"]["id"], o["malware"]["id"], **COMMUNITY),
        # not listed: found around the malware; its target is the group's
        "around_group_end": relationship(o["malware"]["id"], o["group"]["id"], "uses", **COMMUNITY),
        "around_visible": relationship(o["comm"]["id"], o["malware"]["id"], **COMMUNITY),
        # the relationship itself is org-only
        "org_relationship": relationship(
            o["amber"]["id"], o["malware"]["id"], tlp="amber", distribution="org"
        ),
    }
    refs = [*(x["id"] for x in o.values()), rels["listed_hidden_end"]["id"]]
    main = report(refs, name="Quokka campaign", **COMMUNITY)
    assert alice.share(*o.values(), *rels.values(), main).status_code == 201
    # Reports elsewhere holding the same values.
    b_ind = indicator("203.0.113.1", **COMMUNITY)
    by_b = report([b_ind["id"]], name="B sees .1 too", **COMMUNITY)
    assert bob.share(b_ind, by_b).status_code == 201
    a_org_ind = indicator("203.0.113.1", tlp="amber", distribution="org")
    a_org = report([a_org_ind["id"]], name="A org-only report", tlp="amber", distribution="org")
    a_grp_ind = indicator("203.0.113.1", tlp="amber", distribution="group", group=group)
    a_grp = report(
        [a_grp_ind["id"]], name="A group report", tlp="amber", distribution="group", group=group
    )
    assert alice.share(a_org_ind, a_org, a_grp_ind, a_grp).status_code == 201
    # C, in the community, holds the value only R's org-only indicator has.
    c_ind = indicator("203.0.113.2", **COMMUNITY)
    by_c = report([c_ind["id"]], name="C holds .2", **COMMUNITY)
    assert carol.share(c_ind, by_c).status_code == 201
    return {
        "o": o,
        "rels": rels,
        "main": main,
        "by_b": by_b,
        "a_org": a_org,
        "a_grp": a_grp,
        "by_c": by_c,
        "alice": alice,
        "bob": world.user(b, Role.READER),
        "carol": world.user(c, Role.READER),
    }


def test_b_never_sees_what_a_keeps_to_itself_or_its_group(story: dict[str, Any]) -> None:
    o, rels = story["o"], story["rels"]
    for who, seen_objects, seen_rels, seen_reports in (
        (
            "bob",
            ["comm", "group", "amber", "malware"],
            ["around_group_end", "around_visible"],
            ["by_b", "a_grp"],
        ),
        ("carol", ["comm", "amber", "malware"], ["around_visible"], ["by_b"]),
    ):
        data = view(story[who], story["main"]["id"])
        # The body as its author wrote it: object_refs names everything, visible or not.
        assert data["report"] == {**data["report"], "object_refs": story["main"]["object_refs"]}
        assert ids(data["objects"]) == [o[k]["id"] for k in seen_objects], who
        assert sorted(ids(data["relationships"])) == sorted(rels[k]["id"] for k in seen_rels), who
        assert sorted(ids(data["correlated_reports"])) == sorted(
            story[k]["id"] for k in seen_reports
        ), who
        assert set(data["scores"]) == {o[k]["id"] for k in seen_objects if k != "malware"}, who
        added = without_report(data)
        hidden_objects = [o[k]["id"] for k in o if k not in seen_objects]
        hidden_rels = [rels[k]["id"] for k in rels if k not in seen_rels]
        hidden_reports = [story[k] for k in ("a_org", "a_grp", "by_c", "by_b")]
        hidden_reports = [
            r for r in hidden_reports if r["id"] not in ids(data["correlated_reports"])
        ]
        for secret in hidden_objects + hidden_rels:
            assert secret not in added, (who, secret)
        for other in hidden_reports:
            assert other["id"] not in added and other["name"] not in added, (who, other["name"])
        # Not even the org-only indicator's value, through which C's report would correlate.
        assert "203.0.113.2" not in added and "203.0.113.4" not in added, who
        if who == "carol":
            assert "203.0.113.3" not in added


def test_correlations_of_a_report_never_show_what_the_viewer_may_not_see(
    story: dict[str, Any],
) -> None:
    o = story["o"]
    data = story["carol"].get(f"/api/v1/objects/{story['main']['id']}/correlations").json()
    assert data["values"] == ["ipv4:203.0.113.1", "ipv4:203.0.113.5"]
    assert ids(data["reports"]) == [story["by_b"]["id"]]
    assert data["seen_in_reports"] == 1 and data["seen_by_members"] == 1
    (match,) = data["matches"]
    assert match["values"] == ["ipv4:203.0.113.1"] and match["objects"] == [o["comm"]["id"]]
    text = orjson.dumps(data).decode()
    hidden = [o["org"]["id"], o["red"]["id"], o["group"]["id"], "203.0.113.2", "203.0.113.3"]
    hidden += [story[k]["id"] for k in ("a_org", "a_grp", "by_c")]
    for secret in hidden:
        assert secret not in text, secret
    # And from C's side: its report does not correlate with R through R's org-only indicator.
    from_c = story["carol"].get(f"/api/v1/objects/{story['by_c']['id']}/correlations").json()
    assert from_c["reports"] == [] and from_c["matches"] == [] and from_c["seen_in_reports"] == 0
    assert (
        story["carol"].get(f"/api/v1/reports/{story['by_c']['id']}").json()["correlated_reports"]
        == []
    )


def test_an_invisible_report_is_the_same_404_as_an_unknown_one(story: dict[str, Any]) -> None:
    unknown = story["bob"].get(f"/api/v1/reports/{stix_id('report')}")
    assert unknown.status_code == 404
    for who, report_key in (("bob", "a_org"), ("carol", "a_org"), ("carol", "a_grp")):
        hidden = story[who].get(f"/api/v1/reports/{story[report_key]['id']}")
        assert (hidden.status_code, hidden.json()) == (404, unknown.json()), (who, report_key)
        correlations = story[who].get(f"/api/v1/objects/{story[report_key]['id']}/correlations")
        assert correlations.status_code == 404
    assert unknown.json()["error"]["message"] == "no such report"


@pytest.mark.parametrize("viewer", ["bob", "carol", "alice", "admin"])
def test_objects_of_every_reach_are_shown_exactly_as_the_list_shows_them(
    world: World, viewer: str
) -> None:
    """One indicator per allowed TLP x distribution in one community report: each viewer's view
    holds exactly what GET /objects lets that viewer see."""
    a, b, c = world.member(), world.member(), world.member()
    group = world.group([a, b])
    alice = world.user(a)
    users = {"alice": alice, "bob": world.user(b, Role.READER), "carol": world.user(c)}
    users["admin"] = world.admin()
    members = [
        indicator(f"198.51.100.{n}", tlp=tlp, distribution=d,
                  group=group if d is Distribution.GROUP else None)
        for n, (tlp, d) in enumerate(VALID)
    ]  # fmt: skip
    rep = report([m["id"] for m in members], **COMMUNITY)
    assert alice.share(*members, rep).status_code == 201
    user = users[viewer]
    listed = user.object_ids()
    expected = [m["id"] for m in members if m["id"] in listed]
    if viewer in ("bob", "carol"):
        assert 0 < len(expected) < len(members)
    data = view(user, rep["id"])
    assert ids(data["objects"]) == expected
    assert set(data["scores"]) == set(expected)
    text = without_report(data)
    assert not [m["id"] for m in members if m["id"] not in listed and m["id"] in text]


def test_a_newer_version_that_narrows_an_object_hides_it(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    ind = indicator("192.0.2.10", **COMMUNITY)
    rep = report([ind["id"]], **COMMUNITY)
    assert alice.share(ind, rep).status_code == 201
    assert ids(view(bob, rep["id"])["objects"]) == [ind["id"]]
    narrowed = marked(
        {**ind, "modified": "2026-02-01T00:00:00.000Z"}, tlp="green", distribution="org"
    )
    assert alice.share(narrowed).status_code == 201
    data = view(bob, rep["id"])
    assert data["objects"] == [] and data["scores"] == {}
    assert ind["id"] not in without_report(data)
    assert ids(view(alice, rep["id"])["objects"]) == [ind["id"]]


def test_only_the_contributor_and_admins_learn_who_shared_anonymously(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    ind = indicator("192.0.2.20", tlp="green", anonymous=True)
    rep = report([ind["id"]], tlp="green", anonymous=True)
    assert alice.share(ind, rep).status_code == 201
    assert view(bob, rep["id"])["contributors"] == {}
    assert view(alice, rep["id"])["contributors"] == {ind["id"]: a, rep["id"]: a}
    assert view(world.admin(), rep["id"])["contributors"] == {ind["id"]: a, rep["id"]: a}


# --- what the view shows -----------------------------------------------------------------------


def test_the_author_sees_the_whole_story(story: dict[str, Any]) -> None:
    o, rels = story["o"], story["rels"]
    data = view(story["alice"], story["main"]["id"])
    assert data["report"]["id"] == story["main"]["id"]
    assert ids(data["objects"]) == [x["id"] for x in o.values()]  # the author's order
    assert sorted(ids(data["relationships"])) == sorted(r["id"] for r in rels.values())
    assert sorted(ids(data["correlated_reports"])) == sorted(
        story[k]["id"] for k in ("by_b", "a_org", "a_grp", "by_c")
    )
    by_c = next(r for r in data["correlated_reports"] if r["id"] == story["by_c"]["id"])
    assert by_c["name"] == "C holds .2" and by_c["tlp"] == "green"
    assert by_c["values"] == ["ipv4:203.0.113.2"]
    assert by_c["objects"] == [o["org"]["id"]]
    assert len(by_c["their_objects"]) == 1
    assert set(data["scores"]) == {x["id"] for k, x in o.items() if k != "malware"}
    assert 0 <= data["scores"][o["comm"]["id"]]["score"] <= 100


def test_reports_correlate_through_ranges_and_shared_objects(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    host = indicator("192.0.2.77", **COMMUNITY)
    actor = marked(sdo("threat-actor", name="Hidden Wombat"), **COMMUNITY)
    mine = report([host["id"], actor["id"]], name="Mine", **COMMUNITY)
    assert alice.share(host, actor, mine).status_code == 201
    net = {**indicator(**COMMUNITY), "pattern": "[ipv4-addr:value = '192.0.2.0/24']"}
    ranged = report([net["id"]], name="Range", **COMMUNITY)
    same_actor = report([actor["id"]], name="Same actor", **COMMUNITY)
    assert bob.share(net, ranged, same_actor).status_code == 201
    data = view(bob, mine["id"])
    by_id = {r["id"]: r for r in data["correlated_reports"]}
    assert set(by_id) == {ranged["id"], same_actor["id"]}
    assert by_id[ranged["id"]]["values"] == ["ipv4-cidr:192.0.2.0/24"]
    assert by_id[ranged["id"]]["objects"] == [host["id"]]
    assert by_id[ranged["id"]]["their_objects"] == [net["id"]]
    assert (
        by_id[same_actor["id"]] | {"values": [], "objects": [actor["id"]]}
        == by_id[same_actor["id"]]
    )
    # From the other side, the range's report finds the address's.
    back = view(alice, ranged["id"])
    assert ids(back["correlated_reports"]) == [mine["id"]]
    correlations = bob.get(f"/api/v1/objects/{mine['id']}/correlations").json()
    assert ids(correlations["matches"]) == [net["id"]]
    assert correlations["matches"][0]["objects"] == [host["id"]]
    assert correlations["seen_in_reports"] == 2


def test_a_value_held_by_very_many_objects_is_noisy_not_a_link(world: World, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.replace(noisy_threshold=2)
    alice = world.user(world.member())
    common = [indicator("198.51.100.250") for _ in range(4)]
    reports = [report([c["id"]], name=f"Common {n}") for n, c in enumerate(common)]
    assert alice.share(*common, *reports).status_code == 201
    assert view(alice, reports[0]["id"])["correlated_reports"] == []
    data = alice.get(f"/api/v1/objects/{reports[0]['id']}/correlations").json()
    assert data["noisy_values"] == ["ipv4:198.51.100.250"] and data["reports"] == []


def test_a_large_report_comes_whole_in_the_authors_order(world: World) -> None:
    alice = world.user(world.member())
    members = [indicator(f"10.{n // 250}.{n % 250}.1") for n in range(2300)]
    rels = [relationship(members[n]["id"], members[n + 1]["id"], "related-to") for n in range(5)]
    members.reverse()  # the author's order, not the order of storage
    rep = report([m["id"] for m in members] + [stix_id("indicator")])  # and one never shared
    assert alice.share(*reversed(members), *rels, rep).status_code == 201
    data = view(alice, rep["id"])
    assert ids(data["objects"]) == [m["id"] for m in members]
    assert sorted(ids(data["relationships"])) == sorted(r["id"] for r in rels)
    assert len(data["scores"]) == len(members)
    entries = world.admin().get("/api/v1/audit", params={"action": "intel.report"}).json()
    parts = [(e["detail"]["part"], e["detail"]["count"]) for e in entries["entries"]]
    assert parts == [("objects", 1000), ("objects", 1000), ("objects", 300), ("relationships", 5)]
    assert all(e["user_id"] == alice.user_id for e in entries["entries"])


def test_bad_ids_are_422_and_a_key_is_required(world: World) -> None:
    alice = world.user(world.member())
    ind = indicator()
    assert alice.share(ind).status_code == 201
    for bad in (ind["id"], "report--not-a-uuid", "x" * 300):
        response = alice.get(f"/api/v1/reports/{bad}")
        assert response.status_code == 422, (bad, response.text)
        assert "report--<UUID>" in response.json()["error"]["message"]
    assert world.client.get(f"/api/v1/reports/{stix_id('report')}").status_code == 401
