"""api keys: an id written in the key, a name, an expiry, a last-used time, who revoked it; and
counters of failed authentications

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing keys keep working: they have no lookup id (they are found by their hash), and are
    # all named "default", so the next key issued without a name replaces the one before.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookup_id", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("name", sa.String(length=100), nullable=False, server_default="default")
        )
        batch_op.add_column(sa.Column("expires_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_api_keys_lookup_id"), ["lookup_id"])
    op.create_table(
        "auth_failures",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_auth_failures")),
    )


def downgrade() -> None:
    op.drop_table("auth_failures")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_api_keys_lookup_id"), type_="unique")
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("name")
        batch_op.drop_column("lookup_id")
