"""What an instance admin sees of members' intel: every object's metadata, and an object's
content only through a named break-glass read.

Admins run the instance; the policy does not let them read other members' `org`, `group` or
TLP:RED intel (policy.may_see). Running the instance needs to know what is stored (its owner,
size, marking and dates: for capacity, retention and erasure), which `object_metadata` lists
without content. When content must be read (an erasure request to check, a legal order), the
admin names the object and a reason: the read is audited and recorded where the owning
member's admins can see it (`break_glass_log`).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import func, select

from shieldwall.audit import service as audit
from shieldwall.dataprotection.tables import break_glass_reads
from shieldwall.db import Database, utc_now
from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP
from shieldwall.policy import Role, Viewer, may_break_glass, may_see, may_see_metadata

MIN_REASON = 10  # characters: a reason the owning member's admins can act on, not "x"


def object_metadata(
    db: Database,
    viewer: Viewer,
    *,
    member_id: str | None = None,
    object_type: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The latest version of every stored object, without its content: id, type, owner,
    marking, distribution, size and dates, in the order stored; `next` resumes after a page."""
    if not may_see_metadata(viewer):
        raise Forbidden("only an instance admin may list every object's metadata")
    c = objects.c
    query = (
        select(c.pk, c.object_id, c.type, c.member_id, c.anonymous, c.tlp, c.distribution,
               c.sharing_group_id, c.date_added, c.modified, func.length(c.body).label("size"))
        .where(c.is_latest.is_(True), c.pk > after)
        .order_by(c.pk)
        .limit(limit + 1)
    )  # fmt: skip
    if member_id is not None:
        query = query.where(c.member_id == member_id)
    if object_type is not None:
        query = query.where(c.type == object_type)
    with db.read() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        audit.record(db, viewer, "admin.metadata", {
            "count": len(rows), "member": member_id, "type": object_type,
        })  # fmt: skip
    return {
        "objects": [
            {
                "id": r.object_id,
                "type": r.type,
                "owner": r.member_id,
                "anonymous": r.anonymous,
                "tlp": TLP(r.tlp).label,
                "distribution": r.distribution,
                "sharing_group": r.sharing_group_id,
                "date_added": r.date_added,
                "modified": r.modified,
                "size": r.size,
            }
            for r in rows
        ],
        "next": rows[-1].pk if more else None,
    }


def break_glass_read(db: Database, viewer: Viewer, object_id: str, reason: str) -> dict[str, Any]:
    """Every version of one object, whatever the policy says, for a reason: audited, and shown
    to the admins of each member whose versions the admin could not otherwise have read."""
    if not may_break_glass(viewer):
        raise Forbidden("only an instance admin may make a break-glass read")
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Invalid(
            f"a break-glass read needs a reason of at least {MIN_REASON} characters: the owning "
            "member's admins will read it"
        )
    now = utc_now()
    c = objects.c
    with db.write() as conn:
        rows = conn.execute(
            select(c.pk, c.object_id, c.member_id, c.tlp, c.distribution, c.sharing_group_id,
                   c.anonymous, c.body)
            .where(c.object_id == object_id)
            .order_by(c.modified, c.pk)
        ).all()  # fmt: skip
        if not rows:
            raise NotFound("no such object")
        owners = sorted({r.member_id for r in rows if not may_see(viewer, r._mapping)})
        for owner in owners:
            conn.execute(break_glass_reads.insert().values(
                id=str(uuid.uuid4()), at=now, admin_user_id=viewer.user_id,
                admin_email=viewer.email, reason=reason, object_id=object_id,
                owner_member_id=owner,
            ))  # fmt: skip
        audit.append(conn, viewer, "admin.break_glass", {
            "object_id": object_id, "reason": reason, "owners": owners, "versions": len(rows),
        })  # fmt: skip
    return {
        "objects": [orjson.loads(r.body) for r in rows],
        "owners": {r.object_id: r.member_id for r in rows},
    }


def break_glass_log(db: Database, viewer: Viewer, *, limit: int = 1000) -> list[dict[str, Any]]:
    """The break-glass reads of a member's objects, newest first: a member-admin sees its own
    member's; an instance admin sees all."""
    query = select(break_glass_reads).order_by(break_glass_reads.c.at.desc()).limit(limit)
    if not viewer.is_admin:
        if viewer.role is not Role.MEMBER_ADMIN:
            raise Forbidden("only member-admins and instance admins may read the break-glass log")
        query = query.where(break_glass_reads.c.owner_member_id == viewer.member_id)
    with db.read() as conn:
        return [
            {
                "at": r.at,
                "admin": r.admin_email,
                "reason": r.reason,
                "object_id": r.object_id,
                "owner": r.owner_member_id,
            }
            for r in conn.execute(query)
        ]
