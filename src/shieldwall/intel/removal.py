"""Remove stored object versions whole: the rows, their index entries, and a change-log entry.

Removal is how retention and the clean-up of forbidden rows end; it never leaves an index entry
pointing at nothing, and it is announced on the change log (action "remove", with a
`change_objects` row per removed version carrying the policy's columns) so that readers of the
change log can follow without learning of anything they could not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

import shieldwall.schema  # noqa: F401  (registers every capability's tables on `metadata`)
from shieldwall.audit import service as audit
from shieldwall.db import metadata, utc_now
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.policy import Viewer

_CHUNK = 5000


def remove_versions(
    conn: Connection,
    pks: Sequence[int],
    *,
    reason: str,
    viewer: Viewer | None = None,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Remove these object versions in the caller's write transaction; the change-log seq, or
    None when none of them exists. Where a latest version goes, the newest one left takes over."""
    rows = []
    for start in range(0, len(pks), _CHUNK):
        chunk = list(pks[start : start + _CHUNK])
        rows += conn.execute(
            select(
                objects.c.pk, objects.c.object_id, objects.c.modified, objects.c.tlp,
                objects.c.distribution, objects.c.sharing_group_id, objects.c.member_id,
                objects.c.anonymous, objects.c.is_latest,
            ).where(objects.c.pk.in_(chunk))
        ).all()  # fmt: skip
    if not rows:
        return None
    keys = index_keys(conn)
    found = [r.pk for r in rows]
    for start in range(0, len(found), _CHUNK):
        chunk = found[start : start + _CHUNK]
        for column in keys:
            conn.execute(delete(column.table).where(column.in_(chunk)))
        conn.execute(delete(objects).where(objects.c.pk.in_(chunk)))
    for row in rows:
        if row.is_latest:
            _promote_newest(conn, row.object_id, row.member_id)
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
    now = utc_now()
    conn.execute(change_log.insert().values(
        seq=seq, at=now, action="remove", member_id=viewer.member_id if viewer else None,
        user_id=viewer.user_id if viewer else None, count=len(rows),
    ))  # fmt: skip
    conn.execute(
        change_objects.insert(),
        [{"seq": seq, **{k: getattr(r, k) for k in _REMOVED_COLUMNS}} for r in rows],
    )
    ids = [f"{r.object_id}@{r.modified}" for r in rows]
    audit.append(conn, viewer, "intel.remove", {
        **(detail or {}), "reason": reason, "change_seq": seq, "count": len(rows),
        "objects": ids[:100], "objects_digest": audit.digest_of(ids),
    })  # fmt: skip
    return seq


def index_keys(conn: Connection) -> list[Any]:
    """The object-pk column of every index kept beside the objects: each table with an
    object_pk. The scoped full-text index follows search_docs by its triggers."""
    return [t.c.object_pk for t in metadata.sorted_tables if "object_pk" in t.c]


_REMOVED_COLUMNS = ("pk", "object_id", "modified", "tlp", "distribution", "sharing_group_id",
                    "member_id", "anonymous")  # fmt: skip


def _promote_newest(conn: Connection, object_id: str, member_id: str) -> None:
    """After a latest version is removed, the owner's newest remaining one is the latest."""
    newest = conn.execute(
        select(objects.c.pk)
        .where(and_(objects.c.object_id == object_id, objects.c.member_id == member_id))
        .order_by(objects.c.modified.desc(), objects.c.pk.desc())
        .limit(1)
    ).scalar()
    if newest is not None:
        conn.execute(update(objects).where(objects.c.pk == newest).values(is_latest=True))
