"""search: full-text documents and the observable value index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
"""

import orjson
import sqlalchemy as sa
from alembic import op

from shieldwall.search.index import document_of

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BACKFILL_BATCH = 5000

# Raw SQL: neither an FTS5 virtual table nor a generated tsvector column can be said once for
# both databases (see shieldwall/search/tables.py, which names the same shapes for queries).
_SQLITE = (
    # The rowid is the object version's pk. Already cut into words by shieldwall.search.index,
    # so the tokenizer only splits on spaces and folds nothing that matters.
    "CREATE VIRTUAL TABLE search_docs USING fts5(doc, tokenize='unicode61')",
    "CREATE INDEX ix_observables_value ON observables (substr(value, 1, 200))",
)
_POSTGRESQL = (
    """CREATE TABLE search_docs (
        object_pk BIGINT NOT NULL,
        doc TEXT NOT NULL,
        tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, doc)) STORED,
        CONSTRAINT pk_search_docs PRIMARY KEY (object_pk)
    )""",
    "CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)",
    "CREATE INDEX ix_observables_value ON observables (substr(value, 1, 200) text_pattern_ops)",
)


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRESQL:
        op.execute(statement)
    _backfill(conn, sqlite)


def _backfill(conn: sa.Connection, sqlite: bool) -> None:
    """Documents for the object versions stored before this revision, a batch at a time."""
    objects = sa.table("objects", sa.column("pk"), sa.column("body"))
    key = "rowid" if sqlite else "object_pk"
    insert = sa.text(f"INSERT INTO search_docs ({key}, doc) VALUES (:pk, :doc)")
    after = -1
    while True:
        rows = conn.execute(
            sa.select(objects.c.pk, objects.c.body)
            .where(objects.c.pk > after)
            .order_by(objects.c.pk)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        docs = [{"pk": pk, "doc": document_of(orjson.loads(body))} for pk, body in rows]
        docs = [d for d in docs if d["doc"]]
        if docs:
            conn.execute(insert, docs)
        after = rows[-1].pk


def downgrade() -> None:
    op.execute("DROP INDEX ix_observables_value")
    op.execute("DROP TABLE search_docs")
