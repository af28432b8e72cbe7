"""Break-glass reads and retention rules."""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from shieldwall.db import metadata

# Every time an instance admin read an object's content that the policy keeps from it: shown to
# the owning member's admins.
break_glass_reads = Table(
    "break_glass_reads",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", String(32), nullable=False),
    Column("admin_user_id", String(36), nullable=False),
    Column("admin_email", String(320), nullable=False),
    Column("reason", Text, nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("owner_member_id", String(36), nullable=False),
    Index("ix_break_glass_reads_owner", "owner_member_id", "at"),
)

# How long intel is kept: per member, per object type, both, or neither (the instance default).
# The most specific rule for an object applies; without one, intel is kept for ever.
retention_rules = Table(
    "retention_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36)),  # NULL: every member
    Column("object_type", String(250)),  # NULL: every type
    Column("days", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
)
