"""The stream's events, positions and filters.

Every accepted write is one change-log entry (intel/tables.py `change_log`); an ingest's entry
covers the object versions first_pk..last_pk, a removal's or an erasure's the versions in
`change_objects`, an incident write's the timeline entries in `incident_changes`. A reader
(stream/reader.py) turns them into events one object version (or timeline entry) at a time,
keeping only what the viewer may see (policy.may_see, policy.incident_visible_filter and the
incident timeline's own rule for linked intel) and what its selection lets through
(selections), so a subscriber never learns of a change to something it may not see, not even
its id.

A position is `SEQ` (everything of entry SEQ has been read) or `SEQ.SUB` (entry SEQ has been
read up to its object pk or timeline id SUB): an event's id is its position, so resuming from
the last id a client saw gives exactly what came after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import total_ordering
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, true

from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.incidents.tables import incident_changes, incident_timeline, incidents, taskings
from shieldwall.incidents.views import visible_entries
from shieldwall.intel.tables import change_log
from shieldwall.markings import TLP
from shieldwall.policy import Viewer, incident_visible_filter
from shieldwall.selections.service import Selection


@total_ordering
@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader is in the change log (see the module's docstring)."""

    seq: int
    sub: int | None = None  # None: the whole entry has been read

    def __lt__(self, other: Position) -> bool:  # a whole entry read is past any part of it
        return (self.seq, self.sub is None, self.sub or 0) < (
            other.seq, other.sub is None, other.sub or 0
        )  # fmt: skip

    @classmethod
    def parse(cls, text: str) -> Position:
        seq, dot, sub = text.strip().partition(".")
        try:
            position = cls(int(seq), int(sub) if dot else None)
        except ValueError:
            raise Invalid(f"{text!r} is not a stream position (SEQ or SEQ.SUB)") from None
        if position.seq < 0 or (position.sub is not None and position.sub < 0):
            raise Invalid(f"{text!r} is not a stream position (SEQ or SEQ.SUB)")
        if position.seq > 2**62 or (position.sub or 0) > 2**62:
            raise Invalid(f"{text!r} is past any stream position")
        return position

    def __str__(self) -> str:
        return str(self.seq) if self.sub is None else f"{self.seq}.{self.sub}"


@dataclass(frozen=True, slots=True)
class Event:
    position: Position
    kind: str  # object, version, revoked, sighting, correlation, removed, erased, incident
    data: dict[str, Any]
    # The same event as sse() writes it, when made once for every subscriber told of it.
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    def sse(self) -> bytes:
        """The event as Server-Sent Events write it."""
        if self.encoded is not None:
            return self.encoded
        data = orjson.dumps(self.data)
        return b"id: %s\nevent: %s\ndata: %s\n\n" % (
            str(self.position).encode(),
            self.kind.encode(),
            data,
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What a subscriber asked for: a selection (types, TLP ceiling, labels, ...) and, for
    indicators, a minimum score (which depends on the viewer's sightings, so is not SQL)."""

    selection: Selection = field(default_factory=Selection)
    half_lives: dict[str, float] | None = None
    noisy_threshold: int = 50  # as Settings.noisy_threshold: a value this common links nothing

    @property
    def wants_incidents(self) -> bool:
        s = self.selection
        bare = not (s.labels or s.member_kinds or s.sharing_group_id or s.min_score is not None)
        return bare and (not s.types or "incident" in s.types)


def head(db: Database) -> Position:
    """The newest position: a subscriber that gives none starts here (new changes only)."""
    with db.read() as conn:
        return Position(conn.scalar(select(func.max(change_log.c.seq))) or 0)


def incident_events(
    conn: Connection, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
) -> tuple[list[Event], int | None]:
    """Timeline entries of incidents the viewer may see, as the incident's timeline shows them
    to it (an entry about linked intel only when it may see some of that intel): one entry's
    after sub-position `start`, at most `room`, and the last one's id when there are more.
    Incident writes are few, and what a viewer sees of them is its own: read per viewer."""
    visible = select(incidents.c.id).where(incident_visible_filter(viewer, incidents, taskings))
    changed = conn.execute(
        select(incident_changes.c.timeline_id, incident_changes.c.tlp)
        .where(
            incident_changes.c.seq == entry.seq,
            incident_changes.c.timeline_id > start,
            incident_changes.c.incident_id.in_(visible),
            true()
            if filters.selection.max_tlp is None
            else incident_changes.c.tlp <= int(filters.selection.max_tlp),
        )
        .order_by(incident_changes.c.timeline_id)
        .limit(room)
    ).all()
    if not changed:
        return [], None
    more = len(changed) == room
    tlp = {c.timeline_id: c.tlp for c in changed}
    rows = conn.execute(
        select(incident_timeline)
        .where(incident_timeline.c.id.in_(list(tlp)))
        .order_by(incident_timeline.c.id)
    ).all()
    incident_of = {r.id: r.incident_id for r in rows}
    events = [
        Event(
            Position(entry.seq, shown["id"]),
            "incident",
            {
                "id": incident_of[shown["id"]],
                "type": "incident",
                "timeline_id": shown["id"],
                "kind": shown["kind"],
                "tlp": TLP(tlp[shown["id"]]).label,
                "at": shown["at"],
            },
        )
        for shown in visible_entries(conn, viewer, rows)
    ]
    return events, changed[-1].timeline_id if more else None
