"""TAXII collections: the ones admins define (a title over a saved selection) and every member's
inbox, and who may see, read and write each.

A collection serves what its selection lets through, on top of the policy (selections.service):
nobody reads through a collection what they could not read anyway. A collection limited to a
sharing group is shown only to the group's members (and admins); an inbox only to its member's
users, writable by those who may share intel. Any other id is "not found", never "forbidden":
a collection's existence is not told to those who may not see it.

What a collection is defined as (an admin's collection and its selection, a peer's rule, an
inbox's member's name) may be kept in memory (KnownCollections), beside the value
`auth_generation` had before it was read. Triggers move that counter on every change to those
rows (migration 0025; members and group memberships since 0024), whoever makes it, and a
request's authentication reads it anyway: a kept definition is used only while the counter a
request read is the one it was kept with, so a collection changed or removed, in any process,
counts at the next request. Only the definition is kept, never a decision: who is shown a
collection, and who may write to it, is decided from the viewer on every request.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select

from shieldwall.db import utc_now
from shieldwall.errors import Invalid, NotFound
from shieldwall.federation.tables import peers
from shieldwall.intel.query import ObjectFilter
from shieldwall.members.authentication import generation_now
from shieldwall.members.tables import members, sharing_groups
from shieldwall.policy import Viewer, may_write_intel
from shieldwall.selections import service as selections
from shieldwall.selections.service import Selection
from shieldwall.selections.tables import selections as selection_rows
from shieldwall.taxii.filters import UUID
from shieldwall.taxii.protocol import STIX_MEDIA_TYPE, not_found
from shieldwall.taxii.tables import taxii_collections

# Namespace of the ids of members' inboxes: one per member, the same on every start.
INBOX_NAMESPACE = uuid.UUID("0b9e3a52-4c53-4f0e-8a43-6a5c1d1e7f21")
# What a peer instance's accounts read to sync: the same id on every Shieldwall, so a peer
# finds it without asking (federation/sync.py).
FEDERATION_COLLECTION_ID = "5d1c1b7e-0f53-4c6e-9a0c-7f5a2e4b9c11"
KEEP_SECONDS = 60.0  # the longest a definition is kept, even while auth_generation stays put
KEEP_SIZE = 1024  # definitions kept, the least recently used dropped first


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection as one viewer finds it."""

    id: str
    title: str
    description: str
    can_read: bool
    can_write: bool
    selection: Selection | None = None  # an admin's collection: what it serves
    member_id: str | None = None  # an inbox: the member whose contributions it holds
    # The federation collection: everything that may leave towards the peer but what it sent.
    other_than_member_id: str | None = None

    def as_resource(self) -> dict[str, Any]:
        """The collection resource (TAXII 2.1 §5.2.1)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": self.can_read,
            "can_write": self.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }

    def object_filter(self, **narrowing: Any) -> ObjectFilter:
        """The filter reading this collection, with a request's own filters."""
        base = ObjectFilter(
            selection=self.selection, member_id=self.member_id,
            other_than_member_id=self.other_than_member_id,
        )  # fmt: skip
        return replace(base, **narrowing)


def inbox_id(member_id: str) -> str:
    return str(uuid.uuid5(INBOX_NAMESPACE, f"inbox:{member_id}"))


@dataclass(frozen=True, slots=True)
class _Definition:
    """What a collection is, whoever looks: its title, description and selection."""

    title: str
    description: str = ""
    selection: Selection | None = None


@dataclass(frozen=True, slots=True)
class _Kept:
    generation: int
    definition: _Definition
    until: float  # time.monotonic() past which it is read again whatever the counter says


class KnownCollections:
    """Collections' definitions this process has read, each beside the auth_generation read
    before it (see the module's doc), for one app (app.state.known_collections)."""

    def __init__(self, size: int = KEEP_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()

    def definition(
        self, key: tuple[str, str], generation: int, read: Callable[[], _Definition | None]
    ) -> _Definition | None:
        """The definition kept under `key` for `generation`, else read() (after `generation`
        was read: a change committed meanwhile has moved the counter past it), kept unless
        None (no such collection: an id anyone may make up is not worth a place)."""
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept.generation == generation and kept.until > now:
                self._kept.move_to_end(key)
                return kept.definition
        definition = read()
        if definition is None:
            return None
        with self._lock:
            kept = self._kept.get(key)
            # An older request's reading never replaces a newer one's.
            if kept is None or kept.generation <= generation:
                self._kept[key] = _Kept(generation, definition, now + KEEP_SECONDS)
                self._kept.move_to_end(key)
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return definition


@dataclass(frozen=True, slots=True)
class Lookup:
    """How one request finds its collection: this process's kept definitions, and
    auth_generation as the request's authentication read it (None: read it when needed)."""

    known: KnownCollections
    generation: int | None = None


def _inbox_definition(conn: Connection, member_id: str) -> _Definition | None:
    name = conn.scalar(select(members.c.name).where(members.c.id == member_id))
    return None if name is None else _Definition(name)


def _inbox(viewer: Viewer, found: _Definition | None) -> Collection:
    name = found.title if found is not None else None
    return Collection(
        id=inbox_id(viewer.member_id),
        title=f"{name} inbox",
        description=(
            f"What {name} shares. Objects added here are shared as {name}, exactly as "
            "POST /api/v1/bundles shares them (same checks, same defaults)."
        ),
        can_read=True,
        can_write=may_write_intel(viewer),
        member_id=viewer.member_id,
    )


def _federation_definition(conn: Connection, member_id: str) -> _Definition:
    """Our rule for the peer whose member this is (a selection), if it has one."""
    rule = conn.scalar(select(peers.c.selection_id).where(peers.c.member_id == member_id))
    return _Definition("Federation", selection=selections.get(conn, rule) if rule else None)


def _federation(viewer: Viewer, found: _Definition) -> Collection:
    """A peer's account's view of what may leave towards its instance, under our rule for that
    peer, without what the peer itself sent us."""
    return Collection(
        id=FEDERATION_COLLECTION_ID,
        title="Federation",
        description=(
            "Everything that may leave this instance towards yours, signed by its origin, in "
            "the order it was added: what your instance pulls to sync with this one."
        ),
        can_read=True,
        can_write=False,
        selection=found.selection,
        other_than_member_id=viewer.member_id,
    )


def _of_row(row: Any) -> _Definition:
    return _Definition(row.title, row.description, selections.of_row(row))


def _defined(viewer: Viewer, collection_id: str, found: _Definition) -> Collection | None:
    """An admin's collection as `viewer` finds it, or None when it is not shown to them."""
    assert found.selection is not None
    group = found.selection.sharing_group_id
    if group is not None and group not in viewer.group_ids and not viewer.is_admin:
        return None
    return Collection(collection_id, found.title, found.description, True, False, found.selection)


def _defined_rows(conn: Connection, collection_id: str | None = None) -> list[Any]:
    query = select(
        taxii_collections.c.id, taxii_collections.c.title, taxii_collections.c.description,
        *[c for c in selection_rows.c if c.name not in ("id", "name", "created_at")],
    ).join(selection_rows, selection_rows.c.id == taxii_collections.c.selection_id)  # fmt: skip
    if collection_id is not None:
        query = query.where(taxii_collections.c.id == collection_id)
    return conn.execute(query.order_by(taxii_collections.c.title, taxii_collections.c.id)).all()


def _defined_definition(conn: Connection, collection_id: str) -> _Definition | None:
    rows = _defined_rows(conn, collection_id)
    return _of_row(rows[0]) if rows else None


def visible_collections(conn: Connection, viewer: Viewer) -> list[Collection]:
    """The viewer's inbox, then the admins' collections it is shown, by title."""
    shown = [_defined(viewer, row.id, _of_row(row)) for row in _defined_rows(conn)]
    federation = (
        [_federation(viewer, _federation_definition(conn, viewer.member_id))]
        if viewer.peer else []
    )  # fmt: skip
    inbox = _inbox(viewer, _inbox_definition(conn, viewer.member_id))
    return [inbox, *federation, *(c for c in shown if c is not None)]


def collection_for(
    conn: Connection, viewer: Viewer, collection_id: str, lookup: Lookup | None = None
) -> Collection:
    """One collection the viewer is shown; a TAXII 404 for any other. With `lookup`, its
    definition as kept for the generation the request read, else read (and kept)."""

    def definition(
        kind: str, key: str, read: Callable[[Connection, str], _Definition | None]
    ) -> _Definition | None:
        if lookup is None:
            return read(conn, key)
        generation = lookup.generation
        if generation is None:
            generation = generation_now(conn)  # before the rows it guards
        return lookup.known.definition((kind, key), generation, lambda: read(conn, key))

    if collection_id == inbox_id(viewer.member_id):
        return _inbox(viewer, definition("inbox", viewer.member_id, _inbox_definition))
    if collection_id == FEDERATION_COLLECTION_ID and viewer.peer:
        found = definition("federation", viewer.member_id, _federation_definition)
        assert found is not None
        return _federation(viewer, found)
    shown = None
    if UUID.fullmatch(collection_id):
        found = definition("collection", collection_id, _defined_definition)
        shown = _defined(viewer, collection_id, found) if found is not None else None
    if shown is None:
        raise not_found(f"no collection {collection_id[:100]!r} here")
    return shown


def create_collection(
    conn: Connection, title: str, selection: Selection, description: str = ""
) -> str:
    """An admin's new collection serving `selection`; its id."""
    if not title.strip():
        raise Invalid("a collection needs a title")
    if len(title.strip()) > 200:
        raise Invalid("a collection's title may be at most 200 characters")
    if selection.min_score is not None:
        # A score depends on each reader's visible sightings: no SQL filter can page by it.
        raise Invalid("a TAXII collection cannot filter by min_score")
    selection_id = selections.create(conn, f"TAXII collection: {title.strip()}", selection)
    collection_id = str(uuid.uuid4())
    conn.execute(taxii_collections.insert().values(
        id=collection_id, title=title.strip(), description=description,
        selection_id=selection_id, created_at=utc_now(),
    ))  # fmt: skip
    return collection_id


def defined_collections(conn: Connection) -> list[dict[str, Any]]:
    """Every admin's collection with what it serves (for admins: the API and the CLI)."""
    return [
        {"id": row.id, "title": row.title, "description": row.description,
         "selection": selections.of_row(row).as_dict()}
        for row in _defined_rows(conn)
    ]  # fmt: skip


def group_id_by_name(conn: Connection, name: str) -> str:
    group_id = conn.scalar(select(sharing_groups.c.id).where(sharing_groups.c.name == name))
    if group_id is None:
        raise NotFound(f"no sharing group named {name!r}")
    return group_id
