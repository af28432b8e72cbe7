"""Search's tables: full-text documents, their scopes and the scoped index (one shape per
dialect, outside `metadata`), the observable values and the ends of each relationship."""

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from shieldwall.db import metadata

# Full text lives in three tables, so that a search walks only what its viewer may see:
#
#   search_docs    (object_pk, doc): each object version's words, unscoped, as
#                  SearchIndex.rows makes them; what ingest writes and the consistency check reads.
#   search_scopes  the scopes documents are indexed under, with the columns policy.visible_filter
#                  reads: an owner (member_id, '', 0, '') and an audience ('', distribution, tlp,
#                  sharing_group_id or ''). visible_filter ORs a clause on member_id alone with
#                  clauses on the other three alone, so an object is visible exactly when one of
#                  its two scopes is (tests/search/test_scopes.py holds the filter to that).
#   search_words   the index proper: every word of a document once under each of its two scopes
#                  (`scoped_document`: "s12xlazarus s3xlazarus"), so each scope's words have
#                  posting lists of their own. A search asks only for the words of the scopes
#                  visible_filter lets its viewer see (its member, and the dozen or so audiences
#                  that reach it, however many members share), and the engine never reads a
#                  posting of a row the viewer may not see (issue 12: a word held only by
#                  invisible objects answered 2-9 times slower than a word held by none, which
#                  told that they exist).
#
# Triggers written in migration 0019 keep search_words in step with search_docs (insert, update,
# delete) and with objects' visibility columns, on both databases: the writers (ingest, erasure,
# removal, migrations) write and delete search_docs rows only. `search_words` is a different thing
# on each database and cannot be declared once for both (an FTS5 virtual table cannot be declared
# at all), so both shapes live on private MetaData objects that Alembic's autogenerate never
# compares; they exist only to name the table and columns in queries:
#   SQLite:     CREATE VIRTUAL TABLE search_words USING fts5(doc): its rowid *is* the object
#               version's pk, so FTS5 walks matches in pk order from a cursor and a page stops
#               early instead of collecting every match first;
#   PostgreSQL: a real table (object_pk primary key, tsv, GIN on tsv). Since migration 0026
#               the tsvector holds the scoped words as they are, one lexeme each, without
#               positions (array_to_tsvector; nothing searches by phrase or ranks), and a search
#               casts its quoted lexemes to tsquery: no parser reads them on either side.
search_docs = Table(
    "search_docs",
    metadata,
    # INTEGER PRIMARY KEY on SQLite: the rowid itself, so a document costs one b-tree entry.
    Column(
        "object_pk",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("doc", Text, nullable=False),
)
search_scopes = Table(
    "search_scopes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("member_id", String(36), nullable=False),
    Column("distribution", String(20), nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("sharing_group_id", String(36), nullable=False),  # '' when none or an owner
    UniqueConstraint("member_id", "distribution", "tlp", "sharing_group_id"),
)
FTS_WORDS = Table(
    "search_words",
    MetaData(),
    Column("rowid", BigInteger, primary_key=True),  # = objects.pk
    Column("doc", Text, nullable=False),
)
PG_WORDS = Table(
    "search_words",
    MetaData(),
    Column("object_pk", BigInteger, primary_key=True),  # = objects.pk
    Column("tsv", TSVECTOR, nullable=False),
)


def scoped_word(scope_id: int, word: str) -> str:
    """A word as search_words holds it for a document of scope `scope_id`: one token to FTS5,
    one lexeme to PostgreSQL, and never the word of another scope ('s', digits, 'x' first)."""
    return f"s{scope_id}x{word}"


def scoped_document(doc: str, owner_scope: int, audience_scope: int) -> str:
    """What search_words holds of the document `doc` (search_docs.doc) under its two scopes."""
    words = doc.split(" ")
    return " ".join(
        [scoped_word(owner_scope, w) for w in words]
        + [scoped_word(audience_scope, w) for w in words]
    )


# The normalised observable values of each object version, for exact and prefix search by value.
# The correlation index (correlate/tables.py) holds only their keys; this is search's own copy.
observable_values = Table(
    "observable_values",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),  # one of KINDS, or other:<type>:<path> (unbounded)
    Column("value", Text, nullable=False),
    # An object version's values by its pk: the rule exports' page join, and removal.
    Index("ix_observable_values_object_pk", "object_pk"),
)

# Values are indexed by their first VALUE_KEY_LENGTH characters: a PostgreSQL B-tree entry may
# not pass ~2,700 bytes and observable values (URLs, user agents, verbatim values) have no bound,
# so indexing `value` itself would make ingest fail on a long one. Queries must use `value_key`
# itself (same literal constants), or neither database matches the expression to the index.
VALUE_KEY_LENGTH = 200
value_key = func.substr(
    observable_values.c.value, literal_column("1"), literal_column(str(VALUE_KEY_LENGTH))
).label("value_key")

# Prefix search reads this index as a range (key >= p AND key < p with its last character
# incremented). On PostgreSQL, text_pattern_ops compares code points whatever the database's
# collation (a linguistic collation does not keep a prefix's strings contiguous) and the query
# uses its operators (~>=~, ~<~); SQLite compares text as bytes (BINARY), the same order.
# One column, not (kind, value): a search without a kind, the common case, can use it too.
Index(
    "ix_observable_values_value",
    value_key,
    postgresql_ops={"value_key": "text_pattern_ops"},
)

# The ids each relationship joins (its source_ref and target_ref), so "the relationships around
# these objects" is a probe of ref_id, not a scan of every relationship's body. The report view
# reads it. It sits beside correlate's object_refs in meaning (what a report or sighting refers
# to), but is written by search's index: the index this capability owns in the ingest
# transaction. Only relationships have rows here.
relationship_ends = Table(
    "relationship_ends",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    Column("ref_id", String(300), nullable=False),
    Index("ix_relationship_ends_ref_id", "ref_id"),
)
