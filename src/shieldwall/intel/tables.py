"""Tables of STIX object versions and the change log."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from shieldwall.db import metadata

# What a lookup reads of each object it finds: the policy's columns and those its answer shows.
# On PostgreSQL the primary key's entries carry them (migration 0006), so that a lookup reads the
# index and not a gigabyte of bodies; SQLite's table is its primary key's b-tree already.
LOOKUP_COLUMNS = (
    "is_latest", "tlp", "distribution", "sharing_group_id", "member_id", "anonymous", "type",
    "confidence", "modified", "object_id", "revoked",
)  # fmt: skip

# One row per stored object version. `pk` is assigned by ingest under the write lock, so the rows
# of one accepted write are contiguous and pk order is the order objects were added.
objects = Table(
    "objects",
    metadata,
    Column("pk", BigInteger().with_variant(Integer, "sqlite"), autoincrement=False),
    Column("object_id", String(300), nullable=False),
    Column("type", String(250), nullable=False),
    Column("created", String(32)),
    Column("modified", String(32), nullable=False),  # normalised; '' for objects without one
    Column("created_by", String(300)),  # as served: the broker for anonymous contributions
    Column("tlp", SmallInteger, nullable=False),
    Column("distribution", String(20), nullable=False),
    Column("sharing_group_id", String(36)),
    Column("member_id", String(36), nullable=False),  # the real contributor; never served as such
    Column("anonymous", Boolean, nullable=False),
    Column("date_added", String(32), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("labels", Text),  # '|a|b|' so one LIKE finds a label
    Column("search_text", Text),  # name, description and pattern, lower case, for free text
    Column("body", Text, nullable=False),  # the object as served, JSON
    Column("confidence", SmallInteger),  # the object's own, 0-100: what its score starts from
    # Its `valid_until`, normalised; NULL when it has none: exports leave expired ones out by it.
    Column("valid_until", String(32)),
    PrimaryKeyConstraint("pk", postgresql_include=LOOKUP_COLUMNS),
    Index("ix_objects_object_id", "object_id", "modified"),
    Index("ix_objects_type", "type", "pk"),
    # Filters on rare values would otherwise walk the table; a bulk write appends to the end of
    # each of these (one member, one creator, one TLP: the same key, rising pk), so they are cheap.
    Index("ix_objects_created_by", "created_by", "pk"),
    Index("ix_objects_tlp", "tlp", "pk"),
    Index("ix_objects_member", "member_id", "pk"),
)

# One row per accepted write; the objects it wrote are the pks first_pk..last_pk.
change_log = Table(
    "change_log",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at", String(32), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("member_id", String(36)),
    Column("user_id", String(36)),
    Column("first_pk", BigInteger),
    Column("last_pk", BigInteger),
    Column("count", Integer, nullable=False),
)

# The object versions a change-log entry touched when they are not the contiguous pks first_pk..
# last_pk an ingest writes: the versions a removal took away (action "remove": retention, a forged
# platform identity...) or an erasure rewrote ("erase"). With the policy's columns, so that a
# reader of the change log (stream, federation) hears of a change only when it could see what
# was changed.
change_objects = Table(
    "change_objects",
    metadata,
    Column("seq", BigInteger, nullable=False),  # change_log.seq
    Column("pk", BigInteger, nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("modified", String(32), nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("distribution", String(20), nullable=False),
    Column("sharing_group_id", String(36)),
    Column("member_id", String(36), nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Index("ix_change_objects_seq", "seq"),
)
