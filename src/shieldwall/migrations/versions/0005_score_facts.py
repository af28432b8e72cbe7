"""what a score needs, without reading the object: its confidence, and its first value's kind

A lookup scores every indicator it finds: from its `confidence`, its `modified`, and the kind of
its first value (which sets how fast it decays). Both used to be read out of each stored body, a
JSON parse per indicator. objects.confidence is filled from the bodies already stored.
observable_keys.not_first is NULL on an object's first value and TRUE on its others: NULL, not
FALSE, because PostgreSQL stores a NULL in the row's null bitmap, while a one-byte boolean would
pad every 40-byte row to 48. Rows written before this say nothing of which value is first, so
they are all marked TRUE (their scores read the pattern, as before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("observable_keys", sa.Column("not_first", sa.Boolean(), nullable=True))
    op.execute("UPDATE observable_keys SET not_first = TRUE")
    op.add_column("objects", sa.Column("confidence", sa.SmallInteger(), nullable=True))
    # Stored bodies were validated: a confidence is an integer from 0 to 100.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "UPDATE objects SET confidence = json_extract(body, '$.confidence') "
            "WHERE json_type(body, '$.confidence') = 'integer'"
        )
    else:
        op.execute(
            "UPDATE objects SET confidence = CAST(CAST(body AS json) ->> 'confidence' AS smallint) "
            "WHERE json_typeof(CAST(body AS json) -> 'confidence') = 'number'"
        )


def downgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("confidence")
    with op.batch_alter_table("observable_keys") as batch:
        batch.drop_column("not_first")
