"""The saved selections."""

from sqlalchemy import Column, Float, Integer, SmallInteger, String, Table, Text

from shieldwall.db import metadata

selections = Table(
    "selections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("types", Text, nullable=False, default="[]"),  # JSON list of STIX types; [] = all
    Column("max_tlp", SmallInteger),  # the most restrictive TLP served; NULL = any
    Column("labels", Text, nullable=False, default="[]"),  # JSON list; any of them; [] = all
    Column("sharing_group_id", String(36)),  # only what was shared with this group
    Column("member_kinds", Text, nullable=False, default="[]"),  # JSON list; [] = all
    Column("min_score", Float),  # indicators scoring less are left out; NULL = no floor
    Column("max_age_days", Integer),  # added more than this many days ago: left out
    Column("created_at", String(32), nullable=False),
)
