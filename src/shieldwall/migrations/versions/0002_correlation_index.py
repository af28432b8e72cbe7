"""correlation index and sightings

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

    op.create_table(
        "sightings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("value_kind", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("distribution", sa.String(length=20), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sightings")),
    )
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.create_index("ix_sightings_key_hash", ["key_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_index("ix_sightings_key_hash")
    op.drop_table("sightings")
    with op.batch_alter_table("observables", schema=None) as batch_op:
        batch_op.drop_index("ix_observables_range")
        batch_op.drop_index("ix_observables_object_pk")
        batch_op.drop_index("ix_observables_key_hash")

    op.drop_table("observables")
    with op.batch_alter_table("object_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_object_refs_ref_id")
        batch_op.drop_index("ix_object_refs_object_pk")

    op.drop_table("object_refs")
