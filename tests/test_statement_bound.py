"""No request holds the database for ever (issue 12): a statement outside a write that runs past
SHIELDWALL_STATEMENT_SECONDS is cut short, on both databases, and the request is answered 503 in
the API's error shape; writes and housekeeping are never cut short (a write is whole or absent)."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from shieldwall.app import create_app
from shieldwall.db import Database, is_statement_timeout
from shieldwall.settings import Settings
from tests.factories import World

# Runs for seconds on either database: SQLite counts, PostgreSQL sleeps.
_SLOW = {
    True: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000000) "
    "SELECT count(*) FROM n",
    False: "SELECT pg_sleep(3)",
}
# Well within the bound on either database.
_QUICK = {
    True: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
    "SELECT count(*) FROM n",
    False: "SELECT pg_sleep(0.05)",
}


def test_a_long_read_is_cut_short_and_a_long_write_is_not(database_url: str) -> None:
    db = Database(database_url, statement_seconds=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError) as cut, db.read() as conn:
            conn.execute(text(_SLOW[db.is_sqlite]))
        assert is_statement_timeout(cut.value)
        assert time.monotonic() - started < 2.5
        with db.read() as conn:  # the connection goes back to the pool whole and bounded anew
            assert conn.execute(text(_QUICK[db.is_sqlite])).scalar() in (100, "", None)
        slow_write = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
            "SELECT count(*) FROM n"
            if db.is_sqlite
            else "SELECT pg_sleep(0.6)"
        )
        with db.write() as conn:
            conn.execute(text(slow_write))
        with pytest.raises(OperationalError), db.read() as conn:  # bounded again after it
            conn.execute(text(_SLOW[db.is_sqlite]))
    finally:
        db.dispose()


def test_unbounded_when_not_asked(database_url: str) -> None:
    db = Database(database_url)  # commands and housekeeping: no bound
    try:
        with db.read() as conn:
            sql = "SELECT pg_sleep(0.4)" if not db.is_sqlite else _QUICK[True]
            conn.execute(text(sql))
    finally:
        db.dispose()


def test_a_request_past_the_bound_is_a_503_with_the_error_shape(
    world: World, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("a table lock makes a PostgreSQL read wait; SQLite's readers never wait (WAL)")
    member = world.member()
    reader = world.user(member)
    settings = Settings(
        database_url=database_url, warninglists="none", validation_workers=0, statement_seconds=0.5
    )
    locked, release = threading.Event(), threading.Event()

    def hold_the_table() -> None:
        engine = create_engine(database_url)
        with engine.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE objects IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(10)
        engine.dispose()

    holder = threading.Thread(target=hold_the_table)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/objects", headers=reader.headers).status_code == 200
        holder.start()
        assert locked.wait(10)
        try:
            answer = client.get("/api/v1/objects", headers=reader.headers)
        finally:
            release.set()
            holder.join()
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["status"] == 503 and "longer than" in error["message"]
        assert client.get("/api/v1/objects", headers=reader.headers).status_code == 200
