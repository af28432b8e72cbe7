"""on PostgreSQL, the objects' primary key carries `revoked` too: lookups mark revoked intel

A lookup now says of each match whether it is revoked (and scores a revoked indicator 0). It
reads each matching object from the primary key's entries alone (migration 0006); a column not
INCLUDEd there would send it to the table's pages again, one per match. SQLite's table is its
primary key's b-tree already.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00.000000
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# shieldwall.intel.tables.LOOKUP_COLUMNS when this was written, and before
_BEFORE = (
    "is_latest, tlp, distribution, sharing_group_id, member_id, anonymous, type, confidence, "
    "modified, object_id"
)
_INCLUDED = f"{_BEFORE}, revoked"


def _primary_key(included: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE objects DROP CONSTRAINT pk_objects, "
            f"ADD CONSTRAINT pk_objects PRIMARY KEY (pk) INCLUDE ({included})"
        )


def upgrade() -> None:
    _primary_key(_INCLUDED)


def downgrade() -> None:
    _primary_key(_BEFORE)
