"""auth_generation also moves with what TAXII collections are defined as, so processes may keep
their definitions in memory

Finding the collection a TAXII request names read its definition (the collection and its
selection; a peer's rule; a member's name for its inbox) on every request: one more round trip
beside authentication's, which reads auth_generation anyway. The collections' definitions are
now kept in memory (taxii/collections.py, KnownCollections), each beside the value the counter
had before it was read, and used only while the counter has not moved. The triggers below move
it on every insert, update and delete of `taxii_collections`, on every update and delete of
`selections` (a new selection changes nothing that refers to it yet: its row's foreign keys
name it only once it exists) and on every change to which peer member reads under which rule
(`peers`: not on the sync bookkeeping written each round), whoever writes them. `members`
(an inbox's title) and `sharing_group_members` (who is shown a group's collection) move it
already (0024).

As for 0024: a later migration that rebuilds one of these tables on SQLite (a batch ALTER copies
the table) drops its triggers with it, and must create them again
(tests/taxii/test_known_collections.py fails if it does not).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 21:00:00.000000
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# (table, events): every event that may change what a collection is defined as, or serves.
_WATCHED = (
    ("taxii_collections", ("INSERT", "UPDATE", "DELETE")),
    ("selections", ("UPDATE", "DELETE")),
    ("peers", ("INSERT", "UPDATE OF member_id, selection_id", "DELETE")),
)
_BUMP = "UPDATE auth_generation SET generation = generation + 1 WHERE id = 1"


def _name(table: str, event: str) -> str:
    return f"{table}_auth_{event.split()[0].lower()}"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, events in _WATCHED:
        for event in events:
            if sqlite:  # row triggers only: one bump a row
                op.execute(
                    f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                    f"BEGIN {_BUMP}; END"
                )
            else:  # one bump a statement, whatever it changed (0024's function)
                op.execute(
                    f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION auth_generation_bump()"
                )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, events in _WATCHED:
        for event in events:
            op.execute(f"DROP TRIGGER {_name(table, event)}" + ("" if sqlite else f" ON {table}"))
