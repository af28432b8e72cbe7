"""TAXII's own tables: collections, status resources, and where each pull stopped."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from shieldwall.db import metadata

# A collection an admin defined: a title over a saved selection (what it serves). Members' inboxes
# have no row: each member has one, its id derived from the member's (collections.inbox_id).
taxii_collections = Table(
    "taxii_collections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("selection_id", String(36), ForeignKey("selections.id"), nullable=False),
    Column("created_at", String(32), nullable=False),
)

# One row per POST of objects (TAXII 2.1 §4.3): kept so that any process can answer for it later.
taxii_statuses = Table(
    "taxii_statuses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36), nullable=False),  # whose users may read it
    Column("user_id", String(36), nullable=False),
    Column("collection_id", String(36), nullable=False),
    Column("request_timestamp", String(32), nullable=False),
    Column("status", String(20), nullable=False),  # complete | pending
    Column("total_count", Integer, nullable=False),
    Column("success_count", Integer, nullable=False),
    Column("failure_count", Integer, nullable=False),
    Column("pending_count", Integer, nullable=False),
    Column("successes", Text, nullable=False),  # JSON lists of status details
    Column("failures", Text, nullable=False),
    Column("pendings", Text, nullable=False),
)

# Where `shieldwall taxii pull` stopped, per remote collection and local user: the next pull
# without --since resumes after it.
taxii_pull_cursors = Table(
    "taxii_pull_cursors",
    metadata,
    Column("api_root", String(1000), nullable=False),
    Column("collection_id", String(300), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("added_after", String(40), nullable=False),  # the last date_added imported
    Column("complete", Boolean, nullable=False),  # the pull that stopped there reached the end
    Column("updated_at", String(32), nullable=False),
    Index("ix_taxii_pull_cursors_key", "api_root", "collection_id", "user_id", unique=True),
)
