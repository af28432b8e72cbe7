"""The correlation index: the key of every observable value each object version yields, and the
references reports make to other objects."""

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Table, Text

from shieldwall.db import metadata

# An inverted index of hashes, not a table of pairs: "who else has this value" is one probe of
# key_hash, so the index grows with the values stored, never with the square of a popular value's
# count. The values themselves stay in the objects (and, for search, in observable_values): a row
# here is a key, a pointer and, for addresses and ranges, their bounds.
observable_keys = Table(
    "observable_keys",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    # sha256(lookup key)[:8] as an order-preserving signed integer: exact matches probe it, and the
    # private lookup's 5-hex-digit prefixes are ranges of it.
    Column("key_hash", BigInteger, nullable=False),
    Column("benign", Text),  # warning lists the value is on, '|' separated; never a correlation
    # Addresses and ranges as a version digit and fixed-width hex ("4c0000201" is 192.0.2.1), so
    # "address inside range" is a text range query on either database; `high` for ranges only.
    Column("low", String(33)),
    Column("high", String(33)),
    # NULL on the object's first value, whose kind sets an indicator's decay; TRUE on the others
    # and on rows from before migration 0005, which do not say (then the score reads the pattern).
    # NULL, not FALSE: on PostgreSQL a boolean would pad each 40-byte row to 48 bytes.
    Column("not_first", Boolean),
    Index("ix_observable_keys_key_hash", "key_hash"),
)

# Two partial indexes, not one: "the ranges holding this address" must not walk every address
# below it.
Index(
    "ix_observable_keys_address",
    observable_keys.c.low,
    sqlite_where=observable_keys.c.low.isnot(None) & observable_keys.c.high.is_(None),
    postgresql_where=observable_keys.c.low.isnot(None) & observable_keys.c.high.is_(None),
)
Index(
    "ix_observable_keys_range",
    observable_keys.c.low,
    observable_keys.c.high,
    sqlite_where=observable_keys.c.high.isnot(None),
    postgresql_where=observable_keys.c.high.isnot(None),
)

# Which objects each report (or grouping, note, opinion, observed-data) refers to, and what each
# sighting sights.
object_refs = Table(
    "object_refs",
    metadata,
    Column("object_pk", BigInteger, nullable=False),
    Column("ref_id", String(300), nullable=False),
    Index("ix_object_refs_ref_id", "ref_id"),
)
