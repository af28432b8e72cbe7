"""Read stored intel through the policy: filtered lists with a stable cursor, and single objects."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, or_, select

from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.timestamps import normalize_timestamp
from shieldwall.markings import TLP
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, may_know_contributor, may_see, visible_filter
from shieldwall.selections.service import Selection

_COLUMNS = (
    objects.c.pk, objects.c.object_id, objects.c.member_id, objects.c.anonymous,
    objects.c.distribution, objects.c.tlp, objects.c.sharing_group_id, objects.c.body,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    created_by: str | None = None
    tlp: tuple[TLP, ...] = ()
    label: str | None = None
    added_after: str | None = None  # RFC 3339; compared with when this server added the object
    modified_since: str | None = None
    modified_until: str | None = None
    text: str | None = None  # free text over name, description and pattern
    all_versions: bool = False
    selection: Selection | None = None  # a collection's, a feed's...: on top of the policy


@dataclass(frozen=True, slots=True)
class Page:
    bodies: list[str]  # the objects' JSON, as stored: spliced into the response, never re-parsed
    object_ids: list[str]
    next_cursor: str | None
    contributors: dict[str, str]  # object id -> real contributing member, where the viewer may know


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "pk":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid("the cursor is not one this server gave out") from None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(viewer: Viewer, f: ObjectFilter) -> Select[Any]:
    c = objects.c
    query = select(*_COLUMNS).where(visible_filter(viewer, objects))
    if f.selection is not None:
        query = query.where(f.selection.where(objects))
    if not f.all_versions:
        query = query.where(c.is_latest.is_(True))
    if f.types:
        query = query.where(c.type.in_(f.types))
    if f.ids:
        query = query.where(c.object_id.in_(f.ids))
    if f.created_by:
        # A member's id or name stands for its identity; anonymous contributions carry the
        # broker's, so naming a member never finds what it shared anonymously.
        creator = select(members.c.identity_id).where(
            or_(members.c.id == f.created_by, members.c.name == f.created_by)
        )
        query = query.where(
            or_(c.created_by == f.created_by, c.created_by.in_(creator))
            if not f.created_by.startswith("identity--")
            else c.created_by == f.created_by
        )
    if f.tlp:
        query = query.where(c.tlp.in_([int(t) for t in f.tlp]))
    if f.label:
        query = query.where(c.labels.like(f"%|{_like_escape(f.label)}|%", escape="\\"))
    if f.modified_since:
        query = query.where(c.modified >= normalize_timestamp(f.modified_since))
    if f.modified_until:
        query = query.where(c.modified <= normalize_timestamp(f.modified_until))
    if f.added_after:
        # Objects are numbered in the order they were added, so "added after t" is "pk at or
        # past the first write after t": one probe of the change log's time index, no scan.
        first_pk = (
            select(change_log.c.first_pk)
            .where(change_log.c.at > normalize_timestamp(f.added_after))
            .order_by(change_log.c.seq)
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(c.pk >= first_pk)
    if f.text:
        query = query.where(c.search_text.like(f"%{_like_escape(f.text.lower())}%", escape="\\"))
    return query


def list_objects(
    db: Database, viewer: Viewer, f: ObjectFilter, *, cursor: str | None, limit: int
) -> Page:
    """One page in the order objects were added; `next_cursor` resumes after it."""
    after = decode_cursor(cursor) if cursor else 0
    query = _filtered(viewer, f).where(objects.c.pk > after).order_by(objects.c.pk)
    return read_page(db, viewer, query, limit=limit, action="intel.read", detail={})


def read_page(
    db: Database, viewer: Viewer, query: Select[Any], *, limit: int, action: str,
    detail: dict[str, Any],
) -> Page:  # fmt: skip
    """One page of an already policy-filtered, ordered query, recorded as a bulk read."""
    with db.read() as conn:
        rows = conn.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    page = Page(
        bodies=[r.body for r in rows],
        object_ids=[r.object_id for r in rows],
        next_cursor=encode_cursor(rows[-1].pk) if more else None,
        contributors=_contributors(viewer, rows),
    )
    if rows:
        audit.record(db, viewer, action, {
            **detail,
            "count": len(rows),
            "objects": page.object_ids[:100],
            "objects_digest": audit.digest_of(page.object_ids),
        })  # fmt: skip
    return page


def iter_objects(
    conn: Connection, viewer: Viewer, f: ObjectFilter, batch: int = 1000
) -> Iterator[Any]:
    """Every visible row, in batches by keyset: for exports, whatever the size."""
    after = 0
    while True:
        rows = conn.execute(
            _filtered(viewer, f).where(objects.c.pk > after).order_by(objects.c.pk).limit(batch)
        ).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].pk


def latest_visible_pks(conn: Connection, viewer: Viewer, object_ids: list[str]) -> list[int]:
    """The rows of the latest versions of these objects that the viewer may see."""
    query = select(objects.c.pk).where(
        objects.c.object_id.in_(object_ids),
        objects.c.is_latest.is_(True),
        visible_filter(viewer, objects),
    )
    return list(conn.scalars(query))


def get_object(db: Database, viewer: Viewer, object_id: str, *, all_versions: bool = False) -> Page:
    """The latest visible version of one object (or every visible version); NotFound otherwise.

    The predicate form of the policy is applied to rows fetched by id: one object in hand.
    """
    query = select(*_COLUMNS, objects.c.modified, objects.c.is_latest).where(
        objects.c.object_id == object_id
    )
    with db.read() as conn:
        rows = [
            r
            for r in conn.execute(query.order_by(objects.c.modified, objects.c.pk))
            if may_see(viewer, r._mapping)
        ]
    if not all_versions:
        # Observables and public reference objects may have a copy per member (reference.py):
        # the viewer's own, else the newest.
        latest = [r for r in rows if r.is_latest]
        latest.sort(key=lambda r: (r.member_id == viewer.member_id, r.modified, r.pk))
        rows = latest[-1:]
    if not rows:
        raise NotFound("no such object")
    return Page(
        bodies=[r.body for r in rows],
        object_ids=[r.object_id for r in rows],
        next_cursor=None,
        contributors=_contributors(viewer, rows),
    )


def _contributors(viewer: Viewer, rows: list[Any]) -> dict[str, str]:
    return {
        r.object_id: r.member_id
        for r in rows
        if r.anonymous and may_know_contributor(viewer, r._mapping)
    }
