"""An incident's life: status changes, waiting on the requester, closing, and handing the lead
over to another member.

The coordinator moves the status; the requester may withdraw its request and say it has
answered (resume). Each move stops the clocks it settles: leaving `filed` acknowledges,
`contained` stops the containment clock, `resolved` the containment and resolution clocks;
waiting on the requester pauses every running clock until it resumes. Resolving, or closing as
resolved, is refused while a mandatory task is open: that is what mandatory means.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from shieldwall.errors import Conflict, Forbidden, Invalid, NotFound
from shieldwall.incidents import clocks
from shieldwall.incidents.config import PEER_KIND, RESOLUTIONS, STATUSES
from shieldwall.incidents.tables import incident_leads, incident_tasks, incidents, taskings
from shieldwall.incidents.timeline import IncidentWrite, incident_write
from shieldwall.incidents.views import member_names
from shieldwall.members.tables import members
from shieldwall.policy import STANDING_TASKINGS, Viewer, may_coordinate_incident

# Where the coordinator may move an incident from each status by hand (`closed` has its own
# route; `waiting-on-requester` is left by resuming).
MOVES: dict[str, tuple[str, ...]] = {
    "filed": ("acknowledged", "waiting-on-requester", "responding", "contained", "resolved"),
    "acknowledged": ("responding", "waiting-on-requester", "contained", "resolved"),
    "responding": ("waiting-on-requester", "contained", "resolved"),
    "contained": ("responding", "waiting-on-requester", "resolved"),
    "resolved": ("responding",),  # reopened
    "waiting-on-requester": (),
}
_STOPS = {"contained": ("contain",), "resolved": ("contain", "resolve")}


def apply_status(
    write: IncidentWrite, row: Any, new: str, reason: str = "", *, by_platform: bool = False
) -> None:
    """Move `row` to `new` with its effects on the clocks, and put it on the timeline. No
    permission check: the caller has made it."""
    conn, old = write.conn, row.status
    values: dict[str, Any] = {"status": new, "updated_at": write.at}
    if old == "waiting-on-requester":
        clocks.unpause(conn, row.id, write.now)
        values["status_before_wait"] = None
    stops = ["acknowledge"] if new != "filed" else []
    stops += _STOPS.get(new, ())
    clocks.stop(conn, row.id, stops, write.now)
    if new == "waiting-on-requester":
        clocks.pause(conn, row.id, write.now)
        # Coming back from waiting never returns to `filed`: asking the requester something
        # acknowledged the request.
        values["status_before_wait"] = "acknowledged" if old == "filed" else old
    conn.execute(update(incidents).where(incidents.c.id == row.id).values(**values))
    text = f"Status {old} -> {new}" + (f": {reason}" if reason else "")
    write.entry(row.id, row.tlp, "status", text, {"from": old, "to": new}, by_platform=by_platform)


def _open_mandatory(write: IncidentWrite, incident_id: str) -> None:
    titles = list(
        write.conn.scalars(
            select(incident_tasks.c.title).where(
                incident_tasks.c.incident_id == incident_id,
                incident_tasks.c.mandatory.is_(True),
                incident_tasks.c.status == "open",
            )
        )
    )
    if titles:
        raise Conflict(
            f"{len(titles)} mandatory task(s) still open: finish or cancel them first",
            details=[{"property": "tasks", "message": t} for t in titles],
        )


def set_status(
    db: Any, viewer: Viewer, incident_id: str, new: str, reason: str, now: datetime
) -> dict[str, Any]:
    """The coordinator moves the incident by hand, where MOVES allows."""
    from shieldwall.incidents.service import coordinated_incident

    if new not in STATUSES:
        raise Invalid(f"status: {new!r} is not one of {', '.join(STATUSES)}")
    if new == "closed":
        raise Invalid("status: close an incident with POST /api/v1/incidents/{id}/close")
    with incident_write(db, viewer, now, f"incident.status:{new}") as write:
        row = coordinated_incident(write.conn, viewer, incident_id)
        if row.status == "waiting-on-requester":
            raise Conflict("the incident waits on the requester: resume it first")
        if new not in MOVES[row.status]:
            raise Conflict(
                f"an incident {row.status} cannot become {new}; it may become "
                f"{', '.join(MOVES[row.status]) or 'nothing by hand'}"
            )
        if new == "resolved":
            _open_mandatory(write, incident_id)
        apply_status(write, row, new, reason.strip())
        write.detail = {"from": row.status, "to": new}
    return {"id": incident_id, "status": new}


def resume(db: Any, viewer: Viewer, incident_id: str, note: str, now: datetime) -> dict[str, Any]:
    """The requester has answered: the clocks run again, from where they stood."""
    from shieldwall.incidents.service import writable_incident

    with incident_write(db, viewer, now, "incident.resume") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        if viewer.member_id != row.requester_member_id and not may_coordinate_incident(
            viewer, row._mapping
        ):
            raise Forbidden("only the requester and the coordinator resume an incident")
        if row.status != "waiting-on-requester":
            raise Conflict("the incident is not waiting on the requester")
        back = row.status_before_wait or "acknowledged"
        apply_status(write, row, back, note.strip() or "the requester answered")
    return {"id": incident_id, "status": back}


def close(
    db: Any, viewer: Viewer, incident_id: str, resolution: str, summary: str, now: datetime
) -> dict[str, Any]:
    """Close for good: the coordinator with any resolution, the requester by withdrawing.
    Pending taskings are released and open tasks cancelled; closing as resolved stops the
    containment and resolution clocks as met (or breached), every other clock is cancelled."""
    from shieldwall.incidents.service import writable_incident

    if resolution not in RESOLUTIONS:
        raise Invalid(f"resolution: {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    if not summary.strip() or len(summary) > 20_000:
        raise Invalid("summary: say in up to 20,000 characters how it ended")
    with incident_write(db, viewer, now, f"incident.close:{resolution}") as write:
        conn = write.conn
        row = writable_incident(conn, viewer, incident_id)
        coordinating = may_coordinate_incident(viewer, row._mapping)
        if not coordinating and not (
            viewer.member_id == row.requester_member_id and resolution == "withdrawn"
        ):
            raise Forbidden("the coordinator closes an incident; the requester may withdraw it")
        if resolution == "resolved":
            _open_mandatory(write, incident_id)
            clocks.stop(conn, incident_id, ("acknowledge", "contain", "resolve"), now)
        if row.status == "waiting-on-requester":
            clocks.unpause(conn, incident_id, now)
        clocks.stop(
            conn, incident_id, ("acknowledge", "accept", "contain", "resolve"), now, by="closed"
        )
        released = conn.execute(
            update(taskings)
            .where(taskings.c.incident_id == incident_id, taskings.c.state == "tasked")
            .values(state="released", answered_at=write.at, reason="the incident closed")
        ).rowcount
        cancelled = conn.execute(
            update(incident_tasks)
            .where(incident_tasks.c.incident_id == incident_id, incident_tasks.c.status == "open")
            .values(status="cancelled", done_at=write.at, done_by_user_id=viewer.user_id)
        ).rowcount
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(
                status="closed",
                status_before_wait=None,
                closed_at=write.at,
                updated_at=write.at,
                resolution=resolution,
                summary=summary.strip(),
            )
        )
        write.entry(
            incident_id,
            row.tlp,
            "closed",
            f"Closed as {resolution}: {summary.strip()}",
            {"resolution": resolution, "taskings_released": released, "tasks_cancelled": cancelled},
        )
        write.detail = {"resolution": resolution}
    return {"id": incident_id, "status": "closed", "resolution": resolution}


def handover(
    db: Any,
    viewer: Viewer,
    incident_id: str,
    to_member_id: str,
    reason: str,
    keep_previous: bool,
    now: datetime,
) -> dict[str, Any]:
    """Hand the lead to another member, recorded in the incident's leads and timeline. The
    previous coordinator stays on as a supporting member unless `keep_previous` is false; a
    responder taking the lead stops being one."""
    from shieldwall.incidents.service import coordinated_incident

    if not reason.strip():
        raise Invalid("reason: say why the lead changes")
    with incident_write(db, viewer, now, "incident.handover") as write:
        conn = write.conn
        row = coordinated_incident(conn, viewer, incident_id)
        kind = conn.scalar(select(members.c.kind).where(members.c.id == to_member_id))
        if kind is None:
            raise NotFound("no such member")
        if kind == PEER_KIND:
            raise Invalid("member_id: a peer instance takes no part in incidents")
        old = row.coordinator_member_id
        if to_member_id == old:
            raise Conflict("that member leads the incident already")
        conn.execute(
            update(taskings)
            .where(
                taskings.c.incident_id == incident_id,
                taskings.c.member_id == to_member_id,
                taskings.c.state.in_(STANDING_TASKINGS),
            )
            .values(state="released", answered_at=write.at, reason="took the lead")
        )
        if keep_previous and old != row.requester_member_id:
            conn.execute(
                taskings.insert().values(
                    id=str(uuid.uuid4()),
                    incident_id=incident_id,
                    member_id=old,
                    state="accepted",
                    reasons='["led the incident until the handover"]',
                    tasked_at=write.at,
                    tasked_by_user_id=viewer.user_id,
                    answered_at=write.at,
                    answered_by_user_id=viewer.user_id,
                    reason="stays on after handing the lead over",
                )
            )
        names = member_names(conn, [old, to_member_id])
        conn.execute(
            update(incident_leads)
            .where(incident_leads.c.incident_id == incident_id, incident_leads.c.until.is_(None))
            .values(until=write.at)
        )
        conn.execute(
            incident_leads.insert().values(
                incident_id=incident_id,
                member_id=to_member_id,
                since=write.at,
                reason=reason.strip(),
                by_user_id=viewer.user_id,
            )
        )
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(
                coordinator_member_id=to_member_id,
                updated_at=write.at,
                coordinator_reason=f"the lead was handed over by {names[old]}: {reason.strip()}",
            )
        )
        write.entry(
            incident_id,
            row.tlp,
            "handover",
            f"{names[old]} handed the lead to {names[to_member_id]}: {reason.strip()}",
            {"from": old, "to": to_member_id, "previous_stays": keep_previous},
        )
        write.detail = {"from": old, "to": to_member_id}
    return {"id": incident_id, "coordinator": to_member_id}
