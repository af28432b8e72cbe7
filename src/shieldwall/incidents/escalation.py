"""The clock job: warn before a clock breaches, escalate when it does, expire taskings nobody
answered in time (moving each to the next in rank), and announce tasks past due.

Run by the scheduler (jobs.py) as the job "incident-clocks", on exactly one node at a time,
every minute, with `now` from the app's incident clock; tests call `run` with any `now`. Each
announcement is recorded on the clock, tasking or task it is about, in the same transaction as
its timeline entry and change-log entry (the stream and webhooks read those), so running twice
at one moment, or on a second node after a crash, announces nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from shieldwall.db import Database
from shieldwall.incidents import clocks
from shieldwall.incidents.config import IncidentConfig
from shieldwall.incidents.tables import incident_clocks, incident_tasks, incidents, taskings
from shieldwall.incidents.taskings import expire
from shieldwall.incidents.timeline import IncidentWrite, incident_write
from shieldwall.incidents.times import stamp

JOB_NAME = "incident-clocks"
EVERY_SECONDS = 60.0


@dataclass(slots=True)
class Run:
    """What one run did: the tests' handle, and the log's."""

    warnings: int = 0
    breaches: int = 0
    expired: int = 0
    overdue: int = 0


def _announce_clocks(write: IncidentWrite, row: Any, config: IncidentConfig, run: Run) -> None:
    for reading in clocks.readings(write.conn, [row], write.now, config.warn_at)[row.id]:
        if not _needs_announcing(reading):
            continue
        target = clocks.describe_seconds(reading.target_seconds)
        where = (incident_clocks.c.incident_id == row.id) & (
            incident_clocks.c.clock == reading.clock
        )
        detail = {
            "clock": reading.clock,
            "target_seconds": reading.target_seconds,
            "elapsed_seconds": reading.elapsed_seconds,
        }
        if reading.state == "breached" and reading.breached_at is None:
            write.conn.execute(
                update(incident_clocks)
                .where(where)
                .values(breached_at=write.at, warned_at=reading.warned_at or write.at)
            )
            write.entry(
                row.id,
                row.tlp,
                "clock-breach",
                f"ESCALATED: the {reading.clock} clock "
                f"breached its {target} target ({row.severity})",
                detail,
                by_platform=True,
            )
            run.breaches += 1
        elif reading.state == "warning" and reading.warned_at is None:
            write.conn.execute(update(incident_clocks).where(where).values(warned_at=write.at))
            left = clocks.describe_seconds(reading.target_seconds - reading.elapsed_seconds)
            write.entry(
                row.id,
                row.tlp,
                "clock-warning",
                f"The {reading.clock} clock has {left} "
                f"left of its {target} target ({row.severity})",
                detail,
                by_platform=True,
            )
            run.warnings += 1


def _needs_announcing(reading: clocks.ClockReading) -> bool:
    if reading.stopped_at is not None or reading.paused:
        return False
    return (reading.state == "breached" and reading.breached_at is None) or (
        reading.state == "warning" and reading.warned_at is None
    )


def run(db: Database, config: IncidentConfig, now: datetime) -> Run:
    """One pass over every open incident at `now`. Reads first, and writes only where there
    is something to announce (checked again inside the write)."""
    done = Run()
    at = stamp(now)
    with db.read() as conn:
        open_rows = conn.execute(select(incidents).where(incidents.c.status != "closed")).all()
        late = [
            incident_id
            for incident_id, readings in clocks.readings(
                conn, open_rows, now, config.warn_at
            ).items()
            if any(_needs_announcing(r) for r in readings)
        ]
        due = list(
            conn.scalars(
                select(taskings.c.id).where(taskings.c.state == "tasked", taskings.c.answer_by < at)
            )
        )
        overdue = list(
            conn.scalars(
                select(incident_tasks.c.id).where(
                    incident_tasks.c.status == "open",
                    incident_tasks.c.due_at < at,
                    incident_tasks.c.overdue_at.is_(None),
                )
            )
        )
    for incident_id in late:
        with incident_write(db, None, now, "incident.clocks", quiet=True) as write:
            row = write.conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
            if row.status != "closed":
                _announce_clocks(write, row, config, done)
    for tasking_id in due:
        with incident_write(db, None, now, "incident.tasking-expired", quiet=True) as write:
            tasking = write.conn.execute(select(taskings).where(taskings.c.id == tasking_id)).one()
            row = write.conn.execute(
                select(incidents).where(incidents.c.id == tasking.incident_id)
            ).one()
            if tasking.state == "tasked" and row.status != "closed":
                expire(write, row, tasking, config)
                done.expired += 1
    for task_id in overdue:
        with incident_write(db, None, now, "incident.task-overdue", quiet=True) as write:
            task = write.conn.execute(
                select(incident_tasks).where(incident_tasks.c.id == task_id)
            ).one()
            row = write.conn.execute(
                select(incidents).where(incidents.c.id == task.incident_id)
            ).one()
            if task.status == "open" and task.overdue_at is None and row.status != "closed":
                write.conn.execute(
                    update(incident_tasks)
                    .where(incident_tasks.c.id == task_id)
                    .values(overdue_at=write.at)
                )
                flag = "mandatory task" if task.mandatory else "task"
                write.entry(
                    row.id,
                    row.tlp,
                    "task-overdue",
                    f"The {flag} {task.title!r} is past its due time ({task.due_at})",
                    {"task_id": task_id},
                    by_platform=True,
                )
                done.overdue += 1
    return done
