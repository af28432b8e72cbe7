"""Engine, metadata, transactions and migrations: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, text
from sqlalchemy.engine import make_url

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Every write on PostgreSQL takes this transaction-level advisory lock, so writes commit in the
# order they were numbered: change-log readers (stream, federation) never skip a late commit.
_WRITE_LOCK_KEY = 0x5348_4C44


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened."""


def utc_now() -> str:
    """Now as the sortable timestamp text every table stores (microseconds, UTC, 'Z')."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Database:
    """One engine and the write discipline: one writer at a time, one transaction per write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        # One writer per process; across processes BEGIN IMMEDIATE (SQLite) or the advisory lock
        # (PostgreSQL) takes over.
        self._write_lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends and rolls back on any exception."""
        with self._write_lock, self.engine.connect() as conn:
            if self.is_sqlite:
                conn.info["begin_immediate"] = True
            try:
                with conn.begin():
                    if not self.is_sqlite:
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK_KEY}
                        )
                    yield conn
            finally:
                conn.info.pop("begin_immediate", None)

    def dispose(self) -> None:
        self.engine.dispose()


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows fast inside the caller's transaction.

    SQLAlchemy's executemany costs more per row than SQLite itself; COPY is PostgreSQL's fastest
    way in. Both are written here by hand for the hot ingest path only.
    """
    if not rows:
        return
    columns = [c.name for c in table.columns]
    values = [tuple(row.get(name) for name in columns) for row in rows]
    dbapi_conn = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        dbapi_conn.executemany(  # type: ignore[union-attr]
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values
        )
        return
    with dbapi_conn.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN emitted by us so writes can BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # pysqlite's own BEGIN handling is off; see _on_begin
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("begin_immediate") else "BEGIN")


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    database = Database(url)
    try:
        with database.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        database.dispose()
