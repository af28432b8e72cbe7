"""The work of a response: tasks with owners (members and users), due times and a mandatory
flag, and notes people write on the timeline.

The coordinator gives tasks to any member taking part; every other participant adds tasks for
its own member. A task's owner member (and the coordinator) mark it done or reopen it; only the
coordinator cancels a mandatory task, since a mandatory task is what the incident may not be
resolved without. The clock job announces a task once when it is past due.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.incidents.evidence import participants
from shieldwall.incidents.tables import incident_tasks
from shieldwall.incidents.timeline import incident_write
from shieldwall.incidents.times import stamp
from shieldwall.incidents.views import member_names
from shieldwall.members.tables import users
from shieldwall.policy import Viewer, may_coordinate_incident

TASK_STATUSES = ("open", "done", "cancelled")
UNCHANGED: Any = object()  # a field PATCH did not send (None there means "clear it")


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(
        f"{field_name}: {message}", details=[{"property": field_name, "message": message}]
    )


@dataclass(frozen=True, slots=True)
class TaskIn:
    """A task as it is given."""

    title: str
    description: str = ""
    owner_member_id: str | None = None  # None: the writer's member
    owner_user_id: str | None = None
    due_at: datetime | None = None
    mandatory: bool = False


@dataclass(frozen=True, slots=True)
class TaskChange:
    """What a task update changes."""

    status: str | None = None
    due_at: Any = UNCHANGED  # datetime, None to clear, or UNCHANGED
    owner_user_id: Any = UNCHANGED


def _owner_user(conn: Any, member_id: str, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    found = conn.scalar(select(users.c.member_id).where(users.c.id == user_id))
    if found != member_id:
        raise _invalid("owner_user_id", "not a user of the owning member")
    return user_id


def add_task(
    db: Any, viewer: Viewer, incident_id: str, item: TaskIn, now: datetime
) -> dict[str, Any]:
    """Give a task to a member taking part (see the module docstring for who may)."""
    from shieldwall.incidents.service import writable_incident

    title = item.title.strip()
    if not title or len(title) > 300:
        raise _invalid("title", "between 1 and 300 characters")
    if len(item.description) > 20_000:
        raise _invalid("description", "at most 20,000 characters")
    task_id = str(uuid.uuid4())
    with incident_write(db, viewer, now, "incident.task-add") as write:
        conn = write.conn
        row = writable_incident(conn, viewer, incident_id)
        owner = item.owner_member_id or viewer.member_id
        if owner not in participants(conn, row):
            raise _invalid("owner_member_id", "not a member taking part in this incident")
        if owner != viewer.member_id and not may_coordinate_incident(viewer, row._mapping):
            raise Forbidden("only the coordinator gives tasks to other members")
        conn.execute(
            incident_tasks.insert().values(
                id=task_id,
                incident_id=incident_id,
                title=title,
                description=item.description.strip(),
                owner_member_id=owner,
                owner_user_id=_owner_user(conn, owner, item.owner_user_id),
                due_at=stamp(item.due_at) if item.due_at else None,
                mandatory=item.mandatory,
                status="open",
                created_at=write.at,
                created_by_user_id=viewer.user_id,
            )
        )
        name = member_names(conn, [owner])[owner]
        flags = ", mandatory" if item.mandatory else ""
        due = f", due {stamp(item.due_at)}" if item.due_at else ""
        write.entry(
            incident_id,
            row.tlp,
            "task",
            f"Task for {name}{due}{flags}: {title}",
            {"task_id": task_id},
        )
        write.detail = {"task": task_id}
    return {"id": task_id}


def update_task(
    db: Any, viewer: Viewer, incident_id: str, task_id: str, change: TaskChange, now: datetime
) -> dict[str, Any]:
    """Mark a task done, cancelled or open again, or change its due time or user."""
    from shieldwall.incidents.service import writable_incident

    if change.status is not None and change.status not in TASK_STATUSES:
        raise _invalid("status", f"{change.status!r} is not one of {', '.join(TASK_STATUSES)}")
    with incident_write(db, viewer, now, "incident.task-update") as write:
        conn = write.conn
        row = writable_incident(conn, viewer, incident_id)
        task = conn.execute(
            select(incident_tasks).where(
                incident_tasks.c.id == task_id, incident_tasks.c.incident_id == incident_id
            )
        ).first()
        if task is None:
            raise NotFound("no such task in this incident")
        coordinating = may_coordinate_incident(viewer, row._mapping)
        if viewer.member_id != task.owner_member_id and not coordinating:
            raise Forbidden("only the task's owner member and the coordinator change a task")
        values: dict[str, Any] = {}
        if change.status is not None and change.status != task.status:
            if change.status == "cancelled" and task.mandatory and not coordinating:
                raise Forbidden("only the coordinator cancels a mandatory task")
            values["status"] = change.status
            done = change.status != "open"
            values["done_at"] = write.at if done else None
            values["done_by_user_id"] = viewer.user_id if done else None
        if change.due_at is not UNCHANGED:
            values["due_at"] = stamp(change.due_at) if change.due_at else None
            values["overdue_at"] = None
        if change.owner_user_id is not UNCHANGED:
            values["owner_user_id"] = _owner_user(conn, task.owner_member_id, change.owner_user_id)
        if not values:
            raise Invalid("nothing to change")
        conn.execute(update(incident_tasks).where(incident_tasks.c.id == task_id).values(**values))
        what = values.get("status") or "changed"
        write.entry(
            incident_id,
            row.tlp,
            "task-" + ("done" if what == "done" else "update"),
            f"Task {what}: {task.title}",
            {"task_id": task_id, "fields": sorted(values)},
        )
        write.detail = {"task": task_id, "fields": sorted(values)}
    return {"id": task_id}


def add_note(db: Any, viewer: Viewer, incident_id: str, text: str, now: datetime) -> dict[str, Any]:
    """A person's entry on the timeline."""
    from shieldwall.incidents.service import writable_incident

    text = text.strip()
    if not text or len(text) > 20_000:
        raise _invalid("text", "between 1 and 20,000 characters")
    with incident_write(db, viewer, now, "incident.note") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        entry_id = write.entry(incident_id, row.tlp, "note", text)
    return {"id": entry_id}
