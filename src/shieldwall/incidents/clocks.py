"""Response clocks: time to acknowledge, to the first responder accepted, to containment and to
resolution, each against a target per severity that the instance configures.

Every clock starts when the request is filed and stops when what it measures happens (or when
the incident closes without it). Time spent waiting on the requester does not count: the
incident's pauses are subtracted from every clock still running during them. A reading is
computed from stored times and `now`, never kept, so any moment can be read back exactly (and
tested without sleeping); the job in escalation.py only records when it announced a warning or
a breach, so that each is announced once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from shieldwall.incidents.config import CLOCK_MEANINGS, CLOCKS, IncidentConfig
from shieldwall.incidents.tables import incident_clocks, incident_pauses
from shieldwall.incidents.times import parse_stamp, stamp

Pause = tuple[datetime, datetime | None]  # (started, ended or None while waiting)


@dataclass(frozen=True, slots=True)
class ClockReading:
    """One clock of one incident at one moment."""

    clock: str
    target_seconds: int
    elapsed_seconds: int
    # running, warning (past the warning share of its target), breached (past its target),
    # met (stopped within target) or cancelled (the incident closed before it could stop)
    state: str
    paused: bool
    stopped_at: str | None
    due_at: str | None  # when it breaches (or breached) if nothing stops it; None while paused
    warned_at: str | None  # when the platform announced the warning, if it did
    breached_at: str | None  # when the platform announced the breach (escalated), if it did

    @property
    def attention(self) -> bool:
        """Worth a mark on the dashboard: running late or breached."""
        return self.state in ("warning", "breached")

    def as_dict(self) -> dict[str, Any]:
        """The reading as the API shows it."""
        return {
            "clock": self.clock,
            "meaning": CLOCK_MEANINGS[self.clock],
            "target_seconds": self.target_seconds,
            "elapsed_seconds": self.elapsed_seconds,
            "remaining_seconds": max(0, self.target_seconds - self.elapsed_seconds),
            "state": self.state,
            "paused": self.paused,
            "stopped_at": self.stopped_at,
            "due_at": self.due_at,
            "warned_at": self.warned_at,
            "escalated_at": self.breached_at,
        }


def _paused_seconds(pauses: Iterable[Pause], start: datetime, end: datetime) -> float:
    total = 0.0
    for began, ended in pauses:
        lo, hi = max(began, start), min(ended or end, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def read_clock(
    row: Any, filed_at: datetime, pauses: Sequence[Pause], now: datetime, warn_at: float
) -> ClockReading:
    """The reading of the stored clock `row` at `now`."""
    stopped = parse_stamp(row.stopped_at) if row.stopped_at else None
    end = stopped or now
    elapsed = max(0.0, (end - filed_at).total_seconds() - _paused_seconds(pauses, filed_at, end))
    target = row.target_seconds
    paused = stopped is None and any(ended is None and began <= end for began, ended in pauses)
    if stopped is not None:
        if elapsed > target:
            state = "breached"
        else:
            state = "met" if row.stopped_by == "event" else "cancelled"
    elif elapsed > target:
        state = "breached"
    elif elapsed >= warn_at * target:
        state = "warning"
    else:
        state = "running"
    due_at = None
    if stopped is None and not paused:
        due_at = stamp(now + timedelta(seconds=target - elapsed))
    return ClockReading(
        row.clock,
        target,
        int(elapsed),
        state,
        paused,
        row.stopped_at,
        due_at,
        row.warned_at,
        row.breached_at,
    )


def pauses_of(conn: Connection, incident_ids: Sequence[str]) -> dict[str, list[Pause]]:
    """Each incident's spans of waiting on the requester."""
    found: dict[str, list[Pause]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    rows = conn.execute(
        select(incident_pauses).where(incident_pauses.c.incident_id.in_(list(incident_ids)))
    )
    for r in rows:
        ended = parse_stamp(r.ended_at) if r.ended_at else None
        found[r.incident_id].append((parse_stamp(r.started_at), ended))
    return found


def readings(
    conn: Connection, incidents_rows: Sequence[Any], now: datetime, warn_at: float
) -> dict[str, list[ClockReading]]:
    """Every clock of these incidents at `now`, in CLOCKS order, incident by incident."""
    ids = [r.id for r in incidents_rows]
    found: dict[str, list[ClockReading]] = {i: [] for i in ids}
    if not ids:
        return found
    pauses = pauses_of(conn, ids)
    filed = {r.id: parse_stamp(r.filed_at) for r in incidents_rows}
    rows = conn.execute(select(incident_clocks).where(incident_clocks.c.incident_id.in_(ids)))
    for row in rows:
        found[row.incident_id].append(
            read_clock(row, filed[row.incident_id], pauses[row.incident_id], now, warn_at)
        )
    for clocks in found.values():
        clocks.sort(key=lambda c: CLOCKS.index(c.clock))
    return found


def start(conn: Connection, incident_id: str, severity: str, config: IncidentConfig) -> None:
    """The incident's four clocks, running from its filing."""
    conn.execute(
        incident_clocks.insert(),
        [
            {"incident_id": incident_id, "clock": c, "target_seconds": config.target(c, severity)}
            for c in CLOCKS
        ],
    )


def stop(
    conn: Connection, incident_id: str, clocks: Iterable[str], now: datetime, by: str = "event"
) -> list[str]:
    """Stop these clocks if they still run; the ones this stopped."""
    stopped = []
    for clock in clocks:
        changed = conn.execute(
            update(incident_clocks)
            .where(
                incident_clocks.c.incident_id == incident_id,
                incident_clocks.c.clock == clock,
                incident_clocks.c.stopped_at.is_(None),
            )
            .values(stopped_at=stamp(now), stopped_by=by)
        ).rowcount
        if changed:
            stopped.append(clock)
    return stopped


def retarget(conn: Connection, incident_id: str, severity: str, config: IncidentConfig) -> None:
    """A new severity gives the clocks still running its targets; what was announced under
    the old ones may be announced again if the new ones are reached."""
    for clock in CLOCKS:
        conn.execute(
            update(incident_clocks)
            .where(
                incident_clocks.c.incident_id == incident_id,
                incident_clocks.c.clock == clock,
                incident_clocks.c.stopped_at.is_(None),
            )
            .values(target_seconds=config.target(clock, severity), warned_at=None, breached_at=None)
        )


def pause(conn: Connection, incident_id: str, now: datetime) -> None:
    """Start waiting on the requester: every running clock stands still from `now`."""
    conn.execute(incident_pauses.insert().values(incident_id=incident_id, started_at=stamp(now)))


def unpause(conn: Connection, incident_id: str, now: datetime) -> None:
    """Stop waiting on the requester: the clocks run again from `now`."""
    conn.execute(
        update(incident_pauses)
        .where(incident_pauses.c.incident_id == incident_id, incident_pauses.c.ended_at.is_(None))
        .values(ended_at=stamp(now))
    )


def describe_seconds(seconds: float) -> str:
    """A duration as people read it on a timeline: '3d 4h', '45m', '30s'."""
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
