"""The stream's tables: webhooks, each with its own position in the change log."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text

from shieldwall.db import metadata

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36), nullable=False, index=True),
    Column("user_id", String(36), nullable=False),  # whose rights the deliveries read with
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),  # the HMAC key, shown once at creation
    Column("selection", Text, nullable=False),  # JSON, selections.parse
    Column("position", String(50), nullable=False),  # events.Position: delivered up to here
    Column("active", Boolean, nullable=False),
    Column("failures", Integer, nullable=False),  # in a row, since the last delivery
    Column("last_error", Text),
    Column("last_attempt_at", String(32)),
    Column("last_delivered_at", String(32)),
    Column("next_attempt_at", String(32)),
    Column("delivered", Integer, nullable=False),  # events delivered in all
    Column("created_at", String(32), nullable=False),
)
