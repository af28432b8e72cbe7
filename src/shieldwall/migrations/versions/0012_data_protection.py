"""data protection: break-glass reads and retention rules

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "break_glass_reads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("admin_user_id", sa.String(length=36), nullable=False),
        sa.Column("admin_email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.Column("owner_member_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_reads")),
    )
    op.create_index("ix_break_glass_reads_owner", "break_glass_reads", ["owner_member_id", "at"])
    op.create_table(
        "retention_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=True),
        sa.Column("object_type", sa.String(length=250), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
    )


def downgrade() -> None:
    op.drop_table("retention_rules")
    op.drop_index("ix_break_glass_reads_owner", table_name="break_glass_reads")
    op.drop_table("break_glass_reads")
