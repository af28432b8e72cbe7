"""observable_values indexed by object_pk: an object version's values found by key

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 08:30:00.000000

Blocklists and rule exports read the values of a page of visible indicators by their pks
(exchange/indicator_values.py), and removal, retention and erasure delete an object version's
values by its pk: without this index each of those walked the whole table.
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_observable_values_object_pk", "observable_values", ["object_pk"])


def downgrade() -> None:
    op.drop_index("ix_observable_values_object_pk", table_name="observable_values")
