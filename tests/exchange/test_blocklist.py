"""GET /api/v1/exports/blocklist: what a member may block, and nothing it may not see.

Negative cases first: another member's org-only or group intel never reaches a blocklist, nor
do revoked, expired or superseded indicators, weak ones below min_score, or warning-list values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.factories import STIX_TIME, ApiUser, World, indicator


def fresh(obj: dict[str, Any], **more: Any) -> dict[str, Any]:
    """An indicator made just now: its score has not decayed yet."""
    now = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {**obj, "created": now, "modified": now, "valid_from": now, **more}


def with_pattern(pattern: str, **marking: Any) -> dict[str, Any]:
    return {**indicator(**marking), "pattern": pattern}


def blocked(user: ApiUser, *kinds: str, **params: Any) -> list[str]:
    response = user.get("/api/v1/exports/blocklist", params={"kind": list(kinds), **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text.splitlines()


def test_a_blocklist_never_holds_what_the_member_may_not_see(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c, Role.READER)
    group = world.group([a, c])
    assert (
        alice.share(
            indicator("203.0.113.1", tlp="amber", distribution="org"),
            indicator("203.0.113.2", tlp="red", distribution="group", group=group),
            indicator("203.0.113.3", tlp="green", distribution="community"),
        ).status_code
        == 201
    )
    assert blocked(bob, "ipv4") == ["203.0.113.3"]
    assert blocked(carol, "ipv4") == ["203.0.113.2", "203.0.113.3"]
    assert blocked(alice, "ipv4") == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]


def test_only_current_indicators_are_blocked(world: World) -> None:
    alice = world.user(world.member())
    old = indicator("198.51.100.1", tlp="green")
    newer = {**old, "modified": "2026-06-01T00:00:00.000Z", "pattern": old["pattern"].replace(
        "198.51.100.1", "198.51.100.2")}  # fmt: skip
    revoked = {**indicator("198.51.100.3", tlp="green"), "revoked": True}
    expired = {**indicator("198.51.100.4", tlp="green"), "valid_until": "2026-02-01T00:00:00Z"}
    lasting = {**indicator("198.51.100.5", tlp="green"), "valid_until": "2999-01-01T00:00:00Z"}
    assert alice.share(old, revoked, expired, lasting).status_code == 201
    assert alice.share(newer).status_code == 201
    assert newer["modified"] > STIX_TIME
    assert blocked(alice, "ipv4") == ["198.51.100.5", "198.51.100.2"]


def test_kinds_are_chosen_and_each_value_is_listed_once(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    alice.share(
        with_pattern("[domain-name:value = 'Evil.Example']", tlp="green"),
        with_pattern("[url:value = 'http://evil.example/gate']", tlp="green"),
        with_pattern("[file:hashes.'SHA-256' = '" + "A" * 64 + "']", tlp="green"),
        indicator("192.0.2.10", tlp="green"),
    )
    bob.share(with_pattern("[domain-name:value = 'evil.example']", tlp="green"))
    # a URL's host counts as a domain of the blocklist, once
    assert blocked(bob, "domain") == ["evil.example"]
    assert blocked(bob, "url", "sha256") == ["http://evil.example/gate", "a" * 64]
    assert blocked(bob, "ipv4", "ipv6") == ["192.0.2.10"]


def test_min_score_leaves_out_weak_and_disputed_indicators(world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    strong = fresh(indicator("192.0.2.20", tlp="green"), confidence=95)
    weak = fresh(indicator("192.0.2.21", tlp="green"), confidence=5)
    disputed = fresh(indicator("192.0.2.22", tlp="green"), confidence=95)
    assert alice.share(strong, weak, disputed).status_code == 201
    report = {"value": "192.0.2.22", "type": "false-positive", "count": 3, "tlp": "green"}
    assert bob.post("/api/v1/sightings", json={"sightings": [report]}).status_code == 201
    everything = blocked(bob, "ipv4")
    assert everything == ["192.0.2.20", "192.0.2.21", "192.0.2.22"]
    scored = bob.post("/api/v1/lookup", json={"values": everything}).json()["results"]
    scores = [r["matches"][0]["score"] for r in scored]
    threshold = (scores[0] + max(scores[1], scores[2])) / 2
    assert scores[0] > threshold > max(scores[1:])
    assert blocked(bob, "ipv4", min_score=threshold) == ["192.0.2.20"]


def test_bad_requests_get_a_clear_error_and_no_list(world: World) -> None:
    alice = world.user(world.member())
    for params in ({"kind": "mutex"}, {"kind": "pirate"}, {}, {"kind": "ipv4", "min_score": 101}):
        response = alice.get("/api/v1/exports/blocklist", params=params)
        assert response.status_code == 422, params
        assert "error" in response.json() or "detail" in response.json()
    assert (
        "a blocklist holds"
        in alice.get("/api/v1/exports/blocklist", params={"kind": "mutex"}).json()["error"][
            "message"
        ]
    )
    anonymous = alice.client.get("/api/v1/exports/blocklist", params={"kind": "ipv4"})
    assert anonymous.status_code == 401


def test_each_batch_of_a_blocklist_is_audited_with_its_indicators(world: World) -> None:
    alice = world.user(world.member())
    shared = [indicator(f"192.0.2.{i}", tlp="green") for i in range(30, 33)]
    alice.share(*shared)
    assert len(blocked(alice, "ipv4", min_score=0)) == 3
    entries = world.admin().get("/api/v1/audit", params={"action": "export.blocklist"}).json()
    (entry,) = entries["entries"]
    assert entry["user_id"] == alice.user_id
    assert entry["detail"]["objects"] == [o["id"] for o in shared]
    assert entry["detail"]["kinds"] == ["ipv4"] and entry["detail"]["min_score"] == 0


@pytest.fixture
def listed(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from shieldwall.app import create_app

    cache = str(tmp_path_factory.getbasetemp() / "cache")
    settings = Settings(
        database_url=database_url, warninglists="public-dns-v4", validation_workers=0,
        cache_dir=cache,
    )  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def test_warning_list_values_are_left_out_unless_asked_for(listed: World) -> None:
    alice = listed.user(listed.member())
    alice.share(indicator("8.8.8.8", tlp="green"), indicator("192.0.2.40", tlp="green"))
    assert blocked(alice, "ipv4") == ["192.0.2.40"]
    assert blocked(alice, "ipv4", include_benign=True) == ["8.8.8.8", "192.0.2.40"]
