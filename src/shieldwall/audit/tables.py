"""The hash-chained audit log."""

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from shieldwall.db import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at", String(32), nullable=False),
    Column("user_id", String(36)),
    Column("member_id", String(36)),
    Column("action", String(60), nullable=False),
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
