"""on PostgreSQL, the objects' primary key carries what a lookup reads of each object

A lookup joins every matching index row to its object for the policy's columns and the few the
answer shows. At a million objects the table is a gigabyte of mostly JSON bodies, one page read
per match; with those columns INCLUDEd in the primary key's entries, PostgreSQL answers from the
index alone (an index-only scan, once VACUUM has marked the pages all-visible, which the
server's housekeeping and autovacuum do). SQLite's table is its primary key's b-tree already.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 21:30:00.000000
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# shieldwall.intel.tables.LOOKUP_COLUMNS when this was written
_INCLUDED = (
    "is_latest, tlp, distribution, sharing_group_id, member_id, anonymous, type, confidence, "
    "modified, object_id"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE objects DROP CONSTRAINT pk_objects, "
            f"ADD CONSTRAINT pk_objects PRIMARY KEY (pk) INCLUDE ({_INCLUDED})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE objects DROP CONSTRAINT pk_objects, "
            "ADD CONSTRAINT pk_objects PRIMARY KEY (pk)"
        )
