"""auth_generation: a counter every change to who a user is moves, so processes may cache viewers

Authenticating an API key read the key, the user, the member's kind and the member's sharing
groups: five queries of a TAXII `match[id]` request's seven. The authenticator now keeps the
viewer a key stands for in memory (members/authentication.py) and, on every request, reads this
one-row counter (in the same statement as the failure counters it reads anyway): when the
counter has moved since the viewer was cached, the cache is not used. The triggers below move
it on every insert, update and delete of `users`, `members` and `sharing_group_members`, and on
every revocation, expiry change or deletion of an API key (not on the last-use time, written
once a minute), whoever writes them: the app, the command line, another process, or SQL by
hand. A revoked key therefore stops working at the next request in every process.

A later migration that rebuilds one of these tables on SQLite (a batch ALTER copies the table)
drops its triggers with it, and must create them again (tests/members/test_viewer_cache.py
fails if it does not).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 14:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# (table, events): every event that may change a viewer, or whether a key is usable.
_WATCHED = (
    ("users", ("INSERT", "UPDATE", "DELETE")),
    ("members", ("INSERT", "UPDATE", "DELETE")),
    ("sharing_group_members", ("INSERT", "UPDATE", "DELETE")),
    ("api_keys", ("UPDATE OF revoked_at, expires_at, user_id, key_hash, lookup_id", "DELETE")),
)
_BUMP = "UPDATE auth_generation SET generation = generation + 1 WHERE id = 1"


def _name(table: str, event: str) -> str:
    return f"{table}_auth_{event.split()[0].lower()}"


def upgrade() -> None:
    op.create_table(
        "auth_generation",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_generation")),
    )
    op.execute("INSERT INTO auth_generation (id, generation) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":  # row triggers only: one bump a row
        for table, events in _WATCHED:
            for event in events:
                op.execute(
                    f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                    f"BEGIN {_BUMP}; END"
                )
        return
    op.execute(
        "CREATE FUNCTION auth_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
    )
    for table, events in _WATCHED:
        for event in events:  # one bump a statement, whatever it changed
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION auth_generation_bump()"
            )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, events in _WATCHED:
        for event in events:
            op.execute(f"DROP TRIGGER {_name(table, event)}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        op.execute("DROP FUNCTION auth_generation_bump()")
    op.drop_table("auth_generation")
