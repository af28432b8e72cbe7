"""Tables of members, users, API keys and sharing groups."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

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
    Column("password_hash", String(200)),  # argon2id (members/passwords.py); NULL: no sign-in
)

# Browser sessions (web/): the cookie holds a random token, stored here only as its SHA-256, so
# signing out or disabling the user ends the session on the server, not just in the browser.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),  # the token every form of the session carries
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of the whole key
    # Shown in listings so a key can be recognised: `sw_<lookup_id>`, the part of the key before
    # its secret (keys from before migration 0014: their first 10 characters).
    Column("prefix", String(12), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    # The key's own id, written in the key (`sw_<lookup_id>_<secret>`): what authentication finds
    # it by before comparing hashes in constant time. NULL for keys from before migration 0014,
    # which are found by their hash.
    Column("lookup_id", String(8), unique=True),
    Column("name", String(100), nullable=False, server_default="default"),  # one active a name
    Column("expires_at", String(32)),  # none: valid until revoked
    Column("last_used_at", String(32)),  # to within a minute (members/authentication.py)
    Column("revoked_by", String(36)),  # the user who revoked it; NULL: the command line
)

# Failed authentications counted per scope ("address:<client address>", "user:<user id>" for
# its API keys, "password:<user id>" for its password) in fixed windows, so that every app
# process serving one database slows the same clients down.
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("window_start", Float, nullable=False),  # seconds since the epoch
    Column("failures", Integer, nullable=False),
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

# One row (id 1): a counter that triggers move on every change to users, members, sharing group
# memberships and API keys' validity (migration 0024) and to TAXII collections' definitions
# (0025), so that a process may keep the viewer a key stands for (members/authentication.py) and
# the collections it reads (taxii/collections.py) while the counter stays where it was.
auth_generation = Table(
    "auth_generation",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("generation", BigInteger, nullable=False),
)
