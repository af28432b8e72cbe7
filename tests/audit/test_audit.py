"""The audit log records every write, admin action and bulk read, and detects tampering."""

from __future__ import annotations

from sqlalchemy import update

from shieldwall.audit import service
from shieldwall.audit.tables import audit_log
from shieldwall.policy import Role
from tests.factories import World, indicator


def test_writes_admin_actions_and_bulk_reads_are_recorded(world: World) -> None:
    admin = world.admin()
    analyst = world.user(world.member())
    ind = indicator()
    analyst.share(ind)
    analyst.get("/api/v1/objects")
    admin.post("/api/v1/members", json={"name": "CERT-Audit", "kind": "national-cert"})
    entries = admin.get("/api/v1/audit").json()["entries"]
    actions = [(e["action"], e["user_id"]) for e in entries]
    assert ("intel.ingest", analyst.user_id) in actions
    assert ("intel.read", analyst.user_id) in actions
    assert ("member.create", admin.user_id) in actions
    ingest = next(e for e in entries if e["action"] == "intel.ingest")
    assert ingest["detail"]["objects"] == [f"{ind['id']}@2026-01-15T10:00:00.000000Z"]


def test_only_admins_read_the_audit_log(world: World) -> None:
    for role in (Role.MEMBER_ADMIN, Role.ANALYST, Role.READER):
        user = world.user(world.member(), role)
        assert user.get("/api/v1/audit").status_code == 403
        assert user.get("/api/v1/audit/verify").status_code == 403


def test_tampering_is_detected_and_the_first_bad_entry_named(world: World) -> None:
    admin = world.admin()
    analyst = world.user(world.member())
    for _ in range(3):
        analyst.share(indicator())
    assert admin.get("/api/v1/audit/verify").json()["ok"] is True
    with world.db.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(detail='{"count":0}'))
    result = service.verify(world.db)
    assert not result.ok and result.first_bad_seq == 2 and result.checked == 1
    assert admin.get("/api/v1/audit/verify").json()["first_bad_seq"] == 2


def test_a_removed_entry_breaks_the_chain(world: World) -> None:
    analyst = world.user(world.member())
    for _ in range(3):
        analyst.share(indicator())
    with world.db.write() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    result = service.verify(world.db)
    assert not result.ok and result.first_bad_seq == 3
