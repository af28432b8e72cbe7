"""POSTed objects are shared as POST /api/v1/bundles shares a bundle: the same checks, defaults
and audit, whole or not at all, with a status resource per request that any process can read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.markings import TLP
from shieldwall.settings import Settings
from tests.factories import World, indicator
from tests.taxii.helpers import ROOT, Taxii


def test_a_rejected_object_fails_every_object_and_stores_nothing(world: World) -> None:
    alice = Taxii(world, world.user(world.member("A")))
    inbox = alice.inbox()
    good = indicator("198.51.100.1")
    bad = {**indicator("198.51.100.2"), "pattern": "[not a pattern"}
    response = alice.post(f"/collections/{inbox}/objects/", {"objects": [good, bad]})
    assert response.status_code == 202, response.text
    status = response.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (2, 0, 2)
    assert status["pending_count"] == 0 and "successes" not in status
    failures = {f["id"]: f for f in status["failures"]}
    assert "pattern" in failures[bad["id"]]["message"]
    assert "not stored" in failures[good["id"]]["message"]
    assert failures[good["id"]]["version"] == "2026-01-15T10:00:00.000000Z"
    assert alice.get(f"/collections/{inbox}/objects/", {"match[type]": "indicator"}).content == (
        b"{}"
    )
    assert alice.user.get("/api/v1/objects", params={"type": "indicator"}).json()["objects"] == []


def test_objects_are_shared_with_the_defaults_and_audit_of_the_rest_api(world: World) -> None:
    member = world.member("A", default_tlp=TLP.GREEN)
    alice = Taxii(world, world.user(member))
    plain = indicator("198.51.100.3")
    status = alice.add(alice.inbox(), plain)
    assert status["successes"] == [{"id": plain["id"], "version": "2026-01-15T10:00:00.000000Z"}]
    stored = alice.user.get(f"/api/v1/objects/{plain['id']}").json()["objects"][0]
    via_api = indicator("198.51.100.4")
    alice.user.share(via_api)
    same = alice.user.get(f"/api/v1/objects/{via_api['id']}").json()["objects"][0]
    assert stored["object_marking_refs"] == same["object_marking_refs"]
    assert stored["extensions"] == same["extensions"]
    assert stored["created_by_ref"] == same["created_by_ref"]
    admin = world.admin()
    entries = admin.get("/api/v1/audit", params={"action": "intel.ingest"}).json()["entries"]
    assert {e["detail"]["source"] for e in entries} >= {"taxii", "api"}


def test_status_resources_survive_a_restart(world: World, database_url: str) -> None:
    alice = Taxii(world, world.user(world.member("A")))
    status = alice.add(alice.inbox(), indicator())
    other = create_app(Settings(database_url=database_url, warninglists="none",
                                validation_workers=0))  # fmt: skip
    with TestClient(other) as client:
        response = client.get(f"{ROOT}/status/{status['id']}/", headers=alice.headers)
        assert response.status_code == 200
        assert response.json() == status
    assert alice.client.get(f"{ROOT}/status/{status['id']}", headers=alice.headers).json() == (
        status
    )


def test_an_empty_envelope_is_a_complete_status_of_nothing(world: World) -> None:
    alice = Taxii(world, world.user(world.member("A")))
    response = alice.post(f"/collections/{alice.inbox()}/objects/", {"objects": []})
    assert response.status_code == 202
    assert response.json()["total_count"] == 0
