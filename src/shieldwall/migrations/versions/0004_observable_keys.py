"""split observables into the correlation index of keys and search's table of values

The correlation index kept every value beside its key; it now keeps the key, a pointer and the
bounds of addresses and ranges (see shieldwall/correlate/tables.py), and the values live on,
for search only, in observable_values. Rows are carried over, not recomputed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:40:00.000000
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_VALUE_KEY_LENGTH = 200  # shieldwall.search.tables.VALUE_KEY_LENGTH when this was written


def _bound(column: str) -> str:
    """An old hex bound with its new version digit: 8 hex digits are IPv4, 32 are IPv6."""
    return f"CASE WHEN length({column}) = 8 THEN '4' ELSE '6' END || {column}"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "observable_keys",
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("benign", sa.Text(), nullable=True),
        sa.Column("low", sa.String(length=33), nullable=True),
        sa.Column("high", sa.String(length=33), nullable=True),
    )
    op.execute(
        "INSERT INTO observable_keys (object_pk, key_hash, benign, low, high) "
        f"SELECT object_pk, key_hash, benign, {_bound('low')}, "
        f"CASE WHEN kind LIKE '%-cidr' THEN {_bound('high')} END FROM observables"
    )
    op.create_index("ix_observable_keys_key_hash", "observable_keys", ["key_hash"])
    op.create_index(
        "ix_observable_keys_address",
        "observable_keys",
        ["low"],
        sqlite_where=sa.text("low IS NOT NULL AND high IS NULL"),
        postgresql_where=sa.text("low IS NOT NULL AND high IS NULL"),
    )
    op.create_index(
        "ix_observable_keys_range",
        "observable_keys",
        ["low", "high"],
        sqlite_where=sa.text("high IS NOT NULL"),
        postgresql_where=sa.text("high IS NOT NULL"),
    )

    op.create_table(
        "observable_values",
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.execute(
        "INSERT INTO observable_values (object_pk, kind, value) "
        "SELECT object_pk, kind, value FROM observables"
    )
    ops = "" if sqlite else " text_pattern_ops"
    op.execute(
        "CREATE INDEX ix_observable_values_value ON observable_values "
        f"(substr(value, 1, {_VALUE_KEY_LENGTH}){ops})"
    )

    op.drop_table("observables")  # and its indexes
    op.drop_index("ix_object_refs_object_pk", table_name="object_refs")  # nothing reads by it


def downgrade() -> None:
    """Pair each value with its key again: key_hash is sha256("kind:value"), as in 0002."""
    conn = op.get_bind()
    op.create_table(
        "observables",
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("low", sa.String(length=32), nullable=True),
        sa.Column("high", sa.String(length=32), nullable=True),
        sa.Column("benign", sa.Text(), nullable=True),
    )
    keys = {
        (row.object_pk, row.key_hash): row
        for row in conn.execute(
            sa.text("SELECT object_pk, key_hash, benign, low, high FROM observable_keys")
        )
    }
    rows = []
    for object_pk, kind, value in conn.execute(
        sa.text("SELECT object_pk, kind, value FROM observable_values")
    ):
        digest = hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()
        key = keys.get((object_pk, int(digest[:16], 16) - (1 << 63)))
        rows.append({
            "object_pk": object_pk, "key_hash": int(digest[:16], 16) - (1 << 63), "kind": kind,
            "value": value, "benign": key.benign if key else None,
            "low": key.low[1:] if key and key.low else None,
            "high": (key.high or key.low)[1:] if key and key.low else None,
        })  # fmt: skip
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO observables (object_pk, key_hash, kind, value, low, high, benign) "
                "VALUES (:object_pk, :key_hash, :kind, :value, :low, :high, :benign)"
            ),
            rows,
        )
    op.create_index("ix_observables_key_hash", "observables", ["key_hash"])
    op.create_index("ix_observables_object_pk", "observables", ["object_pk"])
    op.create_index(
        "ix_observables_range",
        "observables",
        ["kind", "low"],
        sqlite_where=sa.text("low IS NOT NULL"),
        postgresql_where=sa.text("low IS NOT NULL"),
    )
    ops = "" if conn.dialect.name == "sqlite" else " text_pattern_ops"
    op.execute(
        "CREATE INDEX ix_observables_value ON observables "
        f"(substr(value, 1, {_VALUE_KEY_LENGTH}){ops})"
    )
    op.drop_table("observable_values")
    op.drop_table("observable_keys")
    op.create_index("ix_object_refs_object_pk", "object_refs", ["object_pk"])
