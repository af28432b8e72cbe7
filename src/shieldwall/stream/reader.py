"""The change log read once per process for every subscriber, and filtered per subscriber.

A hundred subscribers each running their own policy-filtered queries for every batch of changes
made ~1,000 queries a second at 500 objects a second, and their p99 a second and more. Here one
reader per process reads each piece of the change log once: the entries, and for each entry its
object versions in chunks of CHUNK_PKS, with the columns the access policy and selections look
at, the earlier versions of the same objects, and every object that may correlate with them.
Each subscriber's events are then made in memory: `policy.may_see` (which the property test in
tests/test_policy.py holds equal to the SQL filter every other path uses) and
`Selection.admits` decide what it is told, so it still never learns of a change to something
it may not see, not even its id. Only what depends on the subscriber's own data goes back to
the database: indicator scores (its sightings) for a `min_score`, incident timelines, and
correlations of a value held by so many objects that which of them it may see decides.

What is kept is small and short-lived: the last TAIL_ENTRIES change-log entries and the last
CHUNKS_KEPT chunks. A removal or erasure empties the chunks, so a subscriber reading from before
it afterwards reads what the database holds then, as a reader of its own would.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, select

from shieldwall.correlate.index import CONTAINER_TYPES
from shieldwall.correlate.new_links import (
    Candidates,
    correlation_candidates,
    correlations_seen_by,
    new_correlations,
)
from shieldwall.db import Database
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.markings import TLP
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, may_see
from shieldwall.selections.service import Selection
from shieldwall.sightings.service import IndicatorRow, scores_of
from shieldwall.stream.events import Event, Filters, Position, incident_events
from shieldwall.stream.feed import ChangeFeed

ENTRIES_PER_READ = 200  # change-log entries one read looks at
TAIL_ENTRIES = 2_000  # the newest entries kept for subscribers that are up to date
CHUNK_PKS = 1_000  # object versions (by pk) read, and kept, as one piece
CHUNKS_KEPT = 64
_OBJECT_ACTIONS = frozenset({"ingest", "identity"})
_REMOVAL_ACTIONS = {"remove": "removed", "erase": "erased"}
_TLP_LABEL = {int(t): t.label for t in TLP}
_EVERYTHING = Selection()


class _Version(NamedTuple):
    """An object version as the stream needs it: what events say, what the policy and
    selections look at."""

    pk: int
    object_id: str
    type: str
    modified: str
    revoked: bool
    confidence: int | None
    member_id: str  # member_id..tlp: all the policy looks at (_POLICY)
    distribution: str
    sharing_group_id: str | None
    tlp: int
    anonymous: bool
    labels: str | None
    date_added: str

    def __getitem__(self, key: Any) -> Any:  # may_see and Selection.admits read rows by name
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


_POLICY = slice(6, 10)
_VERSION_COLUMNS = tuple(getattr(objects.c, name) for name in _Version._fields)
_EARLIER_COLUMNS = (
    objects.c.pk, objects.c.object_id, objects.c.member_id, objects.c.distribution,
    objects.c.tlp, objects.c.sharing_group_id,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One entry's object versions first_pk..last_pk (removal rows for a removal entry)."""

    last_pk: int
    rows: list[Any]  # _Version, or change_objects rows for a removal
    earlier: dict[str, list[dict[str, Any]]]  # object_id -> its versions before the last row
    candidates: Candidates | None  # what the rows may correlate with; None: ask per viewer
    linkable: list[tuple[int, str, str]]  # (pk, object_id, body) of rows that may correlate
    # (pk, kind) -> the event as sent: most events are the same for every subscriber told of it
    encoded: dict[tuple[int, str], Event] = field(default_factory=dict)


class ChangeReader:
    """Reads the change log for all of a process's subscribers (see the module's docstring).

    With a `feed`, the newest entries are read again only after it has woken up: a hundred
    subscribers woken by one write make one query of the change log, not a hundred."""

    def __init__(self, db: Database, feed: ChangeFeed | None = None) -> None:
        self._db = db
        self._feed = feed
        self._lock = threading.Lock()
        self._tail: list[Any] = []  # the newest change-log entries, by seq
        self._tail_after: int | None = None  # the tail holds every entry after this seq
        self._tail_generation: int | None = None  # the feed's generation when it was read
        self._chunks: OrderedDict[tuple[int, int], _Chunk] = OrderedDict()

    def read(
        self, viewer: Viewer, after: Position, filters: Filters, limit: int
    ) -> tuple[list[Event], Position]:
        """Up to `limit` events after `after` that `viewer` may see, and the position read up
        to (which may be past the last event: entries it may not see are passed over)."""
        events: list[Event] = []
        position = after
        for entry in self._entries(after):
            if entry.seq == after.seq and after.sub is None:
                continue
            start = after.sub if entry.seq == after.seq and after.sub is not None else -1
            got, stopped_at = self._entry_events(viewer, entry, start, filters, limit - len(events))
            events += got
            if stopped_at is not None:  # the entry has more than fitted
                return events, Position(entry.seq, stopped_at)
            position = Position(entry.seq)
            if len(events) >= limit:
                break
        return events, position

    def _entries(self, after: Position) -> list[Any]:
        """The change-log entries from `after.seq` on (it too: part of it may be left)."""
        with self._lock:
            if self._tail_after is None:
                with self._db.read() as conn:
                    self._tail_after = conn.scalar(select(func.max(change_log.c.seq))) or 0
            if self._in_tail(after):
                generation = self._feed.generation if self._feed is not None else None
                if generation is None or generation != self._tail_generation:
                    self._tail_generation = None
                    while self._in_tail(after) and len(self._tail_from(after)) < ENTRIES_PER_READ:
                        if self._grow_tail():
                            self._tail_generation = generation
                            break
                if self._in_tail(after):  # (growing drops the oldest)
                    return self._tail_from(after)
        with self._db.read() as conn:  # a subscriber catching up from further back
            return conn.execute(
                select(change_log)
                .where(change_log.c.seq >= after.seq)
                .order_by(change_log.c.seq)
                .limit(ENTRIES_PER_READ)
            ).all()

    def _in_tail(self, after: Position) -> bool:
        """Does the tail hold every entry a reader at `after` has yet to read?"""
        assert self._tail_after is not None
        return after.seq > self._tail_after or (after.seq == self._tail_after and after.sub is None)

    def _tail_from(self, after: Position) -> list[Any]:
        first = bisect.bisect_left(self._tail, after.seq, key=lambda e: e.seq)
        return self._tail[first : first + ENTRIES_PER_READ]

    def _grow_tail(self) -> bool:
        """Read entries after the tail's newest; whether that was all there is (True), or
        there may be more than one read takes."""
        newest = self._tail[-1].seq if self._tail else self._tail_after
        with self._db.read() as conn:
            new = conn.execute(
                select(change_log)
                .where(change_log.c.seq > newest)
                .order_by(change_log.c.seq)
                .limit(TAIL_ENTRIES)
            ).all()
        self._tail += new
        if any(e.action in _REMOVAL_ACTIONS for e in new):
            self._chunks.clear()  # what they removed or rewrote is read afresh
        if len(self._tail) > TAIL_ENTRIES:
            dropped = len(self._tail) - TAIL_ENTRIES
            self._tail_after = self._tail[dropped - 1].seq
            del self._tail[:dropped]
        return len(new) < TAIL_ENTRIES

    def _entry_events(
        self, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
    ) -> tuple[list[Event], int | None]:
        """The events of one entry after sub-position `start`, at most `room` rows taken; the
        sub-position of the last row taken when the entry has more."""
        if entry.action in _OBJECT_ACTIONS and entry.first_pk is not None:
            return self._object_events(viewer, entry, start, filters, room)
        if entry.action in _REMOVAL_ACTIONS:
            return self._removal_events(viewer, entry, start, filters, room)
        if entry.action == "incident" and filters.wants_incidents:
            with self._db.read() as conn:
                return incident_events(conn, viewer, entry, start, filters, room)
        return [], None

    def _object_events(
        self, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
    ) -> tuple[list[Event], int | None]:
        selection = filters.selection
        selecting = selection != _EVERYTHING
        kinds = self._member_kinds() if selection.member_kinds else {}
        taken: list[tuple[_Version, _Chunk]] = []
        chunks: list[_Chunk] = []
        seen: dict[tuple[Any, ...], bool] = {}  # a marking's answer, asked once per read
        low = max(entry.first_pk, start + 1)
        stopped_at = None
        while low <= entry.last_pk and stopped_at is None:
            chunk = self._object_chunk(entry, low)
            chunks.append(chunk)
            for r in chunk.rows:
                if r.pk < low:
                    continue
                marking = r[_POLICY]
                visible = seen.get(marking)
                if visible is None:
                    visible = seen[marking] = may_see(viewer, r)
                if not visible or (selecting and not selection.admits(r, kinds.get(r.member_id))):
                    continue
                taken.append((r, chunk))
                if len(taken) == room:
                    if r.pk < entry.last_pk:
                        stopped_at = r.pk
                    break
            low = chunk.last_pk + 1
        if selection.min_score is not None:
            taken = self._scoring_at_least(viewer, taken, selection.min_score, filters)
        linked = self._correlations(viewer, chunks, {r.pk for r, _ in taken}, filters)
        events = []
        for r, chunk in taken:
            if r.type == "sighting":
                kind = "sighting"
            elif r.revoked:
                kind = "revoked"
            elif any(
                v["pk"] < r.pk and may_see(viewer, v) for v in chunk.earlier.get(r.object_id, ())
            ):
                kind = "version"
            else:
                kind = "object"
            event = chunk.encoded.get((r.pk, kind))
            if event is None:
                data = {"id": r.object_id, "type": r.type, "modified": r.modified or None,
                        "tlp": _TLP_LABEL[r.tlp], "change": kind, "at": entry.at}  # fmt: skip
                event = Event(Position(entry.seq, r.pk), kind, data)
                event = chunk.encoded[(r.pk, kind)] = replace(event, encoded=event.sse())
            events.append(event)
            if r.pk in linked:
                # A new correlation follows its object's event under the same id, so resuming
                # after that id never splits the two.
                data = {"id": r.object_id, "type": r.type, "tlp": _TLP_LABEL[r.tlp],
                        "change": "correlation", "correlated_with": linked[r.pk],
                        "at": entry.at}  # fmt: skip
                events.append(Event(event.position, "correlation", data))
        return events, stopped_at

    def _object_chunk(self, entry: Any, low: int) -> _Chunk:
        """The chunk of `entry` holding pk `low`, read once for every subscriber."""
        first = entry.first_pk + (low - entry.first_pk) // CHUNK_PKS * CHUNK_PKS
        key = (entry.seq, first)
        with self._lock:
            chunk = self._chunks.get(key)
            if chunk is not None:
                self._chunks.move_to_end(key)
                return chunk
            last = min(first + CHUNK_PKS - 1, entry.last_pk)
            with self._db.read() as conn:
                chunk = _read_object_chunk(conn, first, last)
            self._keep(key, chunk)
            return chunk

    def _member_kinds(self) -> dict[str, str]:
        with self._db.read() as conn:
            return dict(conn.execute(select(members.c.id, members.c.kind)).all())

    def _keep(self, key: tuple[int, int], chunk: _Chunk) -> None:
        self._chunks[key] = chunk
        while len(self._chunks) > CHUNKS_KEPT:
            self._chunks.popitem(last=False)

    def _correlations(
        self, viewer: Viewer, chunks: Sequence[_Chunk], pks: set[int], filters: Filters
    ) -> dict[int, list[dict[str, str]]]:
        linked: dict[int, list[dict[str, str]]] = {}
        for chunk in chunks:
            if not any(pk in pks for pk, _, _ in chunk.linkable):
                continue
            if chunk.candidates is not None:
                found = correlations_seen_by(
                    viewer, chunk.candidates, noisy_threshold=filters.noisy_threshold
                )
            else:  # values too common to read for everyone: which of them it sees decides
                versions = [v for v in chunk.linkable if v[0] in pks]
                with self._db.read() as conn:
                    found = new_correlations(
                        conn, viewer, versions, noisy_threshold=filters.noisy_threshold
                    )
            linked.update((pk, links) for pk, links in found.items() if pk in pks)
        return linked

    def _scoring_at_least(
        self, viewer: Viewer, rows: list[tuple[_Version, _Chunk]], least: float, filters: Filters
    ) -> list[tuple[_Version, _Chunk]]:
        """Indicators scoring at least `least` for this viewer (its sightings count); other
        objects have no score and are left out, as from a blocklist with `min_score`."""
        indicators = [
            IndicatorRow(r.pk, r.object_id, r.modified, r.confidence) for r, _ in rows
            if r.type == "indicator"
        ]  # fmt: skip
        if not indicators:
            return []
        with self._db.read() as conn:
            scores = scores_of(
                conn, viewer, indicators, filters.half_lives or {}, now=datetime.now(UTC)
            )
        return [(r, c) for r, c in rows if r.pk in scores and scores[r.pk]["score"] >= least]

    def _removal_events(
        self, viewer: Viewer, entry: Any, start: int, filters: Filters, room: int
    ) -> tuple[list[Event], int | None]:
        selection = filters.selection
        with self._lock:
            key = (entry.seq, -1)
            chunk = self._chunks.get(key)
            if chunk is None:
                with self._db.read() as conn:
                    rows = conn.execute(
                        select(change_objects)
                        .where(change_objects.c.seq == entry.seq)
                        .order_by(change_objects.c.pk)
                    ).all()
                chunk = _Chunk(rows[-1].pk if rows else -1, rows, {}, None, [])
                self._keep(key, chunk)
        kind = _REMOVAL_ACTIONS[entry.action]
        events: list[Event] = []
        taken = 0
        for r in chunk.rows:
            if r.pk <= start or not may_see(viewer, r._mapping):
                continue
            if selection.max_tlp is not None and r.tlp > int(selection.max_tlp):
                continue
            taken += 1
            type_ = r.object_id.partition("--")[0]
            if not selection.types or type_ in selection.types:
                data = {"id": r.object_id, "type": type_, "modified": r.modified or None,
                        "tlp": _TLP_LABEL[r.tlp], "change": kind, "at": entry.at}  # fmt: skip
                events.append(Event(Position(entry.seq, r.pk), kind, data))
            if taken == room:
                return events, r.pk
        return events, None


def _read_object_chunk(conn: Connection, first: int, last: int) -> _Chunk:
    rows = [
        _Version(*r)
        for r in conn.execute(
            select(*_VERSION_COLUMNS)
            .where(objects.c.pk.between(first, last))
            .order_by(objects.c.pk)
        )
    ]  # fmt: skip
    earlier: dict[str, list[dict[str, Any]]] = {}
    if rows:
        ids = sorted({r.object_id for r in rows})
        for v in conn.execute(
            select(*_EARLIER_COLUMNS).where(objects.c.object_id.in_(ids), objects.c.pk < last)
        ):
            earlier.setdefault(v.object_id, []).append(dict(v._mapping))
    linkable_pks = [
        r.pk for r in rows
        if not r.revoked and r.type != "sighting" and r.type not in CONTAINER_TYPES
    ]  # fmt: skip
    linkable: list[tuple[int, str, str]] = []
    candidates = None
    if linkable_pks:
        linkable = [
            tuple(v)
            for v in conn.execute(
                select(objects.c.pk, objects.c.object_id, objects.c.body)
                .where(objects.c.pk.in_(linkable_pks))
            )
        ]  # fmt: skip
        candidates = correlation_candidates(conn, linkable)
    return _Chunk(last, rows, earlier, candidates, linkable)
