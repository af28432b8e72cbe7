"""object_signatures: this instance's signature of each version that may leave, made once

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 11:30:00.000000

Every object served to a peer was signed again on every read (Ed25519 over its RFC 8785 form,
~30 µs an object); federation/signatures.py now signs each version once and serving looks the
signature up, checked against a digest of the body it was made over. Its rows go with their
version's on removal and erasure (a column named object_pk, as the other indexes have).
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "object_signatures",
        sa.Column(
            "object_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("body_digest", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=88), nullable=False),
        sa.PrimaryKeyConstraint("object_pk", "key_id", name=op.f("pk_object_signatures")),
    )


def downgrade() -> None:
    op.drop_table("object_signatures")
