"""web sign-in: users' argon2 password hashes and the browser sessions they open

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    # Not batch_alter_table: on SQLite it copies `users` and drops the original, which the
    # foreign keys of api_keys and others refuse. ALTER TABLE ... DROP COLUMN works on both
    # (SQLite 3.35 and newer).
    op.execute("ALTER TABLE users DROP COLUMN password_hash")
