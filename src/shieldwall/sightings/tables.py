"""Sightings reported through the simple API, each with its own marking and distribution."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from shieldwall.db import metadata

sightings = Table(
    "sightings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key_hash", BigInteger, nullable=False),  # the sighted value, as the correlation index
    Column("value_kind", String(60), nullable=False),
    Column("value", Text, nullable=False),
    Column("kind", String(20), nullable=False),  # seen, false-positive, expired
    Column("count", Integer, nullable=False),
    Column("seen_at", String(32), nullable=False),
    # The same policy columns as objects, so the one policy filter applies unchanged.
    Column("member_id", String(36), nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("distribution", String(20), nullable=False),
    Column("sharing_group_id", String(36)),
    Column("created_at", String(32), nullable=False),
    Index("ix_sightings_key_hash", "key_hash"),
)
