"""Work the database needs after writes, done in the background: SQLite's checkpoints, and on
PostgreSQL fresh planner statistics after large writes."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import shieldwall.db
from tests.factories import World, indicator


def last_analyze(world: World) -> object:
    with world.db.read() as conn:
        return conn.scalar(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'objects'")
        )


def test_large_writes_refresh_the_statistics(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shieldwall.db, "ANALYZE_AFTER_ROWS", 5)
    alice = world.user(world.member())
    assert alice.share(*[indicator(f"192.0.2.{i}") for i in range(3)]).status_code == 201
    assert world.db.housekeeping_done()
    if world.db.is_sqlite:  # nothing to refresh: SQLite plans without statistics here
        return
    assert last_analyze(world) is None  # 3 objects: not yet
    assert alice.share(*[indicator(f"192.0.2.{i}") for i in range(3, 6)]).status_code == 201
    assert world.db.housekeeping_done()
    assert last_analyze(world) is not None
