"""Read stored intel through the policy: filtered lists with a stable cursor, and single objects."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
)

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
class VersionMatch:
    """Which versions of each object a read returns (TAXII 2.1 §3.4.2 `match[version]`), among
    the versions the viewer may see through the filter's selection: the first and last are those
    of what the viewer reads, so a newer version it may not see never hides the one it may."""

    first: bool = False
    last: bool = False
    all: bool = False
    at: tuple[str, ...] = ()  # normalised timestamps: the versions with that modified


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
    versions: VersionMatch | None = None  # when given, instead of all_versions
    # Only what this member contributed, anonymous contributions included: for the member's own
    # views (its TAXII inbox). Never offer it to anyone else: it would unmask anonymous ones.
    member_id: str | None = None
    other_than_member_id: str | None = None  # all but what this member contributed (federation)
    # Only versions not past their valid_until at this moment (normalised, as utc_now writes):
    # what exports of indicators to act on hold (the value exports' chosen_of says the same).
    valid_at: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    bodies: list[str]  # the objects' JSON, as stored: spliced into the response, never re-parsed
    object_ids: list[str]
    next_cursor: str | None
    contributors: dict[str, str]  # object id -> real contributing member, where the viewer may know


_MAX_PK = 2**63 - 1  # a BIGINT: a larger number in a forged cursor is refused, not an overflow


def encode_cursor(pk: int, bound_to: str | None = None) -> str:
    """An opaque keyset position: the last row served. `bound_to` names the query it belongs
    to (query_key), so that it is refused with any other (TAXII 2.1 §3.6: `next` is opaque)."""
    raw = f"pk:{pk}" if bound_to is None else f"pk:{pk}:{bound_to}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, bound_to: str | None = None) -> int:
    """The position in a cursor this server gave out for the same query; Invalid otherwise.
    Nothing is kept between pages, so a cursor works across processes and restarts."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, rest = raw.partition(":")
        value, _, query = rest.partition(":")
        if kind != "pk" or not value.isdigit() or not 0 <= int(value) <= _MAX_PK:
            raise ValueError(kind)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid("the cursor is not one this server gave out") from None
    if (query or None) != bound_to:
        raise Invalid("the cursor belongs to another query: send the same filters with it")
    return int(value)


def query_key(f: ObjectFilter, scope: str = "") -> str:
    """A short digest of a filter (and of what else the caller reads with it: an endpoint, a
    collection), carried by the cursors of its pages."""
    return hashlib.sha256(f"{scope}|{f!r}".encode()).hexdigest()[:16]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(viewer: Viewer, f: ObjectFilter, columns: tuple[Any, ...] = _COLUMNS) -> Select[Any]:
    c = objects.c
    query = select(*columns).where(_in_view(viewer, f, objects))
    if f.member_id is not None:
        query = query.where(c.member_id == f.member_id)
    if f.other_than_member_id is not None:
        query = query.where(c.member_id != f.other_than_member_id)
    if f.versions is not None:
        query = query.where(_versions(viewer, f, f.versions))
    elif not f.all_versions:
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
        # Removals are on the change log too, without objects: they are not where one starts.
        first_pk = (
            select(change_log.c.first_pk)
            .where(
                change_log.c.at > normalize_timestamp(f.added_after),
                change_log.c.first_pk.is_not(None),
            )
            .order_by(change_log.c.seq)
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(c.pk >= first_pk)
    if f.valid_at:
        query = query.where(or_(c.valid_until.is_(None), c.valid_until > f.valid_at))
    if f.text:
        query = query.where(c.search_text.like(f"%{_like_escape(f.text.lower())}%", escape="\\"))
    return query


def _in_view(viewer: Viewer, f: ObjectFilter, table: Any) -> ColumnElement[bool]:
    """What the viewer may see of `table` (objects or an alias of it) through the selection."""
    seen = visible_filter(viewer, table)
    return seen if f.selection is None else and_(seen, f.selection.where(table))


# An object version's version as TAXII names it (§3.4.2, the manifest's `version`): its modified,
# else its created, else when it was added (observables carry neither).
_VERSION = func.coalesce(
    func.nullif(objects.c.modified, ""), objects.c.created, objects.c.date_added
)


def version_of(row: Any) -> str:
    """The same, for a row read with modified, created and date_added."""
    return row.modified or row.created or row.date_added


def _versions(viewer: Viewer, f: ObjectFilter, match: VersionMatch) -> ColumnElement[bool]:
    """The versions `match` asks for, first and last counted among those in the viewer's view.

    Each is one probe of (object_id, modified) per row, correlated so that the planner never
    turns it into a join over the whole table; a latest version (most rows) needs no probe for
    `last`. Copies of one observable kept by several members are each their own chain."""
    if match.all:
        return true()
    c = objects.c
    other = objects.alias("other_version")

    def same_chain(newer: bool) -> Select[Any]:
        order = other.c.modified > c.modified if newer else other.c.modified < c.modified
        return select(other.c.pk).where(
            other.c.object_id == c.object_id,
            other.c.member_id == c.member_id,
            order,
            _in_view(viewer, f, other),
        )

    clauses: list[ColumnElement[bool]] = []
    if match.at:
        clauses.append(_VERSION.in_(match.at))
    if match.last:
        clauses.append(or_(c.is_latest.is_(True), ~exists(same_chain(newer=True))))
    if match.first:
        clauses.append(~exists(same_chain(newer=False)))
    return or_(*clauses) if clauses else false()


def list_objects(
    db: Database, viewer: Viewer, f: ObjectFilter, *, cursor: str | None, limit: int,
    action: str = "intel.read", detail: dict[str, Any] | None = None, newest_first: bool = False,
) -> Page:  # fmt: skip
    """One page in the order objects were added (`newest_first`: the last added first, as a
    person reading a list expects); `next_cursor` resumes after it. The page is audited as a
    bulk read under `action` (an export names itself)."""
    query = _filtered(viewer, f)
    if newest_first:
        if cursor:
            query = query.where(objects.c.pk < decode_cursor(cursor))
        query = query.order_by(objects.c.pk.desc())
    else:
        query = query.where(objects.c.pk > (decode_cursor(cursor) if cursor else 0))
        query = query.order_by(objects.c.pk)
    return read_page(db, viewer, query, limit=limit, action=action, detail=detail or {})


def read_page(
    db: Database, viewer: Viewer, query: Select[Any], *, limit: int, action: str,
    detail: dict[str, Any], prepare: Callable[[Connection], object] | None = None,
) -> Page:  # fmt: skip
    """One page of an already policy-filtered, ordered query, recorded as a bulk read;
    `prepare` runs first in the same transaction (e.g. to choose the query's plan)."""
    with db.read() as conn:
        if prepare is not None:
            prepare(conn)
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


Record = Callable[[Viewer, str, dict[str, Any]], object]  # how a bulk read is audited


class Entry(NamedTuple):
    """One object version as a protocol's listing shows it (TAXII's envelope and manifest). A
    NamedTuple: a page makes a thousand of them, at a fraction of a dataclass's cost."""

    object_id: str
    date_added: str
    version: str
    body: str | None  # the object's JSON as stored, when asked for
    pk: int  # the stored version's row (federation finds the signature kept for it)


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[Entry]
    next_cursor: str | None  # None on the last page


def list_entries(
    db: Database, viewer: Viewer, f: ObjectFilter, *, cursor: str | None, limit: int, scope: str,
    bodies: bool, record: Record, action: str, detail: dict[str, Any],
) -> EntryPage:  # fmt: skip
    """One page of visible object versions in the order they were added, with when each was
    added and its version, for protocols that page by their own rules (TAXII).

    The cursor is bound to `f` and `scope`; `record` audits the page (a bulk read) as the caller
    chooses, e.g. without waiting for the write. One more row than the page is read to know
    whether there is more: a row the viewer may not see is never read, so `more` tells nothing.
    """
    key = query_key(f, scope)
    after = decode_cursor(cursor, key) if cursor else 0
    timeless = f.selection is None or f.selection.max_age_days is None
    statement = (_entries_statement if timeless else _entries_statement.__wrapped__)(
        viewer, f, bodies
    )
    with db.quick_read() as conn:  # one statement
        rows = conn.execute(statement, {"after": after, "rows": limit + 1}).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # (pk, object_id, date_added, modified, created[, body]); the version as version_of says
    entries = [
        Entry(r[1], r[2], r[3] or r[4] or r[2], r[5] if bodies else None, r[0]) for r in rows
    ]
    if entries:
        ids = [e.object_id for e in entries]
        record(viewer, action, {
            **detail, "count": len(ids), "objects": ids[:100],
            "objects_digest": audit.digest_of(ids),
        })  # fmt: skip
    return EntryPage(entries, encode_cursor(rows[-1][0], key) if more else None)


@functools.lru_cache(maxsize=128)
def _entries_statement(viewer: Viewer, f: ObjectFilter, bodies: bool) -> Select[Any]:
    """list_entries' statement, its position and size bound at execution: a reader paging
    through a collection builds it once (building it costs more than running it). Only for
    filters that do not depend on the time they are built at (a selection's max age does)."""
    c = objects.c
    columns = (c.pk, c.object_id, c.date_added, c.modified, c.created) + (
        (c.body,) if bodies else ()
    )
    return (
        _filtered(viewer, f, columns)
        .where(c.pk > bindparam("after", type_=BigInteger()))
        .order_by(c.pk)
        .limit(bindparam("rows", type_=Integer()))
    )


def rows_in_view(
    conn: Connection, viewer: Viewer, f: ObjectFilter, *, limit: int | None = None
) -> list[Any]:
    """The rows a filter finds for the viewer, with the policy's columns, for a decision about
    a few rows in hand (a delete, an existence check): narrow the filter by id."""
    c = objects.c
    columns = (
        c.pk, c.object_id, c.member_id, c.tlp, c.distribution, c.sharing_group_id, c.anonymous,
    )  # fmt: skip
    found = _filtered(viewer, f, columns).order_by(c.pk)
    return conn.execute(found if limit is None else found.limit(limit)).all()


def iter_objects(
    conn: Connection, viewer: Viewer, f: ObjectFilter, batch: int = 1000, *, after: int = 0
) -> Iterator[Any]:
    """Every visible row (past the pk `after`), in batches by keyset: for exports and pushes,
    whatever the size."""
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


def shown_copy(rows: Sequence[Any], viewer: Viewer, first_pks: Mapping[str, int]) -> Any:
    """Of one id's latest visible versions, one per member that holds a copy, the one an answer
    about that id shows: the viewer's own, else the copy of the member whose visible versions
    were stored first (`first_pks`: member id -> the smallest pk of its versions the viewer may
    see). Several members hold one id where each may (observables, public reference objects:
    reference.py), and where a member sent an id it could not see was taken (it could not be
    refused without telling that the id exists): then the first sharer's object is shown, never
    a later claim to its id, whatever `modified` the claim gives itself."""
    own = [r for r in rows if r.member_id == viewer.member_id]
    if own:
        return own[0]
    return min(rows, key=lambda r: (first_pks.get(r.member_id, r.pk), r.pk))


def first_visible_pks(
    conn: Connection, viewer: Viewer, object_ids: Collection[str]
) -> dict[str, dict[str, int]]:
    """Object id -> member id -> the smallest pk of that member's versions of it the viewer may
    see: what shown_copy chooses by, for ids several members hold."""
    c = objects.c
    query = (
        select(c.object_id, c.member_id, func.min(c.pk))
        .where(c.object_id.in_(sorted(object_ids)), visible_filter(viewer, objects))
        .group_by(c.object_id, c.member_id)
    )
    found: dict[str, dict[str, int]] = {}
    for object_id, member_id, first in conn.execute(query):
        found.setdefault(object_id, {})[member_id] = first
    return found


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
        first_pks: dict[str, int] = {}
        for r in rows:  # the smallest pk of each member's visible versions
            first_pks.setdefault(r.member_id, r.pk)
            first_pks[r.member_id] = min(first_pks[r.member_id], r.pk)
        latest = [r for r in rows if r.is_latest]
        rows = [shown_copy(latest, viewer, first_pks)] if latest else []
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
