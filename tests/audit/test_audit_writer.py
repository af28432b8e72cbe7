"""Bulk reads' audit entries written off the request path (AuditWriter): none lost, the chain
valid however they interleave with entries written at once, everything written at shutdown."""

from __future__ import annotations

import threading

from shieldwall.audit import service
from shieldwall.db import Database
from shieldwall.policy import Role, Viewer
from tests.factories import World
from tests.taxii.helpers import Taxii

READER = Viewer(user_id="u-1", member_id="m-1", role=Role.READER)


def test_queued_entries_interleave_with_direct_ones_and_the_chain_holds(db: Database) -> None:
    writer = service.AuditWriter(db, batch=7)

    def read_pages(n: int) -> None:
        for page in range(50):
            writer.record_later(READER, "taxii.read", {"thread": n, "page": page})

    threads = [threading.Thread(target=read_pages, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for n in range(20):  # writes audited in their own transactions meanwhile
        with db.write() as conn:
            service.append(conn, None, "member.create", {"n": n})
    for thread in threads:
        thread.join()
    assert writer.flush(timeout=60)
    writer.close()
    result = service.verify(db)
    assert result.ok and result.checked == 4 * 50 + 20
    with db.read() as conn:
        reads = service.list_entries(conn, limit=1000, action="taxii.read")
    assert len(reads) == 200
    assert {(e["detail"]["thread"], e["detail"]["page"]) for e in reads} == {
        (n, p) for n in range(4) for p in range(50)
    }
    assert all(e["user_id"] == "u-1" and e["member_id"] == "m-1" for e in reads)
    # Each thread's pages keep their order in the chain.
    for n in range(4):
        pages = [e["detail"]["page"] for e in reads if e["detail"]["thread"] == n]
        assert pages == sorted(pages)


def test_close_writes_what_is_queued_and_later_entries_are_written_at_once(db: Database) -> None:
    writer = service.AuditWriter(db)
    for page in range(30):
        writer.record_later(READER, "taxii.read", {"page": page})
    writer.close()
    writer.record_later(READER, "taxii.read", {"page": "after close"})
    with db.read() as conn:
        pages = [e["detail"]["page"] for e in service.list_entries(conn, limit=100)]
    assert pages == [*range(30), "after close"]
    assert service.verify(db).ok


def test_a_taxii_read_is_in_the_log_once_the_writer_ran(world: World) -> None:
    alice = Taxii(world, world.user(world.member("A")))
    inbox = alice.inbox()
    response = alice.get(f"/collections/{inbox}/objects/", {"limit": 1})
    assert response.status_code == 200
    assert world.client.app.state.audit_writer.flush(timeout=30)
    admin = world.admin()
    entries = admin.get("/api/v1/audit", params={"action": "taxii.read"}).json()["entries"]
    assert [(e["user_id"], e["detail"]["collection"], e["detail"]["count"]) for e in entries] == [
        (alice.user.user_id, inbox, 1)
    ]
    assert admin.get("/api/v1/audit/verify").json()["ok"] is True
