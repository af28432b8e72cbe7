"""The full-text table (one per dialect, outside `metadata`), the observable values table and the
ends of each relationship."""

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from shieldwall.db import metadata

# `search_docs` is a different thing on each database, created by raw SQL in migration 0003:
#   SQLite:     CREATE VIRTUAL TABLE search_docs USING fts5(doc, ...): its rowid *is* the object
#               version's pk, so FTS5 walks matches in pk order from a cursor and a page stops
#               early instead of collecting every match first;
#   PostgreSQL: a real table (object_pk primary key, doc, tsv generated from doc, GIN on tsv).
# Neither can be declared once for both, and an FTS5 virtual table (with its shadow tables)
# cannot be declared at all, so both shapes live on private MetaData objects that Alembic's
# autogenerate never compares: on the shared `metadata` it would try to create a plain table
# over the virtual one. They exist only to name the table and columns in queries and inserts.
FTS_DOCS = Table(
    "search_docs",
    MetaData(),
    Column("rowid", BigInteger, primary_key=True),  # = objects.pk
    Column("doc", Text, nullable=False),
)
PG_DOCS = Table(
    "search_docs",
    MetaData(),
    Column("object_pk", BigInteger, primary_key=True),  # = objects.pk
    Column("doc", Text, nullable=False),
    Column("tsv", TSVECTOR),  # GENERATED ALWAYS AS (to_tsvector('simple', doc)) STORED
)

# The normalised observable values of each object version, for exact and prefix search by value.
# The correlation index (correlate/tables.py) holds only their keys; this is search's own copy.
observable_values = Table(
    "observable_values",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),  # one of KINDS, or other:<type>:<path> (unbounded)
    Column("value", Text, nullable=False),
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
