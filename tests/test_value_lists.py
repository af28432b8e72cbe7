"""Thousands of keys sent as one parameter select exactly the rows holding them, either way."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shieldwall.bulk_insert import bulk_insert
from shieldwall.correlate.tables import observable_keys
from shieldwall.db import Database, one_of, probe_by_probe, value_list

KEYS = [-(2**63), -5, 0, 7, 2**62, 2**63 - 1]


def _stored(db: Database) -> None:
    rows = [(pk, key, None, None, None, None) for pk, key in enumerate(KEYS)]
    rows.append((99, 7, None, None, None, None))  # a key two rows share
    columns = ("object_pk", "key_hash", "benign", "low", "high", "not_first")
    with db.write() as conn:
        bulk_insert(conn, [(observable_keys, columns)], [[rows]])


def test_one_of_selects_the_rows_whose_key_is_asked(db: Database) -> None:
    _stored(db)
    asked = [2**63 - 1, 7, -(2**63), 12345]  # 12345 is stored nowhere
    with db.read() as conn:

        def pks(values: list[int]) -> list[int]:
            query = select(observable_keys.c.object_pk).where(
                one_of(conn, observable_keys.c.key_hash, values)
            )
            return sorted(conn.scalars(query))

        assert pks(asked) == [0, 3, 5, 99]
        assert pks([12345]) == []
        assert pks([]) == []
        # The same as joining the keys as a value_list.
        wanted = value_list(conn, asked)
        joined = select(observable_keys.c.object_pk).select_from(
            wanted.join(observable_keys, observable_keys.c.key_hash == wanted.c.value)
        )
        assert sorted(conn.scalars(joined)) == pks(asked)


def test_probe_by_probe_holds_for_its_transaction_only(db: Database) -> None:
    settings = ("enable_mergejoin", "enable_hashjoin", "enable_seqscan", "jit")
    if db.is_sqlite:
        pytest.skip("PostgreSQL's planner settings; SQLite probes anyway")
    with db.read() as conn:
        probe_by_probe(conn)
        shown = [conn.exec_driver_sql(f"SHOW {name}").scalar() for name in settings]
        assert shown == ["off"] * len(settings)
        assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"
    with db.read() as conn:
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar() == "on"
