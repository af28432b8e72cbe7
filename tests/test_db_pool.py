"""db.py's pool on PostgreSQL: a connection that died while idle is replaced at checkout, not
handed to a request (the ping that pool_pre_ping sent at every checkout, sent only after idling)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shieldwall import db as db_module
from shieldwall.db import Database


def _backend_pid(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, pid: int) -> None:
    other = Database(database_url)
    try:
        with other.read() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        other.dispose()


def test_a_connection_killed_while_idle_is_replaced_at_checkout(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no connection to lose")
    db = Database(database_url)
    try:
        killed = _backend_pid(db)
        _terminate(database_url, killed)
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # it has idled long enough
        assert _backend_pid(db) != killed  # the dead one was pinged, dropped and replaced
    finally:
        db.dispose()


def test_a_connection_in_use_moments_ago_is_not_pinged(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no connection to ping")
    db = Database(database_url)
    pings: list[object] = []
    try:
        _backend_pid(db)
        original = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda conn: pings.append(conn) or original(conn)  # type: ignore[method-assign]
        for _ in range(5):
            _backend_pid(db)
        assert pings == []  # no round trip before a statement of a busy server
    finally:
        db.dispose()


def test_a_connection_killed_moments_after_use_fails_once_then_the_pool_recovers(
    database_url: str,
) -> None:
    """The price of not pinging a busy pool: the one statement that meets a connection dead
    within IDLE_PING_SECONDS of its last use fails; the pool then replaces it."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no connection to lose")
    db = Database(database_url)
    try:
        killed = _backend_pid(db)
        _terminate(database_url, killed)
        with pytest.raises(OperationalError):
            _backend_pid(db)
        assert _backend_pid(db) != killed
    finally:
        db.dispose()
