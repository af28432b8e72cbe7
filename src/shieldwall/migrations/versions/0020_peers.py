"""peers and vouched_keys: the instances this one federates with

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 05:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("protocol", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=True),
        sa.Column("remote_user", sa.String(length=320), nullable=False),
        sa.Column("remote_key", sa.Text(), nullable=False),
        sa.Column("collection_id", sa.String(length=300), nullable=True),
        sa.Column("selection_id", sa.String(length=36), nullable=True),
        sa.Column("require_signatures", sa.Boolean(), nullable=False),
        sa.Column("push_after_pk", sa.BigInteger(), nullable=False),
        sa.Column("last_sync_at", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_peers_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["selection_id"], ["selections.id"], name=op.f("fk_peers_selection_id_selections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peers")),
        sa.UniqueConstraint("member_id", name=op.f("uq_peers_member_id")),
        sa.UniqueConstraint("name", name=op.f("uq_peers_name")),
    )
    op.create_table(
        "vouched_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vouched_by", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["vouched_by"],
            ["peers.id"],
            name=op.f("fk_vouched_keys_vouched_by_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_vouched_keys")),
    )


def downgrade() -> None:
    op.drop_table("vouched_keys")
    op.drop_table("peers")
