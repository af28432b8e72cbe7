"""Admins run the instance without reading members' secrets; retention removes what has
outlived its rule; personal data can be found and erased everywhere. Through the real API on
both databases, the "may NOT" cases first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select

from shieldwall.audit.tables import audit_log
from shieldwall.dataprotection import retention
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.policy import Role
from tests.factories import ApiUser, World, indicator, marked


def _setup(world: World) -> tuple[ApiUser, ApiUser, ApiUser, ApiUser]:
    north = world.member("CERT North")
    owner = world.user(north)
    owner_admin = world.user(north, Role.MEMBER_ADMIN)
    admin = world.admin()
    other_admin = world.user(world.member("Industry SOC"), Role.MEMBER_ADMIN)
    return owner, owner_admin, admin, other_admin


def test_an_admin_does_not_read_others_org_group_or_red_intel(world: World) -> None:
    owner, _, admin, _ = _setup(world)
    secret = indicator("198.51.100.80", tlp="red", distribution="org")
    shared = indicator("198.51.100.81", tlp="amber", distribution="community")
    owner.share(secret, shared)
    assert admin.get(f"/api/v1/objects/{secret['id']}").status_code == 404
    assert secret["id"] not in admin.object_ids()
    assert shared["id"] in admin.object_ids()
    lookup = admin.post("/api/v1/lookup", json={"values": ["198.51.100.80"]}).json()
    assert lookup["results"][0]["matches"] == []
    # What running the instance needs: that it exists, whose it is, how large: not its content.
    listed = admin.get("/api/v1/admin/objects", params={"type": "indicator"}).json()["objects"]
    meta = next(o for o in listed if o["id"] == secret["id"])
    assert meta["owner"] == owner.member_id and meta["tlp"] == "red" and meta["size"] > 100
    assert "pattern" not in meta and "name" not in meta


def test_only_admins_list_metadata_or_break_glass(world: World) -> None:
    owner, owner_admin, _, _ = _setup(world)
    for user in (owner, owner_admin):
        assert user.get("/api/v1/admin/objects").status_code == 403
        response = user.post(
            "/api/v1/admin/break-glass", json={"object_id": "x", "reason": "curious, sorry"}
        )
        assert response.status_code == 403


def test_a_break_glass_read_needs_a_reason_is_audited_and_shown_to_the_owner(
    world: World,
) -> None:
    owner, owner_admin, admin, other_admin = _setup(world)
    secret = indicator("198.51.100.82", tlp="red", distribution="org")
    owner.share(secret)
    short = admin.post("/api/v1/admin/break-glass", json={"object_id": secret["id"], "reason": "x"})
    assert short.status_code == 422
    assert owner_admin.get("/api/v1/break-glass").json()["reads"] == []
    reason = "court order 2026/117: confirm the indicator named in the warrant"
    response = admin.post(
        "/api/v1/admin/break-glass", json={"object_id": secret["id"], "reason": reason}
    )
    assert response.status_code == 200, response.text
    assert response.json()["objects"][0]["pattern"] == secret["pattern"]
    (read,) = owner_admin.get("/api/v1/break-glass").json()["reads"]
    assert read["reason"] == reason and read["object_id"] == secret["id"]
    assert other_admin.get("/api/v1/break-glass").json()["reads"] == []
    assert owner.get("/api/v1/break-glass").status_code == 403
    with world.db.read() as conn:
        actions = list(conn.scalars(select(audit_log.c.action)))
    assert "admin.break_glass" in actions


def test_retention_removes_expired_intel_everywhere_and_announces_it(world: World) -> None:
    owner, _, admin, _ = _setup(world)
    other = world.user(world.member("CERT South"))
    old = indicator("198.51.100.90", tlp="green", distribution="community")
    old["description"] = "bandicoot campaign"
    kept = indicator("198.51.100.91", tlp="green", distribution="community")
    owner.share(old)
    other.share(kept)
    # Indicators are kept 30 days; CERT South keeps everything for 1,000.
    assert (
        admin.put("/api/v1/admin/retention", json={"type": "indicator", "days": 30}).status_code
        == 200
    )
    rules = admin.put(
        "/api/v1/admin/retention", json={"member_id": other.member_id, "days": 1000}
    ).json()["rules"]
    assert rules[0] == {"member_id": other.member_id, "type": None, "days": 1000}
    assert owner.put("/api/v1/admin/retention", json={"days": 1}).status_code == 403
    assert retention.apply(world.db, now=datetime.now(UTC) + timedelta(days=10)) == 0
    assert retention.apply(world.db, now=datetime.now(UTC) + timedelta(days=40)) == 1
    assert owner.get(f"/api/v1/objects/{old['id']}").status_code == 404
    assert owner.get(f"/api/v1/objects/{kept['id']}").status_code == 200
    assert (
        owner.post("/api/v1/lookup", json={"values": ["198.51.100.90"]}).json()["results"][0][
            "matches"
        ]
        == []
    )
    assert owner.get("/api/v1/search", params={"q": "bandicoot"}).json()["objects"] == []
    with world.db.read() as conn:
        removal = conn.execute(select(change_log).where(change_log.c.action == "remove")).one()
        gone = conn.execute(select(change_objects).where(change_objects.c.seq == removal.seq))
        assert [r.object_id for r in gone] == [old["id"]]


def test_personal_data_is_found_in_every_version_and_erased(world: World) -> None:
    owner, _, admin, _ = _setup(world)
    v1 = marked(indicator("198.51.100.95"), tlp="red", distribution="org")
    v1["description"] = (
        "Phishing from jan.kowalski@victim.example; call Jan Kowalski on +48 22 123 45 67"
    )
    v2 = {
        **v1,
        "modified": "2026-02-01T00:00:00.000Z",
        "pattern": "[email-addr:value = 'jan.kowalski@victim.example']",
    }
    owner.share(v1)
    owner.share(v2)
    owner.post("/api/v1/sightings", json={"sightings": [{"value": "jan.kowalski@victim.example"}]})
    assert (
        owner.get("/api/v1/admin/privacy/find", params={"value": "Jan Kowalski"}).status_code == 403
    )
    found = admin.get("/api/v1/admin/privacy/find", params={"value": "jan.kowalski@victim.example"})
    assert found.status_code == 200
    assert {(f["modified"], frozenset(f["properties"])) for f in found.json()["found"]} == {
        ("2026-01-15T10:00:00.000000Z", frozenset({"description"})),
        ("2026-02-01T00:00:00.000000Z", frozenset({"description", "pattern"})),
    }
    phone = admin.get("/api/v1/admin/privacy/find", params={"value": "+48221234567"}).json()
    assert len(phone["found"]) == 2  # grouped differently in the text, found all the same
    reason = "erasure request from the data subject, ticket DP-42"
    for value in ("jan.kowalski@victim.example", "Jan Kowalski", "+48 22 123 45 67"):
        response = admin.post(
            "/api/v1/admin/privacy/erase", json={"value": value, "reason": reason}
        )
        assert response.status_code == 200, response.text
    for version in owner.get(f"/api/v1/objects/{v1['id']}", params={"versions": "all"}).json()[
        "objects"
    ]:
        text = orjson.dumps(version).decode().lower()
        assert "kowalski" not in text and "123 45 67" not in text and "[erased]" in text
    assert owner.get("/api/v1/search", params={"q": "kowalski"}).json()["objects"] == []
    lookup = owner.post("/api/v1/lookup", json={"values": ["jan.kowalski@victim.example"]}).json()
    assert lookup["results"][0]["matches"] == []
    assert (
        owner.get("/api/v1/sightings", params={"value": "jan.kowalski@victim.example"}).json()[
            "seen"
        ]
        == 0
    )
    with world.db.read() as conn:
        erasures = conn.execute(
            select(audit_log).where(audit_log.c.action == "privacy.erase")
        ).all()
        assert erasures and all("kowalski" not in e.detail.lower() for e in erasures)
        assert conn.scalar(select(change_log.c.seq).where(change_log.c.action == "erase"))
        bodies = " ".join(conn.scalars(select(objects.c.body))).lower()
        assert "kowalski" not in bodies
