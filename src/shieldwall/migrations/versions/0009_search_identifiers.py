"""search: identifiers and external ids in the full-text documents; the ends of relationships

Documents now hold each object's external_references' external ids and one word per identifier
(CVE-2021-44228 is also `cve202144228`, T1071.001 also `t1071001`: shieldwall/search/index.py),
so every stored document is rebuilt where it changed. `relationship_ends` (the source_ref and
target_ref of each relationship, for the report view) is filled for the relationships stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:30:00.000000
"""

import orjson
import sqlalchemy as sa
from alembic import op

from shieldwall.search.index import document_of, relationship_ends_of

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "relationship_ends",
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("ref_id", sa.String(length=300), nullable=False),
    )
    op.create_index("ix_relationship_ends_ref_id", "relationship_ends", ["ref_id"])
    conn = op.get_bind()
    _rebuild(conn, conn.dialect.name == "sqlite")


def _rebuild(conn: sa.Connection, sqlite: bool) -> None:
    """Each stored object version's document where it changed, and its relationship ends, a
    batch of versions at a time (memory stays flat whatever the store's size)."""
    key = "rowid" if sqlite else "object_pk"
    docs = sa.table("search_docs", sa.column(key), sa.column("doc"))
    objects = sa.table("objects", sa.column("pk"), sa.column("body"))
    ends = sa.table("relationship_ends", sa.column("object_pk"), sa.column("ref_id"))
    after = -1
    while True:
        rows = conn.execute(
            sa.select(objects.c.pk, objects.c.body, docs.c.doc)
            .select_from(objects.outerjoin(docs, docs.c[key] == objects.c.pk))
            .where(objects.c.pk > after)
            .order_by(objects.c.pk)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        changed, end_rows = [], []
        for pk, body, old in rows:
            obj = orjson.loads(body)
            if (doc := document_of(obj)) != old:
                changed.append((pk, doc))
            end_rows += [{"object_pk": pk, "ref_id": end} for end in relationship_ends_of(obj)]
        if changed:
            conn.execute(sa.delete(docs).where(docs.c[key].in_([pk for pk, _ in changed])))
            new = [{key: pk, "doc": doc} for pk, doc in changed if doc]
            if new:
                conn.execute(sa.insert(docs), new)
        if end_rows:
            conn.execute(sa.insert(ends), end_rows)
        after = rows[-1].pk


def downgrade() -> None:
    # The documents keep their extra words: searches as they were before find the same objects.
    op.drop_index("ix_relationship_ends_ref_id", table_name="relationship_ends")
    op.drop_table("relationship_ends")
