"""objects.valid_until: an object's `valid_until`, normalised, so exports read no body for it

Blocklists and rule exports leave out indicators past their `valid_until`; they looked it up
inside each stored body (a substring search of every body, a JSON parse of those naming it).
Ingest now stores it normalised (intel/timestamps.py, so it compares as text on both databases)
and NULL when the object has none or one that is not a timestamp (which exports have always
taken as "still valid"); the exports compare it in SQL. Filled here for the bodies already
stored, a slice of pks at a time: the normalising is Python's, the one ingest uses.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 14:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

SLICE = 50_000  # pks read (and rows updated) at a time


def upgrade() -> None:
    op.add_column("objects", sa.Column("valid_until", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        found = (
            "SELECT pk, json_extract(body, '$.valid_until') FROM objects "
            "WHERE pk > :low AND pk <= :high AND instr(body, '\"valid_until\"') > 0"
        )
    else:  # as exchange/indicator_values.py reads a body: PostgreSQL reads no JSON with a NUL
        found = (
            "SELECT pk, CAST(replace(body, '\\u0000', '\\ufffd') AS json) ->> 'valid_until' "
            "FROM objects WHERE pk > :low AND pk <= :high AND strpos(body, '\"valid_until\"') > 0"
        )
    highest = conn.execute(sa.text("SELECT max(pk) FROM objects")).scalar() or 0
    update = sa.text("UPDATE objects SET valid_until = :end WHERE pk = :pk")
    for low in range(0, highest, SLICE):
        rows = conn.execute(sa.text(found), {"low": low, "high": low + SLICE}).all()
        ends = [
            {"pk": pk, "end": normalize_timestamp(end)} for pk, end in rows if is_timestamp(end)
        ]
        if ends:
            conn.execute(update, ends)


def downgrade() -> None:
    # In place on both databases (SQLite 3.35+): a batch copy of `objects` would drop the search
    # triggers on it that migration 0019's downgrade drops itself.
    op.execute("ALTER TABLE objects DROP COLUMN valid_until")
