"""selections: saved filters over the store (collections, feeds, peer rules, subscriptions)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("max_tlp", sa.SmallInteger(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=36), nullable=True),
        sa.Column("member_kinds", sa.Text(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("max_age_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selections")),
    )


def downgrade() -> None:
    op.drop_table("selections")
