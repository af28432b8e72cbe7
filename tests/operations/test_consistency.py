"""The store checker (`shieldwall check`): it finds each way a store can be broken, and a store
written only through the API (shares, new versions, sightings, an erasure, a removal) is whole.
Both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, delete, func, insert, select, update

from shieldwall.audit.tables import audit_log
from shieldwall.correlate.tables import observable_keys
from shieldwall.intel.ingest import ingestor_for
from shieldwall.intel.removal import remove_versions
from shieldwall.intel.tables import change_log, objects
from shieldwall.operations.consistency import ConsistencyReport, check
from shieldwall.search.tables import relationship_ends
from shieldwall.settings import Settings
from tests.factories import World, indicator, report


def _check(world: World) -> ConsistencyReport:
    settings = Settings(database_url=world.db.url, warninglists="none", validation_workers=0)
    ingestor = ingestor_for(world.db, settings)
    try:
        return check(world.db, ingestor.indexes)
    finally:
        ingestor.close()


def _store(world: World) -> dict[str, Any]:
    """A store written through the API: what the checks below break."""
    admin = world.admin()
    analyst = world.user(world.member())
    first, second = indicator("198.51.100.20"), indicator("198.51.100.21")
    shared = report([first["id"], second["id"]], name="Contact alice@victim.example")
    relation = {
        "type": "relationship", "spec_version": "2.1", "id": "relationship--" + "1" * 8
        + "-1111-4111-8111-111111111111", "created": first["created"], "modified":
        first["modified"], "relationship_type": "related-to", "source_ref": first["id"],
        "target_ref": second["id"],
    }  # fmt: skip
    assert analyst.share(first, second, shared, relation).status_code == 201
    newer = {**first, "modified": "2026-01-16T10:00:00.000Z", "name": "Renamed"}
    assert analyst.share(newer).status_code == 201
    sightings = {"sightings": [{"value": "198.51.100.20", "value_kind": "ipv4"}]}
    assert analyst.post("/api/v1/sightings", json=sightings).status_code in (200, 201)
    erased = admin.post(
        "/api/v1/admin/privacy/erase",
        json={"value": "alice@victim.example", "reason": "the victim asked us to"},
    )
    assert erased.status_code == 200, erased.text
    with world.db.write() as conn:  # retention's way out: removal, announced on the change log
        pk = conn.scalar(select(objects.c.pk).where(objects.c.object_id == second["id"]))
        remove_versions(conn, [pk], reason="test")
    return {"first": first, "relation": relation}


# --- each break is found ---------------------------------------------------------------------


def _gap(conn: Connection) -> None:
    seq = conn.scalar(select(func.min(change_log.c.seq)).where(change_log.c.action == "sighting"))
    conn.execute(delete(change_log).where(change_log.c.seq == seq))


def _half_write(conn: Connection) -> None:
    pk = conn.scalar(select(func.max(objects.c.pk)).where(objects.c.type == "indicator"))
    conn.execute(delete(objects).where(objects.c.pk == pk))


def _stray_object(conn: Connection) -> None:
    row = conn.execute(select(objects).order_by(objects.c.pk.desc()).limit(1)).first()
    assert row is not None
    conn.execute(insert(objects).values({**row._mapping, "pk": row.pk + 100, "is_latest": False}))


def _index_missing(conn: Connection) -> None:
    conn.execute(delete(relationship_ends))


def _index_dangling(conn: Connection) -> None:
    conn.execute(insert(observable_keys).values(object_pk=987654, key_hash=42))


def _index_wrong(conn: Connection) -> None:
    conn.execute(update(observable_keys).values(key_hash=observable_keys.c.key_hash + 1))


def _two_latest(conn: Connection) -> None:
    conn.execute(update(objects).where(objects.c.type == "indicator").values(is_latest=True))


def _audit_edited(conn: Connection) -> None:
    conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(action="nothing.happened"))


BREAKS: dict[str, tuple[Callable[[Connection], None], str]] = {
    "a gap in the change log": (_gap, "change log: entries"),
    "an ingest missing an object": (_half_write, "objects; "),
    "an object no write put there": (_stray_object, "belongs to no write"),
    "an index missing rows": (_index_missing, "relationship_ends disagree"),
    "an index row pointing at nothing": (_index_dangling, "observable_keys: rows for pk 987654"),
    "an index row that does not match": (_index_wrong, "observable_keys disagree"),
    "two latest versions": (_two_latest, "latest versions"),
    "an edited audit entry": (_audit_edited, "audit chain broken at entry 2"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_the_checker_finds_a_broken_store(world: World, name: str) -> None:
    _store(world)
    breaking, said = BREAKS[name]
    with world.db.write() as conn:
        breaking(conn)
    report = _check(world)
    assert not report.ok
    assert any(said in problem for problem in report.problems), report.problems


# --- a store written through the API is whole ------------------------------------------------


def test_a_store_written_through_the_api_is_whole(world: World) -> None:
    _store(world)
    report = _check(world)
    assert report.ok, report.problems
    assert report.objects >= 4 and report.changes >= 5 and report.audit_entries >= 5
