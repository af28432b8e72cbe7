"""search: the full-text index split by scope, so a search walks only what its viewer may see

Before, one index held every document's words and a search filtered its matches by the policy
afterwards: a word held only by objects the viewer may not see took as long to answer as the
number of those objects, which told that they exist (issue 12). Now `search_docs` keeps each
document's words as ingest writes them (a plain table on both databases), `search_scopes` the
scopes documents are indexed under (an owner: a member; an audience: distribution, TLP and
sharing group), and `search_words` the index proper, each word of a document once under each of
its two scopes ('s12xlazarus s3xlazarus'). A search asks for the words of the scopes
`policy.visible_filter` lets its viewer see, and nothing else.

The triggers below keep `search_words` in step: a document inserted, updated or deleted in
`search_docs`, or an object whose visibility columns change, is indexed again under its scope.
The scopes of a document are read from its object's row, which every writer stores first. The
prefix rule is search.tables.scoped_document, which the consistency check compares with what
the triggers wrote.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 05:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Each document is indexed twice, under its two scopes: its owner (member_id, '', 0, '') and its
# audience ('', distribution, tlp, sharing group or ''). policy.visible_filter is an OR of a
# clause on member_id alone and clauses on the other three alone, so a viewer may see an object
# exactly when it may see one of its two scopes (tests/search/test_scopes.py holds the filter to
# that), and a viewer's scopes are its own member and the audiences that reach it: a dozen or so,
# however many members share. One scope per visibility (member x audience) made a search ask for
# each word in some eighty scopes at twenty members, and slowed it down.
_OWNER_SCOPE = (
    "{s}.member_id = o.member_id AND {s}.distribution = '' AND {s}.tlp = 0 "
    "AND {s}.sharing_group_id = ''"
)
_AUDIENCE_SCOPE = (
    "{s}.member_id = '' AND {s}.distribution = o.distribution AND {s}.tlp = o.tlp "
    "AND {s}.sharing_group_id = o.sharing_group_id"
)


def _prefixed(scope: str, doc: str) -> str:
    """Every word of `doc` (words joined by single spaces) prefixed by 's<scope id>x'."""
    return f"'s' || {scope}.id || 'x' || replace({doc}, ' ', ' s' || {scope}.id || 'x')"


_SCOPED_DOC = f"{_prefixed('so', '{doc}')} || ' ' || {_prefixed('sa', '{doc}')}"

# SQLite: row triggers (SQLite has no others), each a few key lookups beside the FTS5 insert.
_OBJECT_OF_NEW = (
    "(SELECT member_id, distribution, tlp, coalesce(sharing_group_id, '') AS sharing_group_id "
    "FROM objects WHERE pk = NEW.object_pk) o"
)
_SQLITE_INDEX_NEW = f"""
        INSERT OR IGNORE INTO search_scopes (member_id, distribution, tlp, sharing_group_id)
        SELECT o.member_id, '', 0, '' FROM {_OBJECT_OF_NEW}
        UNION ALL SELECT '', o.distribution, o.tlp, o.sharing_group_id FROM {_OBJECT_OF_NEW};
        INSERT INTO search_words (rowid, doc)
        SELECT NEW.object_pk, {_SCOPED_DOC.format(doc="NEW.doc")} FROM {_OBJECT_OF_NEW}
        JOIN search_scopes so ON {_OWNER_SCOPE.format(s="so")}
        JOIN search_scopes sa ON {_AUDIENCE_SCOPE.format(s="sa")};"""

# PostgreSQL: each document's object, then its scopes, looked up by key from the document (the
# OFFSET 0 fences keep the planner from reordering the joins: with a transition table, which has
# no statistics, and a fresh database's objects, it chose to scan the new documents once per
# object, quadratic: 5,000 documents took 8 s).
_OBJECT_OF_DOC = (
    "CROSS JOIN LATERAL (SELECT o.member_id, o.distribution, o.tlp, "
    "coalesce(o.sharing_group_id, '') AS sharing_group_id FROM objects o "
    "WHERE o.pk = d.object_pk OFFSET 0) o"
)
_NEW_SCOPES = (
    "INSERT INTO search_scopes (member_id, distribution, tlp, sharing_group_id) "
    "SELECT DISTINCT k.member_id, k.distribution, k.tlp, k.sharing_group_id "
    f"FROM {{docs}} {_OBJECT_OF_DOC} CROSS JOIN LATERAL (VALUES (o.member_id, '', 0, ''), "
    "('', o.distribution, o.tlp, o.sharing_group_id)) AS k(member_id, distribution, tlp, "
    "sharing_group_id) WHERE NOT EXISTS (SELECT 1 FROM search_scopes s WHERE "
    "s.member_id = k.member_id AND s.distribution = k.distribution AND s.tlp = k.tlp "
    "AND s.sharing_group_id = k.sharing_group_id) {conflict}"
)
_FROM_SCOPED = (
    f"FROM {{docs}} {_OBJECT_OF_DOC} "
    "CROSS JOIN LATERAL (SELECT so.id FROM search_scopes so WHERE "
    f"{_OWNER_SCOPE.format(s='so')} OFFSET 0) so "
    "CROSS JOIN LATERAL (SELECT sa.id FROM search_scopes sa WHERE "
    f"{_AUDIENCE_SCOPE.format(s='sa')} OFFSET 0) sa"
)

_SQLITE = (
    "CREATE TABLE search_docs_plain (object_pk INTEGER NOT NULL, doc TEXT NOT NULL, "
    "CONSTRAINT pk_search_docs PRIMARY KEY (object_pk))",  # INTEGER PRIMARY KEY: the rowid
    # Only the words are read back: no document sizes (no ranking).
    "CREATE VIRTUAL TABLE search_words USING fts5(doc, tokenize='unicode61', columnsize=0)",
    "ALTER TABLE search_docs_plain RENAME TO search_docs",
    f"""CREATE TRIGGER search_docs_scoped AFTER INSERT ON search_docs BEGIN
        {_SQLITE_INDEX_NEW}
    END""",
    """CREATE TRIGGER search_docs_unscoped AFTER DELETE ON search_docs BEGIN
        DELETE FROM search_words WHERE rowid = OLD.object_pk;
    END""",
    f"""CREATE TRIGGER search_docs_rescoped AFTER UPDATE ON search_docs BEGIN
        DELETE FROM search_words WHERE rowid = OLD.object_pk;
        {_SQLITE_INDEX_NEW}
    END""",
    """CREATE TRIGGER objects_search_scope
    AFTER UPDATE OF member_id, distribution, tlp, sharing_group_id ON objects BEGIN
        UPDATE search_docs SET doc = doc WHERE object_pk = NEW.pk;
    END""",
)

# The trigger functions reach objects and search_scopes by their keys, whatever the planner thinks
# of their sizes: a transition table has no statistics, and a fresh database's objects none yet,
# which made it scan objects once per new document (quadratic: minutes for 100,000 objects).
_POSTGRESQL = (
    """CREATE TABLE search_words (
        object_pk BIGINT NOT NULL,
        tsv TSVECTOR NOT NULL,
        CONSTRAINT pk_search_words PRIMARY KEY (object_pk)
    )""",
    "CREATE INDEX ix_search_words_tsv ON search_words USING gin (tsv)",
    f"""CREATE FUNCTION search_words_insert() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    BEGIN
        {_NEW_SCOPES.format(docs="new_docs d", conflict="ON CONFLICT DO NOTHING")};
        INSERT INTO search_words (object_pk, tsv)
        SELECT d.object_pk, to_tsvector('simple'::regconfig, {_SCOPED_DOC.format(doc="d.doc")})
        {_FROM_SCOPED.format(docs="new_docs d")};
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION search_words_delete() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    BEGIN
        DELETE FROM search_words w USING old_docs d WHERE w.object_pk = d.object_pk;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION search_words_update() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    BEGIN
        DELETE FROM search_words w USING old_docs d WHERE w.object_pk = d.object_pk;
        {_NEW_SCOPES.format(docs="new_docs d", conflict="ON CONFLICT DO NOTHING")};
        INSERT INTO search_words (object_pk, tsv)
        SELECT d.object_pk, to_tsvector('simple'::regconfig, {_SCOPED_DOC.format(doc="d.doc")})
        {_FROM_SCOPED.format(docs="new_docs d")};
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION objects_search_scope() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_docs SET doc = doc WHERE object_pk = NEW.pk;
        RETURN NULL;
    END $$""",
    # Statement triggers with transition tables: one set-based pass per COPY batch of ingest.
    "CREATE TRIGGER search_docs_scoped AFTER INSERT ON search_docs REFERENCING NEW TABLE AS "
    "new_docs FOR EACH STATEMENT EXECUTE FUNCTION search_words_insert()",
    "CREATE TRIGGER search_docs_unscoped AFTER DELETE ON search_docs REFERENCING OLD TABLE AS "
    "old_docs FOR EACH STATEMENT EXECUTE FUNCTION search_words_delete()",
    "CREATE TRIGGER search_docs_rescoped AFTER UPDATE ON search_docs REFERENCING OLD TABLE AS "
    "old_docs NEW TABLE AS new_docs FOR EACH STATEMENT EXECUTE FUNCTION search_words_update()",
    """CREATE TRIGGER objects_search_scope
    AFTER UPDATE OF member_id, distribution, tlp, sharing_group_id ON objects FOR EACH ROW
    WHEN (OLD.member_id IS DISTINCT FROM NEW.member_id
          OR OLD.distribution IS DISTINCT FROM NEW.distribution
          OR OLD.tlp IS DISTINCT FROM NEW.tlp
          OR OLD.sharing_group_id IS DISTINCT FROM NEW.sharing_group_id)
    EXECUTE FUNCTION objects_search_scope()""",
)
_POSTGRESQL_UP = (
    # The documents stored, indexed once, set-based (the triggers serve later writes).
    _NEW_SCOPES.format(docs="search_docs d", conflict="ON CONFLICT DO NOTHING"),
    "INSERT INTO search_words (object_pk, tsv) SELECT d.object_pk, "
    f"to_tsvector('simple'::regconfig, {_SCOPED_DOC.format(doc='d.doc')}) "
    f"{_FROM_SCOPED.format(docs='search_docs d')}",
    "ALTER TABLE search_docs DROP COLUMN tsv",  # and its GIN index with it
)


def upgrade() -> None:
    op.create_table(
        "search_scopes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("distribution", sa.String(length=20), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_scopes")),
        sa.UniqueConstraint(
            "member_id", "distribution", "tlp", "sharing_group_id",
            name=op.f("uq_search_scopes_member_id_distribution_tlp_sharing_group_id"),
        ),
    )  # fmt: skip
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # The FTS5 table of documents becomes a plain one; the triggers (on the new name) index
        # each document as it is copied over.
        op.execute("ALTER TABLE search_docs RENAME TO search_docs_fts")
        for statement in _SQLITE:
            op.execute(statement)
        op.execute(
            "INSERT INTO search_docs (object_pk, doc) SELECT rowid, doc FROM search_docs_fts"
        )
        op.execute("DROP TABLE search_docs_fts")
        return
    for statement in _POSTGRESQL + _POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for trigger in ("search_docs_scoped", "search_docs_unscoped", "search_docs_rescoped",
                        "objects_search_scope"):  # fmt: skip
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE search_words")
        op.execute("CREATE VIRTUAL TABLE search_docs_fts USING fts5(doc, tokenize='unicode61')")
        op.execute(
            "INSERT INTO search_docs_fts (rowid, doc) SELECT object_pk, doc FROM search_docs"
        )
        op.execute("DROP TABLE search_docs")
        op.execute("ALTER TABLE search_docs_fts RENAME TO search_docs")
    else:
        op.execute("DROP TRIGGER objects_search_scope ON objects")
        for trigger in ("search_docs_scoped", "search_docs_unscoped", "search_docs_rescoped"):
            op.execute(f"DROP TRIGGER {trigger} ON search_docs")
        for function in ("search_words_insert", "search_words_delete", "search_words_update",
                         "objects_search_scope"):  # fmt: skip
            op.execute(f"DROP FUNCTION {function}()")
        op.execute("DROP TABLE search_words")
        op.execute(
            "ALTER TABLE search_docs ADD COLUMN tsv TSVECTOR "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, doc)) STORED"
        )
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
    op.drop_table("search_scopes")
