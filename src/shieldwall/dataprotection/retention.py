"""How long intel is kept, and removing what has outlived it.

A rule names a member, an object type, both or neither, and a number of days. The most specific
rule that covers an object applies (member and type, then member, then type, then the instance
rule); without any, intel is kept for ever. An object expires when its newest version was added
longer ago than its rule allows; then every version of it goes, with its index and search
entries, announced on the change log (intel/removal.py) and audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, not_, select, true, tuple_

from shieldwall.dataprotection.tables import retention_rules
from shieldwall.db import Database, utc_now
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel.removal import remove_versions
from shieldwall.intel.tables import objects
from shieldwall.members.tables import members

_BATCH = 2000  # objects removed per write transaction: other writers are not held up for long


@dataclass(frozen=True, slots=True)
class Rule:
    member_id: str | None
    object_type: str | None
    days: int

    @property
    def specificity(self) -> int:
        return (self.member_id is not None) * 2 + (self.object_type is not None)

    def covers(self) -> ColumnElement[bool]:
        c = objects.c
        return and_(
            true(),
            *([c.member_id == self.member_id] if self.member_id is not None else []),
            *([c.type == self.object_type] if self.object_type is not None else []),
        )


def set_rule(conn: Connection, member_id: str | None, object_type: str | None,
             days: int | None) -> None:  # fmt: skip
    """Keep intel of this member and type for `days` days (None: remove the rule)."""
    if days is not None and days < 1:
        raise Invalid("a retention period is at least one day")
    if (
        member_id is not None
        and conn.scalar(select(members.c.id).where(members.c.id == member_id)) is None
    ):
        raise NotFound("no such member")
    same = and_(
        retention_rules.c.member_id.is_(None) if member_id is None
        else retention_rules.c.member_id == member_id,
        retention_rules.c.object_type.is_(None) if object_type is None
        else retention_rules.c.object_type == object_type,
    )  # fmt: skip
    conn.execute(delete(retention_rules).where(same))
    if days is not None:
        conn.execute(retention_rules.insert().values(
            id=str(uuid.uuid4()), member_id=member_id, object_type=object_type, days=days,
            created_at=utc_now(),
        ))  # fmt: skip


def rules(conn: Connection) -> list[Rule]:
    return [Rule(r.member_id, r.object_type, r.days) for r in conn.execute(select(retention_rules))]


def rules_as_dicts(conn: Connection) -> list[dict[str, Any]]:
    return [
        {"member_id": r.member_id, "type": r.object_type, "days": r.days}
        for r in sorted(rules(conn), key=lambda r: -r.specificity)
    ]


def _expired(conn: Connection, now: datetime, limit: int) -> list[tuple[str, str]]:
    """(object id, owner) of up to `limit` objects whose newest version has outlived its rule."""
    found: list[tuple[str, str]] = []
    all_rules = sorted(rules(conn), key=lambda r: -r.specificity)
    c = objects.c
    for index, rule in enumerate(all_rules):
        cutoff = (now - timedelta(days=rule.days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # An object a more specific rule covers is that rule's business.
        others = [not_(r.covers()) for r in all_rules[:index] if r.specificity > rule.specificity]
        query = (
            select(c.object_id, c.member_id)
            .where(c.is_latest.is_(True), c.date_added < cutoff, rule.covers(), *others)
            .limit(limit - len(found))
        )
        found += [(r.object_id, r.member_id) for r in conn.execute(query)]
        if len(found) >= limit:
            break
    return found


def apply(db: Database, now: datetime | None = None) -> int:
    """Remove every object that has outlived its retention rule; the number of versions removed."""
    now = now or datetime.now(UTC)
    removed = 0
    while True:
        with db.write() as conn:
            expired = _expired(conn, now, _BATCH)
            if not expired:
                return removed
            pks = list(conn.scalars(
                select(objects.c.pk).where(
                    tuple_(objects.c.object_id, objects.c.member_id).in_(expired)
                )
            ))  # fmt: skip
            remove_versions(conn, pks, reason="retention", detail={"objects_expired": len(expired)})
            removed += len(pks)
