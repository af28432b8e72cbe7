"""The correlation index: one row per observable value an object version yields, and the
references reports make to other objects."""

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from shieldwall.db import metadata

# An inverted index, not a table of pairs: "who else has this value" is one probe of key_hash, so
# the index grows with the values stored, never with the square of a popular value's count.
observables = Table(
    "observables",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    # sha256(lookup key)[:8] as an order-preserving signed integer: exact matches probe it, and the
    # private lookup's 5-hex-digit prefixes are ranges of it.
    Column("key_hash", BigInteger, nullable=False),
    Column("kind", String(60), nullable=False),
    Column("value", Text, nullable=False),
    # Addresses and ranges as fixed-width hex, so "address inside range" is a text range query.
    Column("low", String(32)),
    Column("high", String(32)),
    Column("benign", Text),  # warning lists the value is on, '|' separated; never a correlation
    Index("ix_observables_key_hash", "key_hash"),
    Index("ix_observables_object_pk", "object_pk"),
)

# Only addresses and ranges have bounds: the other values stay out of this index.
Index(
    "ix_observables_range",
    observables.c.kind,
    observables.c.low,
    sqlite_where=observables.c.low.isnot(None),
    postgresql_where=observables.c.low.isnot(None),
)

# Which objects each report (or grouping, note, opinion, observed-data) refers to.
object_refs = Table(
    "object_refs",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    Column("ref_id", String(300), nullable=False),
    Index("ix_object_refs_ref_id", "ref_id"),
    Index("ix_object_refs_object_pk", "object_pk"),
)
