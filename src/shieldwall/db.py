"""Engine, metadata, transactions and migrations: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import ctypes
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    MetaData,
    Text,
    any_,
    cast,
    create_engine,
    event,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.sql.expression import ColumnElement, Executable, FromClause
from sqlalchemy.types import TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# On PostgreSQL, once writes have stored this many objects since it last ran, the tables are
# vacuumed and analysed in the background (autovacuum waits for 10-20% of a table, and up to a
# minute): fresh statistics for the planner, and new pages marked all-visible, which lets a
# lookup read the objects' covering primary key alone (migration 0006).
VACUUM_AFTER_ROWS = 20_000
VACUUMED_TABLES = (
    "objects", "observable_keys", "observable_values", "object_refs", "search_docs", "search_words"
)  # fmt: skip
# A due VACUUM waits until writes pause this long, or at most VACUUM_MAX_DELAY_SECONDS: a burst
# of large writes (a TAXII client's pages, an import) is vacuumed once it ends, not every
# VACUUM_AFTER_ROWS on the way, where each run (~0.4 s of the server's CPU at 100,000 objects,
# most of it ANALYZE's) competed with the next write for the machine.
VACUUM_QUIET_SECONDS = 0.5
VACUUM_MAX_DELAY_SECONDS = 15.0

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

    def __init__(self, url: str, *, statement_seconds: float = 0) -> None:
        """`statement_seconds`: the longest a statement outside a write may run (0: no bound);
        past it the statement fails with an error `is_statement_timeout` recognises."""
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine)
            if statement_seconds:
                _bound_sqlite_statements(self.engine, statement_seconds)
        else:
            # No server-side prepared statements: a generic plan chosen while a table was small
            # stays cached on a pooled connection and turns id probes into scans as it grows.
            connect_args: dict[str, Any] = {"prepare_threshold": None}
            if statement_seconds:  # every statement; a write lifts it for its transaction
                connect_args["options"] = f"-c statement_timeout={int(statement_seconds * 1000)}"
            self.engine = create_engine(
                url, pool_size=10, max_overflow=20, connect_args=connect_args
            )
            _ping_when_idle(self.engine)
        # PostgreSQL: the same pool, its connections in autocommit while checked out (quick_read).
        self._autocommit = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # One writer per process; across processes BEGIN IMMEDIATE (SQLite) or the advisory lock
        # (PostgreSQL) takes over.
        self._write_lock = threading.Lock()
        engine = self.engine
        if self.is_sqlite:
            self._housekeeper = _Housekeeper(
                "sqlite-checkpoint",
                lambda: _sqlite_checkpoint(engine, "PASSIVE"),
                lambda: _sqlite_checkpoint(engine, "TRUNCATE"),
            )
        else:
            self._housekeeper = _Housekeeper(
                "postgresql-vacuum", self._vacuum, hold=self._vacuum_hold
            )
        self._rows_since_vacuum = 0
        self._vacuum_due_since: float | None = None  # when a VACUUM last fell due, not yet run
        self._writing = False
        self._last_write = 0.0  # time.monotonic() when a write last began or ended
        self._after_write: list[Callable[[], None]] = []
        self._rows_lock = threading.Lock()  # ingests that finish together count all their rows

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def quick_read(self) -> Iterator[Connection]:
        """A connection for plain SELECTs that need no transaction around them (an id probe,
        a page of a keyset listing, authentication): on PostgreSQL in autocommit, each
        statement its own transaction, which saves the BEGIN and COMMIT round trips of read()
        (two of three for a single statement; READ COMMITTED gives a transaction's statements
        no common snapshot anyway). Not for SET LOCAL, server-side cursors or anything else
        that needs a transaction. On SQLite, read() (its transactions cost no round trip)."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self._autocommit.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends and rolls back on any exception."""
        with self._write_lock, self.engine.connect() as conn, self._writing_now():
            if self.is_sqlite:
                conn.info["begin_immediate"] = True
                _sqlite_cache(conn, _SQLITE_WRITE_CACHE_KIB)
            conn.info["unbounded"] = True  # a write is whole or absent: never cut short
            try:
                with conn.begin():
                    if not self.is_sqlite:
                        conn.execute(
                            text(
                                "SELECT pg_advisory_xact_lock(:k), "
                                "set_config('statement_timeout', '0', true)"
                            ),
                            {"k": _WRITE_LOCK_KEY},
                        )
                    yield conn
                    if not self.is_sqlite:  # delivered at commit, to every process listening
                        conn.exec_driver_sql(f"NOTIFY {CHANGES_CHANNEL}")
            finally:
                conn.info.pop("begin_immediate", None)
                conn.info.pop("unbounded", None)
                if self.is_sqlite:  # back to the reader's size, freeing what the write used
                    _sqlite_cache(conn, _SQLITE_CACHE_KIB)
                    # A smaller cache_size alone keeps the pages already held (up to 256 MB).
                    conn.connection.driver_connection.execute("PRAGMA shrink_memory")
        if self.is_sqlite:
            self._housekeeper.poke()
        for callback in self._after_write:
            callback()

    @contextmanager
    def _writing_now(self) -> Iterator[None]:
        """Mark a write in progress, for _vacuum_hold."""
        self._writing, self._last_write = True, time.monotonic()
        try:
            yield
        finally:
            self._writing, self._last_write = False, time.monotonic()

    def _vacuum_hold(self) -> float:
        """Seconds the due VACUUM should still wait: until writes have paused for
        VACUUM_QUIET_SECONDS, and never past VACUUM_MAX_DELAY_SECONDS after it fell due."""
        now, due = time.monotonic(), self._vacuum_due_since
        left = 0.0 if due is None else due + VACUUM_MAX_DELAY_SECONDS - now
        quiet = (
            VACUUM_QUIET_SECONDS if self._writing else self._last_write + VACUUM_QUIET_SECONDS - now
        )
        return max(0.0, min(left, quiet))

    def _vacuum(self) -> None:
        self._vacuum_due_since = None
        _postgresql_vacuum(self.engine)

    def after_write(self, callback: Callable[[], None]) -> None:
        """Call `callback` (cheap, from the writing thread) after each committed write: the
        stream's readers in this process wake at once instead of at their next poll."""
        self._after_write.append(callback)

    def wrote_many(self, rows: int) -> None:
        """Say that a write just stored `rows` objects: on PostgreSQL, enough of them since the
        last time (VACUUM_AFTER_ROWS) vacuum and analyse the tables in the background, once
        writes pause (VACUUM_QUIET_SECONDS, VACUUM_MAX_DELAY_SECONDS)."""
        if self.is_sqlite:
            return
        with self._rows_lock:
            self._rows_since_vacuum += rows
            due = self._rows_since_vacuum >= VACUUM_AFTER_ROWS
            if due:
                self._rows_since_vacuum = 0
                if self._vacuum_due_since is None:
                    self._vacuum_due_since = time.monotonic()
        if due:
            self._housekeeper.poke()

    def housekeeping_done(self, timeout: float = 60) -> bool:
        """Wait until background housekeeping asked for so far has run."""
        return self._housekeeper.wait(timeout)

    def dispose(self) -> None:
        self._housekeeper.close()
        self.engine.dispose()


class _Housekeeper:
    """Runs `work` on a background thread after writes, off the write path; `final` on close.

    SQLite: its automatic checkpoint runs inside the commit of whichever write crosses its
    threshold, which adds most of a second to a large ingest; here the write-ahead log is copied
    back after each write instead (PASSIVE: never blocks readers or writers). PostgreSQL: after
    large writes, VACUUM (ANALYZE) runs once writes pause (`hold`; within seconds either way)
    rather than when autovacuum next looks (up to a minute, if it is on at all): until then the
    planner takes a table of a million rows for an empty one, and lookups read every object
    they find from the table, not the index.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[], None],
        final: Callable[[], None] | None = None,
        *,
        hold: Callable[[], float] | None = None,
    ) -> None:
        """`hold()`: how many seconds more the work asked for should wait (0: run it now)."""
        self._name, self._work, self._final, self._hold = name, work, final, hold
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._progress = threading.Condition()
        self._asked = self._done = 0  # pokes so far, and how many of them the work has covered
        self._closing = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        with self._progress:
            self._asked += 1
        self._wake.set()

    def wait(self, timeout: float = 60) -> bool:
        """Until the work asked for so far has run (for tests and tools)."""
        with self._progress:
            asked = self._asked
            return self._progress.wait_for(lambda: self._done >= asked, timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._closing:
                return
            self._wake.clear()
            if self._hold is not None:
                while (pause := self._hold()) > 0 and not self._closed.wait(pause):
                    pass
                if self._closing:
                    return
            with self._progress:
                covering = self._asked
            with contextlib.suppress(Exception):  # housekeeping: the next write tries again
                self._work()
            give_back_free_memory()
            with self._progress:
                self._done = covering
                self._progress.notify_all()

    def close(self) -> None:
        with self._start_lock:
            self._closing = True
        self._closed.set()
        self._wake.set()
        if self._thread is not None:  # only after work was ever asked for
            self._thread.join()
            if self._final is not None:
                self._final()


def give_back_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's malloc_trim; elsewhere nothing).

    A large write frees hundreds of MB of parsed objects and SQLite pages, but glibc keeps freed
    memory below the top of its heap for reuse, so the server stayed ~250 MB larger after a
    50,000-object bundle than before it, for good. Trimmed after each write's housekeeping, it
    settles about 100 MB above its start (issue 11; bench/ingest.py prints the figure).
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None


_malloc_trim = _find_malloc_trim()


def _sqlite_checkpoint(engine: Engine, mode: str) -> None:
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})")  # type: ignore[union-attr]
    finally:
        raw.close()


def _postgresql_vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")  # housekeeping is not a request
        try:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(VACUUMED_TABLES)}")
        finally:
            conn.exec_driver_sql("RESET statement_timeout")


# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only when it has been idle IDLE_PING_SECONDS.

    SQLAlchemy's pool_pre_ping pings at every checkout: a round trip, and most of a
    millisecond of the server's CPU, for each `db.read()` of a request that takes a few (a TAXII
    `match[id]` made three). Connections die while they sit idle (a database restart, a
    firewall's idle timeout), which this still catches: a failed ping raises
    DisconnectionError, on which the pool drops the connection and hands out a fresh one. A
    connection that dies within seconds of its last use fails the one statement that meets
    it; SQLAlchemy then sees the disconnect and replaces every connection of the pool opened
    before it, so the requests after it do not meet a dead one."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # fresh from connect, or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def _bound_sqlite_statements(engine: Engine, seconds: float) -> None:
    """SQLite has no statement timeout: a progress handler, called every few thousand virtual
    machine steps, interrupts a statement that has run past `seconds` since it was executed
    (writes are left alone, as on PostgreSQL)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        deadline = [float("inf")]
        dbapi_conn.set_progress_handler(lambda: time.monotonic() > deadline[0], 20_000)
        _record.info["deadline"] = deadline

    @event.listens_for(engine, "checkout")
    def _on_checkout(_dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        record.info["deadline"][0] = float("inf")  # until its first statement through SQLAlchemy

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn, _cursor, _statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        deadline = conn.connection.info["deadline"]
        deadline[0] = float("inf") if conn.info.get("unbounded") else time.monotonic() + seconds


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether a database error is a statement cut short by `statement_seconds`."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig) == "interrupted"
    return type(orig).__name__ == "QueryCanceled"


def value_list(
    conn: Connection, values: Sequence[Any], type_: TypeEngine[Any] | None = None
) -> FromClause:
    """A one-column table (column `value`) of `values`, sent as a single parameter.

    For joins against thousands of keys: an IN list binds a parameter per value, which SQLAlchemy
    and the drivers handle one by one; this sends one JSON array whatever the count (SQLite:
    json_each; PostgreSQL: json_array_elements_text, each element cast to `type_`, BigInteger
    unless said). An array parameter would do on PostgreSQL, but psycopg adapts it element by
    element: 22 ms for 10,000 strings, where the server reads the same JSON text in 3.
    """
    array = orjson.dumps(list(values)).decode()
    if conn.dialect.name == "sqlite":
        return func.json_each(array).table_valued("value")
    elements = func.json_array_elements_text(cast(literal(array, Text()), JSON)).table_valued(
        "value"
    )
    as_type = cast(elements.c.value, type_ if type_ is not None else BigInteger())
    return select(as_type.label("value")).select_from(elements).subquery()


def one_of(
    conn: Connection, column: ColumnElement[int], values: Sequence[int]
) -> ColumnElement[bool]:
    """`column` is one of the integers `values`, sent as a single parameter.

    On PostgreSQL, `= ANY(array)` finds every value's rows in one index scan and then reads the
    table's pages in their physical order (a bitmap scan), where joining a value_list probes them
    in the values' order. Rows written together lie together, and so do the pages they point to:
    10,000 keys at 1M objects cost ~90 ms instead of ~115. The array travels as its text form,
    which psycopg passes on as it is. SQLite probes the index for each value either way, and
    a join to a value_list does that ~10% faster than this IN.
    """
    if conn.dialect.name == "sqlite":
        return column.in_(select(value_list(conn, values).c.value))
    array = "{" + ",".join(map(str, values)) + "}"
    return column == any_(cast(literal(array, Text()), ARRAY(BigInteger())))


def plain_rows(conn: Connection, query: Executable) -> list[tuple[Any, ...]]:
    """A query's rows as the driver's cursor returns them, in the caller's transaction, without
    SQLAlchemy's result handling.

    For the lookup's hot query, whose ten thousand rows spent a fifth of their time in it. The
    columns come as the driver gives them: a boolean is 0 or 1 on SQLite.
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    names, params = compiled.positiontup, compiled.params
    bound = params if names is None else tuple(params[name] for name in names)  # by style
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), bound)
        return cursor.fetchall()
    finally:
        cursor.close()


def probe_by_probe(conn: Connection) -> None:
    """On PostgreSQL, join a value_list to an index a probe at a time, for this transaction.

    Thousands of values against millions of rows: PostgreSQL's planner prefers to walk a whole
    index in a merge join, to hash both tables when its statistics lag a large ingest, or, for
    ranges, to scan a table once per range (and to compile that plan with JIT first): seconds
    where a probe per value costs tens of milliseconds. SQLite probes anyway.
    """
    if conn.dialect.name == "postgresql":  # in one round trip
        conn.exec_driver_sql(
            "SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off; "
            "SET LOCAL enable_seqscan = off; SET LOCAL jit = off; "
            "SET LOCAL max_parallel_workers_per_gather = 0"
        )


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# PostgreSQL's channel on which every committed write is announced to every app process.
CHANGES_CHANNEL = "shieldwall_changes"
_SQLITE_MMAP_BYTES = 2**31
_SQLITE_CACHE_KIB = 64 * 1024
# A write's page cache, allocated as used and given back after it: a large bundle dirties pages
# all over the random-order indexes (ids, keys, values), and a smaller cache spills them
# mid-transaction (at a million stored objects, 64 MB cost a quarter of the ingest rate). Only
# writes, one at a time, get it, so a pool of connections never holds 256 MB each.
_SQLITE_WRITE_CACHE_KIB = 256 * 1024


def _sqlite_cache(conn: Connection, kib: int) -> None:
    # On the driver's connection: through SQLAlchemy the PRAGMA would open the transaction.
    conn.connection.driver_connection.execute(f"PRAGMA cache_size=-{kib}")


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
        cur.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        # Reads through a memory map, not a read() per page: a lookup visits thousands of
        # scattered rows (capped by SQLite's build, usually at 2 GB).
        cur.execute(f"PRAGMA mmap_size={_SQLITE_MMAP_BYTES}")
        cur.execute("PRAGMA wal_autocheckpoint=0")  # see _Checkpointer
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("begin_immediate") else "BEGIN")


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    alembic(url, "upgrade", "head")


def alembic(url: str, action: str, revision: str) -> None:
    """Run Alembic's `action` ("upgrade", "downgrade") to `revision` in one write transaction.

    As a write: on SQLite BEGIN IMMEDIATE, so that a server writing meanwhile makes it wait its
    turn (the busy timeout) where a plain BEGIN, read first and written later, fails at once
    with "database is locked" once another connection has written since its read."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    database = Database(url)
    try:
        with database.write() as conn:
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)
    finally:
        database.dispose()
