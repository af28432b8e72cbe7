"""search_words_as_stored: PostgreSQL keeps the scoped words as search_docs holds them

Our own code cuts and folds a document's words (search/index.py `document_of`) and a query's
(`query_terms`), so PostgreSQL's text-search parser re-reading them (`to_tsvector('simple', ...)`
in 0019's triggers) was wasted work at ingest: the tsvector is now made of the words themselves,
`array_to_tsvector(string_to_array(scoped document, ' '))`, and a search casts its quoted lexemes
to tsquery instead of parsing them with `to_tsquery` (search/service.py). Both sides are exactly
our words now, on PostgreSQL as on SQLite. Positions are no longer stored: nothing searches by
phrase or ranks (a search is words ANDed, one prefix at most, in pk order).

The insert and update triggers also look up each document's object once and the two scopes once
per distinct sharing (member, distribution, TLP, sharing group) of the statement's documents,
where 0019's looked up the object twice and the scopes three times per document. A sharing with
no scope yet (the first document of a member, or of a new audience) takes a slower path: its
scopes are created and the documents still unindexed are indexed.

A TAXII POST's status resource (taxii_statuses.successes: the 10,000 details of a 10,000-object
POST, ~1 MB of JSON) was compressed with pglz, ~4% of the backend's CPU of such a POST: its three
lists of details are compressed with lz4 from now on (several times faster, on write and read),
where the server has lz4 (PostgreSQL 14 and later, built with it, as the usual packages are).

On the 10,000 documents a TAXII POST of 10,000 objects writes, the trigger's backend CPU went
from ~137 to ~72 ms (an INSERT of 10,000 stored documents again, rolled back, alternately with
each version of the function, in the settings an ingest transaction has). SQLite is unchanged
(FTS5 is handed our words already). Upgrade and downgrade rebuild search_words from search_docs
in the form the triggers of the revision they leave it at write.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 21:00:00.000000
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# Scopes: the owner (member_id, '', 0, '') and the audience ('', distribution, tlp, sharing group
# or ''), as 0019 (and search.tables.scoped_document) define them.
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
    return f"'s' || {scope} || 'x' || replace({doc}, ' ', ' s' || {scope} || 'x')"


# The scoped document of `d` under its owner (s.owner) and audience (s.audience) scope ids.
_SCOPED = f"{_prefixed('s.owner', 'd.doc')} || ' ' || {_prefixed('s.audience', 'd.doc')}"
# Its words as they are: a lexeme each, no parsing, no positions.
_AS_STORED = f"array_to_tsvector(string_to_array({_SCOPED}, ' '))"

# Each document's object, looked up by key (the OFFSET 0 fence keeps the planner from
# reordering: a transition table has no statistics; 0019 says what that cost).
_OBJECT_OF_DOC = (
    "CROSS JOIN LATERAL (SELECT o.member_id, o.distribution, o.tlp, "
    "coalesce(o.sharing_group_id, '') AS sharing_group_id FROM objects o "
    "WHERE o.pk = d.object_pk OFFSET 0) o"
)
# The documents with their object's sharing, then the two scope ids of each distinct sharing
# (a statement's documents have a handful: one per member and marking), joined back by hash.
# `{unindexed}`: a condition on d, on the slow path.
_INDEX = (
    "WITH docs AS MATERIALIZED (SELECT d.object_pk, d.doc, o.member_id, o.distribution, "
    f"o.tlp, o.sharing_group_id FROM {{docs}} d {_OBJECT_OF_DOC}{{unindexed}}), "
    "scoped AS MATERIALIZED (SELECT o.member_id, o.distribution, o.tlp, o.sharing_group_id, "
    "so.id AS owner, sa.id AS audience FROM (SELECT DISTINCT member_id, distribution, tlp, "
    "sharing_group_id FROM docs OFFSET 0) o "
    f"CROSS JOIN LATERAL (SELECT so.id FROM search_scopes so WHERE {_OWNER_SCOPE.format(s='so')}"
    " OFFSET 0) so "
    f"CROSS JOIN LATERAL (SELECT sa.id FROM search_scopes sa WHERE "
    f"{_AUDIENCE_SCOPE.format(s='sa')} OFFSET 0) sa) "
    f"INSERT INTO search_words (object_pk, tsv) SELECT d.object_pk, {{tsv}} "
    "FROM docs d JOIN scoped s ON s.member_id = d.member_id "
    "AND s.distribution = d.distribution AND s.tlp = d.tlp "
    "AND s.sharing_group_id = d.sharing_group_id"
)
_UNINDEXED = " WHERE NOT EXISTS (SELECT 1 FROM search_words w WHERE w.object_pk = d.object_pk)"
# The scopes of the documents' sharings that are not there yet (0019's statement).
_NEW_SCOPES = (
    "INSERT INTO search_scopes (member_id, distribution, tlp, sharing_group_id) "
    "SELECT DISTINCT k.member_id, k.distribution, k.tlp, k.sharing_group_id "
    f"FROM {{docs}} d {_OBJECT_OF_DOC} CROSS JOIN LATERAL (VALUES (o.member_id, '', 0, ''), "
    "('', o.distribution, o.tlp, o.sharing_group_id)) AS k(member_id, distribution, tlp, "
    "sharing_group_id) WHERE NOT EXISTS (SELECT 1 FROM search_scopes s WHERE "
    "s.member_id = k.member_id AND s.distribution = k.distribution AND s.tlp = k.tlp "
    "AND s.sharing_group_id = k.sharing_group_id) ON CONFLICT DO NOTHING"
)


def _index_new_docs(tsv: str) -> str:
    """The body that indexes the transition table new_docs: every document whose sharing has its
    scopes at once; when some had none, their scopes, then the documents still unindexed."""
    return f"""
        {_INDEX.format(docs="new_docs", unindexed="", tsv=tsv)};
        GET DIAGNOSTICS indexed = ROW_COUNT;
        IF indexed < (SELECT count(*) FROM new_docs) THEN
            {_NEW_SCOPES.format(docs="new_docs")};
            {_INDEX.format(docs="new_docs", unindexed=_UNINDEXED, tsv=tsv)};
        END IF;"""


def _functions(tsv: str) -> tuple[str, str]:
    # The documents join their few sharings by hash, not by sorting every document on four
    # columns, nor by a nested loop, whatever the writing transaction set (db.probe_by_probe
    # turns hash joins off for the whole ingest transaction).
    head = (
        "RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off SET enable_mergejoin = off "
        "SET enable_hashjoin = on SET jit = off AS $$ DECLARE indexed bigint; BEGIN"
    )
    insert = f"""CREATE OR REPLACE FUNCTION search_words_insert() {head}
        {_index_new_docs(tsv)}
        RETURN NULL;
    END $$"""
    update = f"""CREATE OR REPLACE FUNCTION search_words_update() {head}
        DELETE FROM search_words w USING old_docs d WHERE w.object_pk = d.object_pk;
        {_index_new_docs(tsv)}
        RETURN NULL;
    END $$"""
    return insert, update


# 0019's word rule: PostgreSQL's parser re-reads the scoped document (with positions).
_PARSED = f"to_tsvector('simple'::regconfig, {_SCOPED})"
# 0019's functions, for the downgrade: the object looked up per document for its scopes, then
# again with each scope for its words.
_INDEX_0019 = (
    "INSERT INTO search_words (object_pk, tsv) SELECT d.object_pk, to_tsvector('simple'::"
    f"regconfig, {_prefixed('so.id', 'd.doc')} || ' ' || {_prefixed('sa.id', 'd.doc')}) "
    f"FROM new_docs d {_OBJECT_OF_DOC} "
    f"CROSS JOIN LATERAL (SELECT so.id FROM search_scopes so WHERE {_OWNER_SCOPE.format(s='so')}"
    " OFFSET 0) so "
    f"CROSS JOIN LATERAL (SELECT sa.id FROM search_scopes sa WHERE "
    f"{_AUDIENCE_SCOPE.format(s='sa')} OFFSET 0) sa"
)
_FUNCTIONS_0019 = (
    f"""CREATE OR REPLACE FUNCTION search_words_insert() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    BEGIN
        {_NEW_SCOPES.format(docs="new_docs")};
        {_INDEX_0019};
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION search_words_update() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
    BEGIN
        DELETE FROM search_words w USING old_docs d WHERE w.object_pk = d.object_pk;
        {_NEW_SCOPES.format(docs="new_docs")};
        {_INDEX_0019};
        RETURN NULL;
    END $$""",
)


def _rebuild(tsv: str) -> None:
    """search_words anew from search_docs, every word in the form `tsv` makes; the GIN index
    built once at the end rather than entry by entry."""
    op.execute("SET LOCAL enable_seqscan = off")  # each object and scope by its key
    op.execute("SET LOCAL jit = off")  # seqscan's penalty cost would have the plan compiled
    op.execute("DROP INDEX ix_search_words_tsv")
    op.execute("TRUNCATE search_words")
    op.execute(_NEW_SCOPES.format(docs="search_docs"))
    op.execute(_INDEX.format(docs="search_docs", unindexed="", tsv=tsv))
    op.execute("RESET enable_seqscan")
    op.execute("RESET jit")
    op.execute("CREATE INDEX ix_search_words_tsv ON search_words USING gin (tsv)")


_STATUS_DETAILS = ("successes", "failures", "pendings")


def _compress_status_details(method: str) -> None:
    """New status details compressed by `method` (values stored before keep theirs)."""
    has_lz4 = op.get_bind().exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    if has_lz4.scalar():
        for column in _STATUS_DETAILS:
            op.execute(f"ALTER TABLE taxii_statuses ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for statement in _functions(_AS_STORED):
        op.execute(statement)
    _rebuild(_AS_STORED)
    _compress_status_details("lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _compress_status_details("default")
    for statement in _FUNCTIONS_0019:
        op.execute(statement)
    _rebuild(_PARSED)
