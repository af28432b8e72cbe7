"""What a lookup answers about each value, through the API: revoked intel marked and scored 0,
warning-listed values answered with their warning, unreadable values skipped and named, and the
reports that hold each match named once; never anything the viewer may not see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.settings import Settings
from tests.factories import STIX_TIME, World, indicator, report

LATER = "2026-01-16T10:00:00.000Z"
# The lists test_lookup_helper.py uses: the session builds their index once.
LISTS = "public-dns-v4,rfc1918,tranco"


def revoked(obj: dict[str, Any]) -> dict[str, Any]:
    """The next version of `obj`, revoked by its author."""
    return {**obj, "modified": LATER, "revoked": True}


def ask(user: Any, values: list[Any], **options: Any) -> dict[str, Any]:
    response = user.post("/api/v1/lookup", json={"values": values, **options})
    assert response.status_code == 200, response.text
    return response.json()


def by_value(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["value"]: r for r in answer["results"]}


def test_a_revoked_indicator_is_marked_scored_0_and_left_out_by_min_score(world: World) -> None:
    owner, outsider = world.member(), world.member()
    bob, alice = world.user(owner), world.user(outsider)
    shared = indicator("198.51.100.20", tlp="green", distribution="community")
    hidden = indicator("198.51.100.21", tlp="amber", distribution="org")
    assert bob.share(shared, hidden).status_code == 201
    assert bob.share(revoked(shared), revoked(hidden)).status_code == 201

    # What alice must NOT see first: bob's organisation-only indicator, revoked or not.
    answer = ask(alice, ["198.51.100.21"])
    assert answer["results"][0]["matches"] == []
    assert answer["results"][0]["seen_by_members"] == 0
    assert "indicator--" not in str(answer)

    # What she may see: the revoked version, marked, scoring 0 whatever its evidence.
    match = ask(alice, ["198.51.100.20"])["results"][0]["matches"][0]
    assert match["id"] == shared["id"]
    assert match["revoked"] is True and match["score"] == 0.0
    gone = ask(alice, ["198.51.100.20"], min_score=1)["results"][0]
    assert gone["matches"] == [] and gone["seen_by_members"] == 0
    assert ask(alice, ["198.51.100.20"], min_score=0)["results"][0]["matches"]
    # Bob's own hidden one is revoked for him too.
    own = ask(bob, ["198.51.100.21"])["results"][0]["matches"]
    assert [(m["id"], m["revoked"], m["score"]) for m in own] == [(hidden["id"], True, 0.0)]


def test_current_intel_is_not_marked_revoked(world: World) -> None:
    bob = world.user(world.member())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # scores decay with age
    current = {
        **indicator("198.51.100.22", tlp="green", distribution="community"),
        "created": now, "modified": now,
    }  # fmt: skip
    assert bob.share(current).status_code == 201
    match = ask(bob, ["198.51.100.22"], min_score=1)["results"][0]["matches"][0]
    assert match["revoked"] is False and match["warninglisted"] is False
    assert match["score"] > 0


def test_revoked_objects_of_any_type_are_marked(world: World) -> None:
    bob = world.user(world.member())
    observable = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--5a3e9f7b-4a25-5d8f-8a5b-0d6bcf1c2b10",
        "value": "198.51.100.23",
    }
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--0c7b5b88-8ff7-4a4d-aa9c-feb398cd0061",
        "created": STIX_TIME,
        "modified": STIX_TIME,
        "name": "SYNTHETIC dropper",
        "is_family": False,
    }
    assert bob.share(observable, malware).status_code == 201
    match = ask(bob, ["198.51.100.23"])["results"][0]["matches"][0]
    assert match["type"] == "ipv4-addr" and match["revoked"] is False
    assert "score" not in match  # only indicators are scored
    assert ask(bob, ["198.51.100.23"], min_score=50)["results"][0]["matches"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.getbasetemp() / "cache")


@pytest.fixture
def listed(database_url: str, cache: str) -> Iterator[World]:
    """A world whose instance uses warning lists (the default fixture's uses none)."""
    settings = Settings(
        database_url=database_url,
        warninglists=LISTS,
        validation_workers=0,
        cache_dir=cache,
        lookup_helpers=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def test_a_warning_listed_value_is_answered_with_its_warning(listed: World) -> None:
    owner, sharer, outsider = listed.member(), listed.member(), listed.member()
    bob, carol, alice = listed.user(owner), listed.user(sharer), listed.user(outsider)
    hidden = indicator("8.8.4.4", tlp="amber", distribution="org")
    shared = indicator("8.8.8.8", tlp="green", distribution="community")
    plain = indicator("198.51.100.30", tlp="green", distribution="community")
    assert bob.share(hidden).status_code == 201
    assert carol.share(shared, plain).status_code == 201

    # What alice must NOT see first: bob's organisation-only indicator of a listed value. The
    # warning comes from the lists, which every member has, and says nothing about bob.
    answer = by_value(ask(alice, ["8.8.4.4"]))["8.8.4.4"]
    assert answer["matches"] == [] and answer["seen_by_members"] == 0
    assert {w["list"] for w in answer["warnings"]} == {"public-dns-v4"}

    # Carol's shared one is answered, flagged, with the warning naming the list.
    answers = by_value(ask(alice, ["8.8.8.8", "198.51.100.30"]))
    listed_answer = answers["8.8.8.8"]
    assert [m["id"] for m in listed_answer["matches"]] == [shared["id"]]
    assert listed_answer["matches"][0]["warninglisted"] is True
    assert listed_answer["seen_by_members"] == 1
    assert {w["list"] for w in listed_answer["warnings"]} == {"public-dns-v4"}
    assert answers["198.51.100.30"]["matches"][0]["warninglisted"] is False

    # Callers who want only what is worth acting on drop them.
    dropped = by_value(ask(alice, ["8.8.8.8", "198.51.100.30"], exclude_warninglisted=True))
    assert dropped["8.8.8.8"]["matches"] == [] and dropped["8.8.8.8"]["seen_by_members"] == 0
    assert [m["id"] for m in dropped["198.51.100.30"]["matches"]] == [plain["id"]]

    # Correlations still leave such values out: 8.8.8.8 in two objects links nothing.
    other = indicator("8.8.8.8", tlp="green", distribution="community")
    assert alice.share(other).status_code == 201
    linked = alice.get(f"/api/v1/objects/{other['id']}/correlations").json()
    assert linked["matches"] == []


def test_unreadable_values_are_skipped_and_named_with_their_positions(world: World) -> None:
    alice = world.user(world.member())
    mine = indicator("198.51.100.40", tlp="green")
    assert alice.share(mine).status_code == 201
    values = [
        "# a comment line",
        "198.51.100.40",
        {"kind": "ipv4", "value": "nope"},
        "",
        {"kind": "pirate", "value": "x"},
        "x" * 9000,
        {"kind": "domain", "value": "evil.example"},
    ]
    answer = ask(alice, values)
    assert [r["value"] for r in answer["results"]] == ["198.51.100.40", "evil.example"]
    assert [m["id"] for m in answer["results"][0]["matches"]] == [mine["id"]]
    assert [(u["index"], u["value"][:20]) for u in answer["unreadable"]] == [
        (0, "# a comment line"), (2, "nope"), (3, ""), (4, "x"), (5, "x" * 20),
    ]  # fmt: skip
    reasons = [u["message"] for u in answer["unreadable"]]
    assert "no rule recognises it" in reasons[0]
    assert reasons[1] == "not a valid ipv4"
    assert reasons[2] == "empty"
    assert "unknown observable kind" in reasons[3]
    assert "longer than 8,192" in reasons[4] and len(answer["unreadable"][4]["value"]) == 200
    # Nothing readable at all is an answer too, not an error.
    assert ask(alice, ["# only a comment"])["results"] == []


def test_a_malformed_lookup_is_still_refused_whole(world: World) -> None:
    alice = world.user(world.member())
    for body in (
        {"values": "198.51.100.1"},  # not a list
        {"values": [{"kind": "ipv4"}]},  # no value
        {"values": ["198.51.100.1"] * 10_001},  # too many
        {"values": ["198.51.100.1"], "min_score": 101},
    ):
        response = alice.post("/api/v1/lookup", json=body)
        assert response.status_code == 422, body
        assert "error" in response.json()


def test_reports_holding_a_match_are_named_once_if_visible(world: World) -> None:
    owner, outsider = world.member(), world.member()
    bob, alice = world.user(owner), world.user(outsider)
    shared = indicator("198.51.100.50", tlp="green", distribution="community")
    other = indicator("198.51.100.51", tlp="green", distribution="community")
    secret = report([shared["id"]], name="SYNTHETIC Bob's own notes", tlp="amber",
                    distribution="org")  # fmt: skip
    public = report([shared["id"], other["id"]], name="SYNTHETIC Campaign X", tlp="green",
                    distribution="community")  # fmt: skip
    # Apart: a report's objects in the same bundle would take its stricter marking.
    assert bob.share(shared, other).status_code == 201
    assert bob.share(secret).status_code == 201

    # What alice must NOT see first: bob's organisation-only report, not even its name.
    answer = ask(alice, ["198.51.100.50"])
    assert answer["results"][0]["matches"][0]["reports"] == []
    assert answer["results"][0]["seen_in_reports"] == 0
    assert answer["reports"] == {} and "Bob's own" not in str(answer)

    assert bob.share(public).status_code == 201
    answer = ask(alice, ["198.51.100.50", "198.51.100.51"])
    assert [r["matches"][0]["reports"] for r in answer["results"]] == [[public["id"]]] * 2
    assert answer["reports"] == {public["id"]: {"type": "report", "name": "SYNTHETIC Campaign X"}}
    # Bob sees both, each named.
    names = {r["name"] for r in ask(bob, ["198.51.100.50"])["reports"].values()}
    assert names == {"SYNTHETIC Campaign X", "SYNTHETIC Bob's own notes"}


def test_private_lookups_answer_as_lookups_do(listed: World) -> None:
    import hashlib

    owner, outsider = listed.member(), listed.member()
    bob, alice = listed.user(owner), listed.user(outsider)
    hidden = indicator("198.51.100.61", tlp="amber", distribution="org")
    gone = indicator("198.51.100.60", tlp="green", distribution="community")
    dns = indicator("8.8.8.8", tlp="green", distribution="community")
    assert bob.share(hidden, gone, dns).status_code == 201
    assert bob.share(report([gone["id"]], name="SYNTHETIC R", tlp="green")).status_code == 201
    assert bob.share(revoked(gone)).status_code == 201

    def private(value: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        digest = hashlib.sha256(value.encode()).hexdigest()
        response = alice.post("/api/v1/lookup/private", json={"prefixes": [digest[:5]]})
        assert response.status_code == 200, response.text
        body = response.json()
        entries = [e for e in body["results"][digest[:5]] if e["digest"] == digest]
        return (entries[0]["matches"] if entries else []), body["reports"]

    # What alice must NOT see first: bob's organisation-only indicator.
    assert private("ipv4:198.51.100.61") == ([], {})
    matches, reports = private("ipv4:198.51.100.60")
    assert [(m["id"], m["revoked"], m["score"]) for m in matches] == [(gone["id"], True, 0.0)]
    assert [r["name"] for r in reports.values()] == ["SYNTHETIC R"]
    matches, _ = private("ipv4:8.8.8.8")
    assert [(m["id"], m["warninglisted"]) for m in matches] == [(dns["id"], True)]
