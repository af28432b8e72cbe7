"""Tasking responders: the coordinator tasks a member (by name, or the best-ranked proposal);
the member accepts or declines with a reason before its deadline; a decline, or silence past
the deadline, moves the tasking to the next responder in rank.

A tasking's deadline is the instance's answer time for the incident's severity
(SHIELDWALL_INCIDENT_ANSWER_WITHIN). Silence is noticed by the clock job (escalation.py) or by
the first answer that comes too late, whichever is first: either way the tasking expires at its
deadline and the next in rank is tasked, so nobody's late "yes" races the platform's move.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from shieldwall.errors import Conflict, Forbidden, Invalid, NotFound
from shieldwall.incidents import clocks
from shieldwall.incidents.config import PEER_KIND, IncidentConfig
from shieldwall.incidents.responders import Proposal, propose
from shieldwall.incidents.status import apply_status
from shieldwall.incidents.tables import incidents, taskings
from shieldwall.incidents.timeline import IncidentWrite, incident_write
from shieldwall.incidents.times import stamp
from shieldwall.incidents.views import member_names
from shieldwall.members.tables import members
from shieldwall.policy import STANDING_TASKINGS, Viewer, may_answer_tasking


def proposals(db: Any, viewer: Viewer, incident_id: str) -> list[dict[str, Any]]:
    """The ranked proposals, for the coordinator who tasks and the requester who asked."""
    from shieldwall.incidents.service import visible_incident

    with db.read() as conn:
        row = visible_incident(conn, viewer, incident_id)
        if viewer.member_id not in (row.requester_member_id, row.coordinator_member_id):
            raise Forbidden("only the coordinator and the requester see the proposals")
        return [p.as_dict() for p in propose(conn, row)]


def _create(
    write: IncidentWrite,
    row: Any,
    member_id: str,
    config: IncidentConfig,
    proposal: Proposal | None,
    *,
    by_user: str | None,
    replaces: str | None = None,
) -> str:
    tasking_id = str(uuid.uuid4())
    answer_by = write.now + timedelta(seconds=config.answer_within[row.severity])
    reasons = list(proposal.reasons) if proposal else ["tasked by name by the coordinator"]
    write.conn.execute(
        taskings.insert().values(
            id=tasking_id,
            incident_id=row.id,
            member_id=member_id,
            state="tasked",
            rank=proposal.rank if proposal else None,
            score=proposal.score if proposal else None,
            reasons=orjson.dumps(reasons).decode(),
            tasked_at=write.at,
            tasked_by_user_id=by_user,
            answer_by=stamp(answer_by),
            replaces_id=replaces,
        )
    )
    return tasking_id


def task(
    db: Any,
    viewer: Viewer,
    config: IncidentConfig,
    incident_id: str,
    member_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Task `member_id`, or the best-ranked proposal when None. Tasking acknowledges a request
    still `filed`: the coordinator is plainly on it."""
    from shieldwall.incidents.service import coordinated_incident

    with incident_write(db, viewer, now, "incident.task") as write:
        conn = write.conn
        row = coordinated_incident(conn, viewer, incident_id)
        ranked = propose(conn, row)
        if member_id is None:
            if not ranked:
                raise Conflict("no declared responder fits this incident: task a member by name")
            chosen: Proposal | None = ranked[0]
            member_id = ranked[0].member_id
        else:
            kind = conn.scalar(select(members.c.kind).where(members.c.id == member_id))
            if kind is None:
                raise NotFound("no such member")
            if kind == PEER_KIND:
                raise Invalid("member_id: a peer instance takes no part in incidents")
            if member_id in (row.requester_member_id, row.coordinator_member_id):
                raise Invalid("member_id: that member takes part already")
            standing = conn.scalar(
                select(taskings.c.id).where(
                    taskings.c.incident_id == incident_id,
                    taskings.c.member_id == member_id,
                    taskings.c.state.in_(STANDING_TASKINGS),
                )
            )
            if standing:
                raise Conflict("that member is tasked already")
            chosen = next((p for p in ranked if p.member_id == member_id), None)
        tasking_id = _create(write, row, member_id, config, chosen, by_user=viewer.user_id)
        name = member_names(conn, [member_id])[member_id]
        rank = f" (rank {chosen.rank}: {'; '.join(chosen.reasons)})" if chosen else ""
        write.entry(
            incident_id,
            row.tlp,
            "tasked",
            f"{name} tasked{rank}",
            {"tasking_id": tasking_id, "member_id": member_id},
        )
        if row.status == "filed":
            apply_status(write, row, "acknowledged", "by tasking a responder", by_platform=True)
        write.detail = {"tasking": tasking_id, "member": member_id}
    return {"id": tasking_id, "member_id": member_id}


def move_to_next(
    write: IncidentWrite, row: Any, after: Any, config: IncidentConfig, why: str
) -> str | None:
    """Task the best-ranked proposal in place of the tasking `after`; None when nobody is left."""
    current = write.conn.execute(select(incidents).where(incidents.c.id == row.id)).one()
    ranked = propose(write.conn, current)
    names = member_names(write.conn, [after.member_id, *(p.member_id for p in ranked[:1])])
    if not ranked:
        write.entry(
            row.id,
            row.tlp,
            "tasking-unfilled",
            f"{names[after.member_id]} {why}; no "
            "other declared responder fits: the coordinator may task one by name",
            {"after": after.id},
            by_platform=True,
        )
        return None
    chosen = ranked[0]
    tasking_id = _create(
        write, current, chosen.member_id, config, chosen, by_user=None, replaces=after.id
    )
    write.entry(
        row.id,
        row.tlp,
        "tasked",
        f"{names[chosen.member_id]} tasked, next in rank "
        f"(rank {chosen.rank}: {'; '.join(chosen.reasons)}), as "
        f"{names[after.member_id]} {why}",
        {"tasking_id": tasking_id, "member_id": chosen.member_id, "replaces": after.id},
        by_platform=True,
    )
    return tasking_id


def expire(write: IncidentWrite, row: Any, tasking: Any, config: IncidentConfig) -> str | None:
    """The tasking's deadline passed without an answer: expire it and move to the next."""
    write.conn.execute(
        update(taskings)
        .where(taskings.c.id == tasking.id)
        .values(
            state="expired",
            answered_at=write.at,
            reason=f"no answer by {tasking.answer_by}",
        )
    )
    return move_to_next(write, row, tasking, config, "did not answer in time")


def answer(
    db: Any,
    viewer: Viewer,
    config: IncidentConfig,
    incident_id: str,
    tasking_id: str,
    accept: bool,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Accept or decline a tasking (a decline needs a reason). Accepting stops the clock to the
    first responder accepted and puts a request still filed or acknowledged into responding."""
    from shieldwall.incidents.service import visible_incident

    reason = reason.strip()
    if not accept and not reason:
        raise Invalid("reason: say why you decline, for the coordinator and the next in rank")
    if len(reason) > 5000:
        raise Invalid("reason: at most 5000 characters")
    too_late = None
    with incident_write(db, viewer, now, "incident.accept" if accept else "incident.decline") as w:
        row = visible_incident(w.conn, viewer, incident_id)
        tasking = w.conn.execute(
            select(taskings).where(
                taskings.c.id == tasking_id, taskings.c.incident_id == incident_id
            )
        ).first()
        if tasking is None:
            raise NotFound("no such tasking in this incident")
        if not may_answer_tasking(viewer, tasking._mapping):
            raise Forbidden("only the tasked member's users (not readers) answer a tasking")
        if row.status == "closed":
            raise Conflict("the incident is closed")
        if tasking.state != "tasked":
            raise Conflict(f"this tasking is {tasking.state} already")
        if tasking.answer_by is not None and tasking.answer_by < w.at:
            expire(w, row, tasking, config)
            too_late = tasking.answer_by
        else:
            w.conn.execute(
                update(taskings)
                .where(taskings.c.id == tasking_id)
                .values(
                    state="accepted" if accept else "declined",
                    answered_at=w.at,
                    answered_by_user_id=viewer.user_id,
                    reason=reason or None,
                )
            )
            name = member_names(w.conn, [viewer.member_id])[viewer.member_id]
            if accept:
                w.entry(
                    incident_id,
                    row.tlp,
                    "accepted",
                    f"{name} accepted" + (f": {reason}" if reason else ""),
                    {"tasking_id": tasking_id},
                )
                clocks.stop(w.conn, incident_id, ("accept",), now)
                if row.status in ("filed", "acknowledged"):
                    apply_status(w, row, "responding", "a responder accepted", by_platform=True)
            else:
                w.entry(
                    incident_id,
                    row.tlp,
                    "declined",
                    f"{name} declined: {reason}",
                    {"tasking_id": tasking_id},
                )
                move_to_next(w, row, tasking, config, f"declined ({reason})")
        w.detail = {"tasking": tasking_id, "late": too_late is not None}
    if too_late is not None:
        raise Conflict(
            f"the time to answer ended at {too_late}: the tasking expired and moved "
            "to the next responder in rank"
        )
    return {"id": tasking_id, "state": "accepted" if accept else "declined"}


def release(
    db: Any, viewer: Viewer, incident_id: str, tasking_id: str, reason: str, now: datetime
) -> dict[str, Any]:
    """End a standing tasking: the coordinator lets a responder go, or the responder withdraws.
    Nobody is tasked in its place automatically: that is the coordinator's call."""
    from shieldwall.incidents.service import writable_incident

    reason = reason.strip()
    if not reason:
        raise Invalid("reason: say why the tasking ends")
    with incident_write(db, viewer, now, "incident.release") as w:
        row = writable_incident(w.conn, viewer, incident_id)
        tasking = w.conn.execute(
            select(taskings).where(
                taskings.c.id == tasking_id, taskings.c.incident_id == incident_id
            )
        ).first()
        if tasking is None:
            raise NotFound("no such tasking in this incident")
        if viewer.member_id not in (tasking.member_id, row.coordinator_member_id):
            raise Forbidden("only the coordinator and the tasked member end a tasking")
        if tasking.state not in STANDING_TASKINGS:
            raise Conflict(f"this tasking is {tasking.state} already")
        w.conn.execute(
            update(taskings)
            .where(taskings.c.id == tasking_id)
            .values(
                state="released",
                answered_at=w.at,
                answered_by_user_id=viewer.user_id,
                reason=reason,
            )
        )
        name = member_names(w.conn, [tasking.member_id])[tasking.member_id]
        w.entry(
            incident_id,
            row.tlp,
            "released",
            f"{name} released: {reason}",
            {"tasking_id": tasking_id},
        )
        w.detail = {"tasking": tasking_id}
    return {"id": tasking_id, "state": "released"}
