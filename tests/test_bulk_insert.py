"""The bulk write path stores exactly the rows it is given, whatever their columns share."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shieldwall.bulk_insert import bulk_insert
from shieldwall.correlate.tables import observable_keys
from shieldwall.db import Database

COLUMNS = ("object_pk", "key_hash", "benign", "low", "high", "not_first")


def stored(db: Database) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        query = select(*(observable_keys.c[c] for c in COLUMNS)).order_by(
            observable_keys.c.object_pk, observable_keys.c.key_hash
        )
        return [tuple(r) for r in conn.execute(query)]


def test_batches_are_stored_as_given(db: Database) -> None:
    # SQLite binds a column once when every row of a batch holds the same value there: batches
    # where all, some or none of the columns vary, with NULLs, booleans, and a row alone.
    batches = [
        [(1, -(2**63), None, None, None, None)],  # one row: every column "the same"
        [(2, 5, "a|b", "4c0000201", None, True), (2, 5, "a|b", "4c0000201", None, True)],
        [(3, 2**63 - 1, None, "4c0000200", "4c00002ff", None), (4, 7, "x", None, None, True)],
        [(5 + i, i, None, None, None, None if i else True) for i in range(3000)],
        [],
    ]
    with db.write() as conn:
        bulk_insert(conn, [(observable_keys, COLUMNS)], ([rows] for rows in batches))
    expected = sorted(row for rows in batches for row in rows)
    assert stored(db) == expected


def test_a_failing_batch_raises_and_leaves_nothing(db: Database) -> None:
    good = [(1, 1, None, None, None, None)]
    bad = [(2, 2, None, None, None, None), (None, 3, None, None, None, None)]  # NOT NULL pk
    with pytest.raises(Exception, match=r"(?i)null"), db.write() as conn:
        bulk_insert(conn, [(observable_keys, COLUMNS)], ([rows] for rows in (good, bad)))
    assert stored(db) == []


@pytest.mark.parametrize("count", [0, 1, 2])
def test_one_batch_or_none_is_written_here_and_a_failure_still_raises(
    db: Database, count: int
) -> None:
    rows = [[(i, i, None, None, None, None)] for i in range(1, count + 1)]
    with db.write() as conn:
        bulk_insert(conn, [(observable_keys, COLUMNS)], ([r] for r in rows))
    assert stored(db) == [row for batch in rows for row in batch]
    bad = [(None, 9, None, None, None, None)]
    with pytest.raises(Exception, match=r"(?i)null"), db.write() as conn:
        bulk_insert(conn, [(observable_keys, COLUMNS)], iter([[bad]]))
    assert len(stored(db)) == count
