"""Tables of members, users, API keys and sharing groups."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, SmallInteger, String, Table, Text

from shieldwall.db import metadata

members = Table(
    "members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("country", String(2)),
    Column("sectors", Text, nullable=False, default="[]"),  # JSON list
    Column("capabilities", Text, nullable=False, default="[]"),  # JSON list
    Column("contacts", Text, nullable=False, default="[]"),  # JSON list
    Column("identity_id", String(60), nullable=False, unique=True),  # its STIX identity
    Column("default_tlp", SmallInteger, nullable=False),
    Column("default_distribution", String(20), nullable=False),
    Column("created_at", String(32), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("member_id", String(36), ForeignKey("members.id"), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", String(32), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of the whole key
    Column("prefix", String(12), nullable=False),  # shown in listings so a key can be recognised
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
)

sharing_groups = Table(
    "sharing_groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("owner_member_id", String(36), ForeignKey("members.id"), nullable=False),
    Column("created_at", String(32), nullable=False),
)

sharing_group_members = Table(
    "sharing_group_members",
    metadata,
    Column("group_id", String(36), ForeignKey("sharing_groups.id"), primary_key=True),
    Column("member_id", String(36), ForeignKey("members.id"), primary_key=True),
    Index("ix_sharing_group_members_member", "member_id"),
)
