"""Rows into a table in bulk, inside the caller's transaction: the one hot write path (ingest's
object rows and their indexes) that talks to the database drivers directly."""

from __future__ import annotations

import itertools
import queue
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table

# Rows per INSERT ... VALUES statement (_SQLiteBatchInsert), at most: a power of two, so that
# a batch's remainder splits into a few lengths (256, 128, ...) whose statements stay cached.
_SQLITE_VALUES_ROWS = 512


class _SQLiteBatchInsert:
    """One table's rows in as a few statements per batch: `INSERT ... SELECT ... FROM (VALUES
    (?, ?), (?, ?), ...)`, up to _SQLITE_VALUES_ROWS rows a statement.

    executemany releases and retakes the GIL for every row, and the writer thread and the thread
    building the next batch then spend their time waiting on each other; a statement of hundreds
    of rows keeps SQLite working, GIL-free, for all of them. A column holding the same value in
    every row of the batch (the member, the TLP, a NULL: most of an ingest's columns) is bound
    once as a parameter instead of once a row. Rows used to travel as one JSON array read with
    json_each: SQLite then re-rendered and re-parsed each row's JSON and unescaped each body,
    which cost an objects row ~4 of its ~10.7 us (bench/README.md, ingest_core.py).
    """

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.head = f"INSERT INTO {table} ({', '.join(columns)}) SELECT "
        self.sql: dict[tuple[tuple[bool, ...], int], str] = {}  # by constant columns, rows

    def _statement(self, same: tuple[bool, ...], rows: int) -> str:
        if (sql := self.sql.get((same, rows))) is None:
            selected, bound, varying = [], 0, 0
            for constant in same:
                if constant:
                    bound += 1
                    selected.append(f"?{bound}")
                else:
                    varying += 1
                    selected.append(f"column{varying}")
            # '?' after '?N' takes the next number: the constants come first, then the rows.
            values = ",".join(["(" + ",".join("?" * varying) + ")"] * rows)
            sql = f"{self.head}{', '.join(selected)} FROM (VALUES {values})"
            self.sql[(same, rows)] = sql
        return sql

    def execute(self, dbapi_conn: Any, rows: list[tuple[Any, ...]]) -> None:
        columns = list(zip(*rows, strict=True))
        same = tuple(c.count(c[0]) == len(c) for c in columns)
        if all(same):  # no column varies (one row, or identical ones): VALUES needs a column
            same = (False, *same[1:])
        constants = [c[0] for c, constant in zip(columns, same, strict=True) if constant]
        varying = [c for c, constant in zip(columns, same, strict=True) if not constant]
        # Each row's varying values, flat, in row order.
        flat = [v for values in zip(*varying, strict=True) for v in values]
        width = len(varying)
        limit, most = _SQLITE_VALUES_ROWS, _sqlite_variable_limit(dbapi_conn)
        while limit > 1 and limit * width + len(constants) > most:
            limit //= 2
        start = 0
        while start < len(rows):
            count = limit
            while count > len(rows) - start:
                count //= 2
            sql = self._statement(same, count)
            dbapi_conn.execute(sql, (*constants, *flat[start * width : (start + count) * width]))
            start += count


def _sqlite_variable_limit(dbapi_conn: Any) -> int:
    """The most parameters one statement may have on this connection (32,766 by default since
    SQLite 3.32; 999 before)."""
    return int(dbapi_conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _copy_types(table: Table, columns: Sequence[str], dialect: Dialect) -> list[str]:
    """The PostgreSQL type name of each column ('varchar' for VARCHAR(300)), for a binary COPY."""
    return [
        re.sub(r"\(.*\)", "", table.c[c].type.compile(dialect=dialect)).lower() for c in columns
    ]


def bulk_insert(
    conn: Connection,
    layouts: Sequence[tuple[Table, Sequence[str]]],
    batches: Iterable[Sequence[list[tuple[Any, ...]]]],
) -> None:
    """Insert batches of rows inside the caller's transaction.

    `layouts` names each target table and its columns; each batch holds one list of row tuples
    per layout, in that order. The batches are built in this thread while another thread writes
    the previous batch: both drivers release the GIL while the database works, so building and
    writing overlap (a lone batch is written in this thread). The caller must not use `conn`
    until this returns. SQLAlchemy's executemany costs more per row than SQLite itself, and COPY
    is PostgreSQL's fastest way in, so this one hot path talks to the drivers directly.
    """
    dbapi_conn: Any = conn.connection.driver_connection
    sqlite = conn.dialect.name == "sqlite"
    inserts = [_SQLiteBatchInsert(table.name, cols) for table, cols in layouts]
    # Binary COPY: PostgreSQL neither splits lines nor unescapes nor parses numbers, and psycopg
    # writes values without escaping them: both processes' CPU fell ~8% on TAXII POSTs of
    # 10,000 objects (bench/README.md). Each column is sent as its declared type.
    copies = [
        f"COPY {table.name} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)"
        for table, cols in layouts
    ]
    types = [] if sqlite else [_copy_types(table, cols, conn.dialect) for table, cols in layouts]

    def write_one(slot: int, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if sqlite:
            inserts[slot].execute(dbapi_conn, rows)
            return
        with dbapi_conn.cursor() as cursor, cursor.copy(copies[slot]) as copy:
            copy.set_types(types[slot])
            for row in rows:
                copy.write_row(row)

    def write(batch: Sequence[list[tuple[Any, ...]]]) -> None:
        for slot, rows in enumerate(batch):
            write_one(slot, rows)

    # A single batch (a small ingest: an event, a TAXII page) is written here: a thread's start
    # and hand-offs cost more than the overlap buys (~15 ms of a 90-object MISP event's 60).
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None:
        write(first)
        return

    pending: queue.Queue[Sequence[list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=2)
    failures: list[BaseException] = []

    def writer() -> None:
        while (rows := pending.get()) is not None:
            if not failures:
                try:
                    write(rows)
                except BaseException as exc:  # handed to the caller's thread below
                    failures.append(exc)

    thread = threading.Thread(target=writer, name="bulk-insert")
    thread.start()
    try:
        for batch in itertools.chain((first, second), batches):
            if failures:
                break
            pending.put(batch)
    finally:
        pending.put(None)
        thread.join()
    if failures:
        raise failures[0]
