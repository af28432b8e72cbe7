"""The change log read as events, for one viewer, through the one policy.

Every accepted write is one change-log entry (intel/tables.py `change_log`); an ingest's entry
covers the object versions first_pk..last_pk, a removal's or an erasure's the versions in
`change_objects`, an incident write's the timeline entries in `incident_changes`. A reader
turns them into events one object version (or timeline entry) at a time, keeping only what the
viewer may see (policy.visible_filter, policy.incident_visible_filter and the incident
timeline's own rule for linked intel) and what its selection lets through (selections), so a
subscriber never learns of a change to something it may not see, not even its id.

A position is `SEQ` (everything of entry SEQ has been read) or `SEQ.SUB` (entry SEQ has been
read up to its object pk or timeline id SUB): an event's id is its position, so resuming from
the last id a client saw gives exactly what came after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, true

from shieldwall.correlate.index import CONTAINER_TYPES
from shieldwall.correlate.service import new_correlations
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.incidents.tables import incident_changes, incident_timeline, incidents, taskings
from shieldwall.incidents.views import visible_entries
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.markings import TLP
from shieldwall.policy import Viewer, incident_visible_filter, visible_filter
from shieldwall.selections.service import Selection
from shieldwall.sightings.service import IndicatorRow, scores_of

ENTRIES_PER_READ = 200  # change-log entries looked at by one read
_OBJECT_ACTIONS = frozenset({"ingest", "identity"})
_REMOVAL_ACTIONS = {"remove": "removed", "erase": "erased"}


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a reader is in the change log (see the module's docstring)."""

    seq: int
    sub: int | None = None  # None: the whole entry has been read

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

    def sse(self) -> bytes:
        """The event as Server-Sent Events write it."""
        data = orjson.dumps(self.data).decode()
        return f"id: {self.position}\nevent: {self.kind}\ndata: {data}\n\n".encode()


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


def read(
    db: Database, viewer: Viewer, after: Position, filters: Filters, limit: int
) -> tuple[list[Event], Position]:
    """Up to `limit` events after `after` that `viewer` may see, and the position read up to
    (which may be past the last event: entries it may not see are passed over)."""
    events: list[Event] = []
    position = after
    with db.read() as conn:
        entries = conn.execute(
            select(change_log)
            .where(change_log.c.seq >= after.seq)
            .order_by(change_log.c.seq)
            .limit(ENTRIES_PER_READ)
        ).all()
        for entry in entries:
            if entry.seq == after.seq and after.sub is None:
                continue
            start = after.sub if entry.seq == after.seq and after.sub is not None else -1
            got, stopped_at = _entry_events(
                conn, viewer, entry, start, filters, limit - len(events)
            )
            events += got
            if stopped_at is not None:  # the entry has more than fitted
                return events, Position(entry.seq, stopped_at)
            position = Position(entry.seq)
            if len(events) >= limit:
                break
    return events, position


def _entry_events(
    conn: Connection, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
) -> tuple[list[Event], int | None]:
    """The events of one change-log entry after sub-position `start`, at most `room` rows
    looked at; the sub-position of the last row looked at when the entry has more."""
    if entry.action in _OBJECT_ACTIONS and entry.first_pk is not None:
        return _object_events(conn, viewer, entry, start, filters, room)
    if entry.action in _REMOVAL_ACTIONS:
        return _removal_events(conn, viewer, entry, start, filters, room)
    if entry.action == "incident" and filters.wants_incidents:
        return _incident_events(conn, viewer, entry, start, filters, room)
    return [], None


def _object_events(
    conn: Connection, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
) -> tuple[list[Event], int | None]:
    selection = filters.selection
    rows = conn.execute(
        select(
            objects.c.pk, objects.c.object_id, objects.c.type, objects.c.modified, objects.c.tlp,
            objects.c.revoked, objects.c.confidence,
        )
        .where(
            objects.c.pk.between(max(entry.first_pk, start + 1), entry.last_pk),
            visible_filter(viewer, objects),
            selection.where(objects),
        )
        .order_by(objects.c.pk)
        .limit(room)
    ).all()  # fmt: skip
    stopped_at = rows[-1].pk if len(rows) == room and rows[-1].pk < entry.last_pk else None
    if selection.min_score is not None:
        rows = _scoring_at_least(conn, viewer, rows, selection.min_score, filters.half_lives)
    earlier = _with_earlier_versions(conn, viewer, rows)
    linked = _correlations(conn, viewer, rows, filters.noisy_threshold)
    events = []
    for r in rows:
        if r.type == "sighting":
            kind = "sighting"
        elif r.revoked:
            kind = "revoked"
        elif r.object_id in earlier:
            kind = "version"
        else:
            kind = "object"
        data = {"id": r.object_id, "type": r.type, "modified": r.modified or None,
                "tlp": TLP(r.tlp).label, "change": kind, "at": entry.at}  # fmt: skip
        events.append(Event(Position(entry.seq, r.pk), kind, data))
        if r.pk in linked:
            # A new correlation follows its object's event under the same id, so resuming after
            # that id never splits the two.
            data = {"id": r.object_id, "type": r.type, "tlp": TLP(r.tlp).label,
                    "change": "correlation", "correlated_with": linked[r.pk],
                    "at": entry.at}  # fmt: skip
            events.append(Event(Position(entry.seq, r.pk), "correlation", data))
    return events, stopped_at


def _correlations(
    conn: Connection, viewer: Viewer, rows: list[Any], noisy_threshold: int
) -> dict[int, list[dict[str, str]]]:
    """Object pk -> the other visible objects its new version shares a value with (containers,
    sightings and revocations correlate nothing: the objects they name do)."""
    pks = [
        r.pk for r in rows
        if not r.revoked and r.type != "sighting" and r.type not in CONTAINER_TYPES
    ]  # fmt: skip
    if not pks:
        return {}
    versions = conn.execute(
        select(objects.c.pk, objects.c.object_id, objects.c.body).where(objects.c.pk.in_(pks))
    ).all()
    return new_correlations(
        conn, viewer, [tuple(v) for v in versions], noisy_threshold=noisy_threshold
    )


def _scoring_at_least(
    conn: Connection, viewer: Viewer, rows: list[Any], least: float, half_lives: Any
) -> list[Any]:
    """Indicators scoring at least `least` for this viewer; other objects have no score and are
    left out, as from a blocklist with `min_score`."""
    indicators = [
        IndicatorRow(r.pk, r.object_id, r.modified, r.confidence) for r in rows
        if r.type == "indicator"
    ]  # fmt: skip
    if not indicators:
        return []
    scores = scores_of(conn, viewer, indicators, half_lives or {}, now=datetime.now(UTC))
    return [r for r in rows if r.pk in scores and scores[r.pk]["score"] >= least]


def _with_earlier_versions(conn: Connection, viewer: Viewer, rows: list[Any]) -> set[str]:
    """Which of these objects had a version before, among the versions the viewer may see."""
    if not rows:
        return set()
    ids = sorted({r.object_id for r in rows})
    return set(
        conn.scalars(
            select(objects.c.object_id)
            .where(
                objects.c.object_id.in_(ids),
                objects.c.pk < rows[0].pk,
                visible_filter(viewer, objects),
            )
            .distinct()
        )
    )


def _removal_events(
    conn: Connection, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
) -> tuple[list[Event], int | None]:
    selection, c = filters.selection, change_objects.c
    query = select(change_objects).where(
        c.seq == entry.seq, c.pk > start, visible_filter(viewer, change_objects)
    )
    if selection.max_tlp is not None:
        query = query.where(c.tlp <= int(selection.max_tlp))
    rows = conn.execute(query.order_by(c.pk).limit(room)).all()
    stopped_at = rows[-1].pk if len(rows) == room else None
    kind = _REMOVAL_ACTIONS[entry.action]
    events = []
    for r in rows:
        type_ = r.object_id.partition("--")[0]
        if selection.types and type_ not in selection.types:
            continue
        data = {"id": r.object_id, "type": type_, "modified": r.modified or None,
                "tlp": TLP(r.tlp).label, "change": kind, "at": entry.at}  # fmt: skip
        events.append(Event(Position(entry.seq, r.pk), kind, data))
    return events, stopped_at


def _incident_events(
    conn: Connection, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
) -> tuple[list[Event], int | None]:
    """Timeline entries of incidents the viewer may see, as the incident's timeline shows them
    to it (an entry about linked intel only when it may see some of that intel)."""
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
