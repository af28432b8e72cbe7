"""Work the database needs after writes, done in the background: SQLite's checkpoints, and on
PostgreSQL VACUUM (ANALYZE) after large writes: fresh planner statistics, and pages marked
all-visible so that lookups read the objects' covering primary key alone."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import shieldwall.db
from tests.factories import World, indicator


def last_maintained(world: World) -> tuple[object, object]:
    with world.db.read() as conn:
        query = (
            "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'objects'"
        )
        return tuple(conn.execute(text(query)).one())


def test_large_writes_refresh_the_statistics(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shieldwall.db, "VACUUM_AFTER_ROWS", 5)
    alice = world.user(world.member())
    assert alice.share(*[indicator(f"192.0.2.{i}") for i in range(3)]).status_code == 201
    assert world.db.housekeeping_done()
    if world.db.is_sqlite:  # nothing to refresh: SQLite plans without statistics here
        return
    assert last_maintained(world) == (None, None)  # 3 objects: not yet
    assert alice.share(*[indicator(f"192.0.2.{i}") for i in range(3, 6)]).status_code == 201
    assert world.db.housekeeping_done()
    assert None not in last_maintained(world)


def test_a_due_vacuum_waits_until_writes_pause(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if world.db.is_sqlite:
        pytest.skip("SQLite's checkpoint runs after each write")
    monkeypatch.setattr(shieldwall.db, "VACUUM_AFTER_ROWS", 5)
    monkeypatch.setattr(shieldwall.db, "VACUUM_QUIET_SECONDS", 5.0)
    alice = world.user(world.member())
    assert alice.share(*[indicator(f"192.0.2.{i}") for i in range(6)]).status_code == 201
    # Due, but a burst of writes may still be going on: not yet.
    assert not world.db.housekeeping_done(timeout=1)
    assert last_maintained(world) == (None, None)
    assert world.db.housekeeping_done()
    assert None not in last_maintained(world)
