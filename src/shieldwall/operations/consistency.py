"""Is the store whole? The checks a crash, a restore or a bad migration would break.

- The change log has no gap: its entries are numbered 1, 2, 3... with none missing (readers of
  the change log, the stream and federation, resume from a number and would skip a change).
- Every write is whole: each entry that wrote objects (first_pk..last_pk) has all of them,
  unless a later removal announced on the change log took them; no object lies outside every
  such entry (a half-written write would leave either); entries never overlap.
- Every object has exactly one latest version per member that holds it.
- The indexes agree with the objects: the correlation index (observable keys, values, report
  references), full-text documents and relationship ends of each stored version are exactly
  the rows its indexes make of its body now, and no index row points at a missing object.
  Warning-list flags (`benign`) are left out: they follow the warning lists of the day.
- The audit chain verifies.

Memory stays flat: objects are read a few thousand at a time, in pk order, with the index rows
of the same pk range. A hundred thousand objects take a few seconds.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from shieldwall.audit.service import verify
from shieldwall.db import Database
from shieldwall.intel.ingest import ObjectIndex
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.search.tables import (
    FTS_WORDS,
    PG_WORDS,
    scoped_document,
    search_docs,
    search_scopes,
)

_CHUNK = 5000
_SHOWN = 20  # problems of one kind listed before "... and N more"
_IGNORED_COLUMNS = frozenset({"benign"})
# Writes that put objects in the store without indexing them: the platform's own identities
# (intel/identities.py) are served by id and never searched for.
_UNINDEXED_ACTIONS = frozenset({"identity"})


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """What was checked and every problem found (empty: the store is whole)."""

    objects: int
    changes: int
    audit_entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []
        self._counts: Counter[str] = Counter()

    def add(self, kind: str, message: str) -> None:
        self._counts[kind] += 1
        if self._counts[kind] <= _SHOWN:
            self.found.append(message)

    def all(self) -> tuple[str, ...]:
        more = [
            f"... and {n - _SHOWN} more: {kind}" for kind, n in self._counts.items() if n > _SHOWN
        ]
        return (*self.found, *more)


def check(db: Database, indexes: Sequence[ObjectIndex]) -> ConsistencyReport:
    """Check the store; `indexes` are the ingestor's (ingestor_for(db, settings).indexes)."""
    problems = _Problems()
    with db.read() as conn:
        changes = _check_change_log(conn, problems)
        ranges = _write_ranges(conn, problems)
        count = _check_objects(conn, indexes, ranges, problems)
        _check_latest(conn, problems)
        _check_scoped_words(conn, db.is_sqlite, problems)
    if db.is_sqlite:
        _check_fts(db, problems)
    audit = verify(db)
    if not audit.ok:
        problems.add("audit", f"audit chain broken at entry {audit.first_bad_seq}: {audit.reason}")
    return ConsistencyReport(count, changes, audit.checked, problems.all())


def _check_change_log(conn: Connection, problems: _Problems) -> int:
    expected = 1
    for (seq,) in conn.execute(select(change_log.c.seq).order_by(change_log.c.seq)):
        if seq != expected:
            problems.add("gap", f"change log: entries {expected}..{seq - 1} are missing")
        expected = seq + 1
    return expected - 1


@dataclass(frozen=True, slots=True)
class _Range:
    first: int
    last: int
    seq: int
    action: str


def _write_ranges(conn: Connection, problems: _Problems) -> list[_Range]:
    """The pk ranges of the writes on the change log, each checked whole."""
    removed = {
        pk
        for (pk,) in conn.execute(
            select(change_objects.c.pk).join(
                change_log,
                and_(change_log.c.seq == change_objects.c.seq, change_log.c.action == "remove"),
            )
        )
    }
    c = change_log.c
    ranges: list[_Range] = []
    rows = conn.execute(
        select(c.seq, c.action, c.first_pk, c.last_pk, c.count)
        .where(c.first_pk.isnot(None))
        .order_by(c.first_pk)
    )
    for row in rows:
        span = _Range(row.first_pk, row.last_pk, row.seq, row.action)
        if ranges and span.first <= ranges[-1].last:
            problems.add("overlap", f"change log: entries {ranges[-1].seq} and {span.seq} "
                         "claim the same objects")  # fmt: skip
        ranges.append(span)
        present = conn.scalar(
            select(func.count()).where(objects.c.pk.between(span.first, span.last))
        )
        gone = sum(1 for pk in range(span.first, span.last + 1) if pk in removed) if removed else 0
        if span.last - span.first + 1 != row.count or present + gone != row.count:
            problems.add(
                "partial",
                f"change log entry {row.seq} ({row.action}) wrote {row.count} objects; "
                f"{present} are stored and {gone} were removed since",
            )
    return ranges


def _objects(conn: Connection) -> Iterator[list[Any]]:
    """Every stored version in pk order, a chunk at a time (keyset: flat memory)."""
    after = None
    while True:
        query = select(objects.c.pk, objects.c.body).order_by(objects.c.pk).limit(_CHUNK)
        if after is not None:
            query = query.where(objects.c.pk > after)
        chunk = conn.execute(query).all()
        if not chunk:
            return
        yield chunk
        after = chunk[-1].pk


def _check_objects(
    conn: Connection,
    indexes: Sequence[ObjectIndex],
    ranges: list[_Range],
    problems: _Problems,
) -> int:
    layouts = [layout for index in indexes for layout in index.layouts]
    starts = [r.first for r in ranges]
    count = 0
    low = None  # the chunk covers pks in (low, high]; None: from the very first
    for chunk in _objects(conn):
        high = chunk[-1].pk
        stored = [_stored_rows(conn, table, columns, low, high) for table, columns in layouts]
        for row in chunk:
            count += 1
            at = bisect.bisect_right(starts, row.pk) - 1
            writer = ranges[at] if at >= 0 and ranges[at].last >= row.pk else None
            if writer is None:
                problems.add("orphan", f"object pk {row.pk} belongs to no write on the change log")
            expected = _expected_rows(indexes, row.pk, orjson.loads(row.body))
            found = [rows.pop(row.pk, Counter()) for rows in stored]
            unindexed = writer is not None and writer.action in _UNINDEXED_ACTIONS
            if found != expected and not (unindexed and not any(found)):
                names = [t.name for (t, _), e, f in zip(layouts, expected, found, strict=True)
                         if e != f]  # fmt: skip
                problems.add("index", f"object pk {row.pk}: {', '.join(names)} disagree with "
                             "its body")  # fmt: skip
        for (table, _), rows in zip(layouts, stored, strict=True):
            for pk in rows:  # what is left names no object of this chunk
                problems.add("dangling", f"{table.name}: rows for pk {pk}, which is not stored")
        low = high
    for table, columns in layouts:  # past the last object
        for pk in _stored_rows(conn, table, columns, low, None):
            problems.add("dangling", f"{table.name}: rows for pk {pk}, which is not stored")
    return count


def _key(table: Any, columns: Sequence[str]) -> Any:
    return table.c[columns[0]]  # every layout starts with the object's pk


def _stored_rows(
    conn: Connection, table: Any, columns: Sequence[str], low: int | None, high: int | None
) -> dict[int, Counter[tuple[Any, ...]]]:
    key = _key(table, columns)
    kept = [name for name in columns if name not in _IGNORED_COLUMNS]
    query = select(*(table.c[name] for name in kept))
    if low is not None:
        query = query.where(key > low)
    if high is not None:
        query = query.where(key <= high)
    rows: dict[int, Counter[tuple[Any, ...]]] = {}
    for row in conn.execute(query):
        rows.setdefault(row[0], Counter())[_comparable(row)] += 1
    return rows


def _expected_rows(
    indexes: Sequence[ObjectIndex], pk: int, body: dict[str, Any]
) -> list[Counter[tuple[Any, ...]]]:
    expected: list[Counter[tuple[Any, ...]]] = []
    for index in indexes:
        for (_, columns), rows in zip(index.layouts, index.rows(pk, body), strict=True):
            kept = [i for i, name in enumerate(columns) if name not in _IGNORED_COLUMNS]
            expected.append(Counter(_comparable(tuple(r[i] for i in kept)) for r in rows))
    return expected


def _comparable(row: Sequence[Any]) -> tuple[Any, ...]:
    # SQLite gives booleans back as 0/1 and PostgreSQL as bools; NULL stays None.
    return tuple(int(v) if isinstance(v, bool) else v for v in row)


def _check_latest(conn: Connection, problems: _Problems) -> None:
    latest = func.sum(case((objects.c.is_latest, 1), else_=0))
    rows = conn.execute(
        select(objects.c.object_id, objects.c.member_id, latest.label("latest"))
        .group_by(objects.c.object_id, objects.c.member_id)
        .having(latest != 1)
    )
    for row in rows:
        problems.add("latest", f"{row.object_id} of member {row.member_id} has {row.latest} "
                     "latest versions")  # fmt: skip


def _check_scoped_words(conn: Connection, sqlite: bool, problems: _Problems) -> None:
    """The scoped full-text index (search/tables.py), kept by triggers, holds each document's
    words under the two scopes of its object's row as it is now, and nothing else."""
    d, o = search_docs.c, objects.c
    so, sa = search_scopes.alias("so"), search_scopes.alias("sa")
    owner = and_(
        so.c.member_id == o.member_id, so.c.distribution == "", so.c.tlp == 0,
        so.c.sharing_group_id == "",
    )  # fmt: skip
    audience = and_(
        sa.c.member_id == "", sa.c.distribution == o.distribution, sa.c.tlp == o.tlp,
        sa.c.sharing_group_id == func.coalesce(o.sharing_group_id, ""),
    )  # fmt: skip
    words, key = (FTS_WORDS, FTS_WORDS.c.rowid) if sqlite else (PG_WORDS, PG_WORDS.c.object_pk)
    stored = words.c.doc if sqlite else key  # a tsvector is compared by PostgreSQL, below
    columns = (so.c.id.label("owner"), sa.c.id.label("audience"), stored.label("stored"))
    rows = conn.execute(
        select(d.object_pk, d.doc, *columns)
        .select_from(
            search_docs.join(objects, o.pk == d.object_pk)
            .outerjoin(so, owner)
            .outerjoin(sa, audience)
            .outerjoin(words, key == d.object_pk)
        )
        .order_by(d.object_pk)
    )
    wrong: list[int] = []
    made: list[tuple[int, str]] = []
    for row in rows:
        if row.owner is None or row.audience is None or row.stored is None:
            problems.add("scoped", f"search_words: nothing indexed for pk {row.object_pk}")
            continue
        expected = scoped_document(row.doc, row.owner, row.audience)
        if not sqlite:
            made.append((row.object_pk, expected))
        elif row.stored != expected:
            wrong.append(row.object_pk)
    for start in range(0, len(made), _CHUNK):
        chunk = made[start : start + _CHUNK]
        wrong += conn.scalars(
            text(
                "SELECT u.pk FROM unnest(CAST(:pks AS bigint[]), CAST(:texts AS text[])) "
                "AS u(pk, t) JOIN search_words w ON w.object_pk = u.pk "
                "WHERE w.tsv <> array_to_tsvector(string_to_array(u.t, ' '))"
            ),
            {"pks": [pk for pk, _ in chunk], "texts": [t for _, t in chunk]},
        ).all()
    for pk in sorted(wrong):
        problems.add("scoped", f"search_words: pk {pk} is not indexed under its object's scope")
    orphans = conn.execute(
        select(key).select_from(words.outerjoin(search_docs, d.object_pk == key))
        .where(d.object_pk.is_(None))
    )  # fmt: skip
    for (pk,) in orphans:
        problems.add("dangling", f"search_words: rows for pk {pk}, which has no document")


def _check_fts(db: Database, problems: _Problems) -> None:
    """SQLite's own check that the full-text index matches the documents it holds (an FTS5
    command, which SQLite runs as a write: it changes nothing)."""
    try:
        with db.write() as conn:
            conn.execute(
                text("INSERT INTO search_words(search_words, rank) VALUES ('integrity-check', 1)")
            )
    except SQLAlchemyError as exc:  # reported: the other checks' findings still count
        problems.add("fts", f"full-text index: {str(exc).splitlines()[0]}")
