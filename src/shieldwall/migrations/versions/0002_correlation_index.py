"""correlation index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:28:08.466202
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "object_refs",
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("ref_id", sa.String(length=300), nullable=False),
    )
    with op.batch_alter_table("object_refs", schema=None) as batch_op:
        batch_op.create_index("ix_object_refs_object_pk", ["object_pk"], unique=False)
        batch_op.create_index("ix_object_refs_ref_id", ["ref_id"], unique=False)

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
    with op.batch_alter_table("observables", schema=None) as batch_op:
        batch_op.create_index("ix_observables_key_hash", ["key_hash"], unique=False)
        batch_op.create_index("ix_observables_object_pk", ["object_pk"], unique=False)
        batch_op.create_index(
            "ix_observables_range",
            ["kind", "low"],
            unique=False,
            sqlite_where=sa.text("low IS NOT NULL"),
            postgresql_where=sa.text("low IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("observables", schema=None) as batch_op:
        batch_op.drop_index("ix_observables_range")
        batch_op.drop_index("ix_observables_object_pk")
        batch_op.drop_index("ix_observables_key_hash")

    op.drop_table("observables")
    with op.batch_alter_table("object_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_object_refs_ref_id")
        batch_op.drop_index("ix_object_refs_object_pk")

    op.drop_table("object_refs")
