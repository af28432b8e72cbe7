"""taxii: collections admins define, status resources, and where each pull stopped

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "taxii_collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("selection_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["selections.id"],
            name=op.f("fk_taxii_collections_selection_id_selections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_collections")),
    )
    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("request_timestamp", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("success_count", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("pending_count", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Text(), nullable=False),
        sa.Column("failures", sa.Text(), nullable=False),
        sa.Column("pendings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_statuses")),
    )
    op.create_table(
        "taxii_pull_cursors",
        sa.Column("api_root", sa.String(length=1000), nullable=False),
        sa.Column("collection_id", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("added_after", sa.String(length=40), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
    )
    op.create_index(
        "ix_taxii_pull_cursors_key",
        "taxii_pull_cursors",
        ["api_root", "collection_id", "user_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_taxii_pull_cursors_key", table_name="taxii_pull_cursors")
    op.drop_table("taxii_pull_cursors")
    op.drop_table("taxii_statuses")
    op.drop_table("taxii_collections")
