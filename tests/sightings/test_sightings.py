"""Sightings through the API and the scores they move: who may see them, and who may not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shieldwall.correlate.tables import observable_keys
from shieldwall.policy import Role
from shieldwall.sightings.score import DEFAULT_HALF_LIVES, Evidence, parse_half_lives, score
from tests.factories import World, indicator

HALF_LIVES = parse_half_lives(DEFAULT_HALF_LIVES)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_score_decays_by_kind_and_moves_with_evidence() -> None:
    fresh = Evidence(kind="ipv4", confidence=80, modified=NOW)
    assert score(fresh, NOW, HALF_LIVES) == 80.0
    month = NOW + timedelta(days=30)
    assert score(fresh, month, HALF_LIVES) == 40.0  # addresses halve in 30 days
    as_hash = Evidence(kind="sha256", confidence=80, modified=NOW)
    assert score(as_hash, month, HALF_LIVES) > 75  # hashes keep their worth far longer
    seen = Evidence(kind="ipv4", confidence=80, modified=NOW, seen=1, last_seen=month)
    assert score(seen, month, HALF_LIVES) == 84.0  # a sighting restores and raises it
    false_positive = Evidence(kind="ipv4", confidence=80, modified=NOW, false_positives=1)
    assert score(false_positive, NOW, HALF_LIVES) == 40.0
    expired = Evidence(kind="ipv4", confidence=80, modified=NOW, expired_at=NOW)
    assert score(expired, NOW, HALF_LIVES) == 0.0
    assert (
        score(Evidence(kind="nothing-known", confidence=None, modified=NOW), NOW, HALF_LIVES) == 50
    )


@pytest.mark.parametrize("text", ["ipv4", "ipv4=0", "=3", "ipv4=x"])
def test_bad_half_lives_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_half_lives(text)


def test_sightings_are_seen_only_where_their_distribution_reaches(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    group = world.group([a, b])
    alice, bob, carol = world.user(a), world.user(b, Role.READER), world.user(c, Role.READER)
    response = alice.post(
        "/api/v1/sightings",
        json={
            "sightings": [
                {
                    "value": "198.51.100.9",
                    "type": "seen",
                    "count": 3,
                    "tlp": "red",
                    "distribution": "org",
                },
                {
                    "value": "198.51.100.9",
                    "type": "seen",
                    "count": 2,
                    "tlp": "amber",
                    "distribution": "group",
                    "sharing_group": group,
                },
                {
                    "value": "198.51.100.9",
                    "type": "false-positive",
                    "tlp": "green",
                    "distribution": "community",
                },
            ]
        },
    )
    assert response.status_code == 201, response.text
    params = {"value": "198.51.100.9"}
    # may NOT: carol sees only the community false positive
    assert carol.get("/api/v1/sightings", params=params).json()["seen"] == 0
    assert carol.get("/api/v1/sightings", params=params).json()["false_positives"] == 1
    # bob sees the group sighting too; alice sees everything she reported
    assert bob.get("/api/v1/sightings", params=params).json()["seen"] == 2
    assert alice.get("/api/v1/sightings", params=params).json()["seen"] == 5


def test_sightings_are_all_or_nothing_with_clear_errors(world: World) -> None:
    analyst = world.user(world.member())
    response = analyst.post(
        "/api/v1/sightings",
        json={
            "sightings": [
                {"value": "198.51.100.9"},
                {"value": "not an address", "value_kind": "ipv4"},
                {"value": "198.51.100.9", "tlp": "red", "distribution": "community"},
                {"value": "198.51.100.9", "type": "maybe", "count": 0},
            ]
        },
    )
    assert response.status_code == 422
    indices = [d["index"] for d in response.json()["error"]["details"]]
    assert indices == [1, 2, 3, 3]
    assert analyst.get("/api/v1/sightings", params={"value": "198.51.100.9"}).json()["seen"] == 0
    reader = world.user(world.member(), Role.READER)
    assert (
        reader.post(
            "/api/v1/sightings", json={"sightings": [{"value": "198.51.100.9"}]}
        ).status_code
        == 403
    )


def test_scores_count_visible_sightings_only(world: World) -> None:
    a, b = world.member(), world.member()
    cert, soc = world.user(a), world.user(b)
    ind = indicator("198.51.100.20", tlp="green", distribution="community") | {"confidence": 60}
    cert.share(ind)
    base = soc.get(f"/api/v1/objects/{ind['id']}/score", params={"at": "2026-01-15T10:00:00Z"})
    assert base.json()["score"] == 60.0
    # cert's org-only sighting raises cert's score, not soc's
    cert.post(
        "/api/v1/sightings",
        json={
            "sightings": [
                {
                    "value": "198.51.100.20",
                    "seen_at": "2026-01-15T10:00:00Z",
                    "tlp": "red",
                    "distribution": "org",
                }
            ]
        },
    )
    at = {"at": "2026-01-15T10:00:00Z"}
    assert soc.get(f"/api/v1/objects/{ind['id']}/score", params=at).json()["score"] == 60.0
    assert cert.get(f"/api/v1/objects/{ind['id']}/score", params=at).json()["score"] == 68.0
    # a STIX sighting object shared with the community counts for everyone
    sighting = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-15T10:00:00Z",
        "modified": "2026-01-15T10:00:00Z",
        "sighting_of_ref": ind["id"],
        "count": 2,
        "last_seen": "2026-01-15T10:00:00Z",
        "object_marking_refs": [ind["object_marking_refs"][0]],
    }
    assert soc.share(sighting).status_code == 201
    got = soc.get(f"/api/v1/objects/{ind['id']}/score", params=at).json()
    assert got["sightings"]["seen"] == 2 and got["score"] == 74.4
    # lookups carry the score and can leave weak indicators out
    looked = soc.post("/api/v1/lookup", json={"values": ["198.51.100.20"], "min_score": 99})
    assert looked.json()["results"][0]["matches"] == []
    looked = soc.post("/api/v1/lookup", json={"values": ["198.51.100.20"]})
    assert "score" in looked.json()["results"][0]["matches"][0]


def test_score_of_an_invisible_or_unknown_object_is_404(world: World) -> None:
    owner, other = world.user(world.member()), world.user(world.member())
    secret = indicator("198.51.100.30", tlp="red", distribution="org")
    owner.share(secret)
    assert other.get(f"/api/v1/objects/{secret['id']}/score").status_code == 404
    assert owner.get(f"/api/v1/objects/{secret['id']}/score").status_code == 200
    assert (
        owner.get(
            "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000000/score"
        ).status_code
        == 404
    )


def test_a_misspelt_field_is_refused_not_taken_for_a_default(world: World) -> None:
    analyst = world.user(world.member())
    body = {"sightings": [{"value": "192.0.2.1", "kind": "false-positive"}]}  # "type" is meant
    response = analyst.post("/api/v1/sightings", json=body)
    assert response.status_code == 422
    tally = analyst.get("/api/v1/sightings", params={"value": "192.0.2.1"}).json()
    assert tally["seen"] == 0 and tally["false_positives"] == 0


def test_a_lookup_scores_an_indicator_by_its_first_value_whichever_value_matched(
    world: World,
) -> None:
    """An indicator decays by the kind of its first value. The index row of that value says so;
    a lookup that matched another value, or rows written before they said (migration 0005),
    must give the indicator's own score all the same."""
    analyst = world.user(world.member())
    sha256 = "a" * 64
    sixty_days_ago = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ind = indicator("203.0.113.77", tlp="green") | {
        "pattern": f"[ipv4-addr:value = '203.0.113.77'] OR [file:hashes.'SHA-256' = '{sha256}']",
        "created": sixty_days_ago,
        "modified": sixty_days_ago,
        "valid_from": sixty_days_ago,
        "confidence": 80,
    }
    assert analyst.share(ind).status_code == 201
    own = analyst.get(f"/api/v1/objects/{ind['id']}/score").json()["score"]
    # 80 halved twice as an address (30 days), not 80 * 0.89 as a file hash (365 days)
    assert 19.5 <= own <= 20.5

    def looked_up(value: str) -> float:
        response = analyst.post("/api/v1/lookup", json={"values": [value]})
        assert response.status_code == 200, response.text
        (match,) = response.json()["results"][0]["matches"]
        return match["score"]

    assert abs(looked_up("203.0.113.77") - own) <= 0.1
    assert abs(looked_up(sha256) - own) <= 0.1
    with world.db.write() as conn:
        conn.execute(observable_keys.update().values(not_first=True))
    assert abs(looked_up(sha256) - own) <= 0.1
