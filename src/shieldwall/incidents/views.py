"""What an incident looks like to one viewer: the JSON every page and client reads.

Only called with incidents the viewer may see (the caller has applied the policy). Linked intel
in them is filtered again, object by object, with the intel policy: see links.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from shieldwall.correlate.reports import visible_ids
from shieldwall.incidents import clocks
from shieldwall.incidents.config import SEVERITY_MEANINGS, IncidentConfig
from shieldwall.incidents.evidence import evidence_of
from shieldwall.incidents.links import visible_links
from shieldwall.incidents.tables import (
    incident_leads,
    incident_tasks,
    incident_timeline,
    taskings,
)
from shieldwall.markings import TLP
from shieldwall.members.tables import members
from shieldwall.policy import (
    STANDING_TASKINGS,
    Viewer,
    may_act_in_incident,
    may_coordinate_incident,
)


def member_names(conn: Connection, ids: Iterable[str | None]) -> dict[str, str]:
    """Member names by id, to show who is who."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = conn.execute(select(members.c.id, members.c.name).where(members.c.id.in_(wanted)))
    return {r.id: r.name for r in rows}


def roles_of(viewer: Viewer, row: Any, tasking_states: Iterable[str]) -> list[str]:
    """The parts the viewer's member plays in the incident."""
    roles = []
    if viewer.member_id == row.requester_member_id:
        roles.append("requester")
    if viewer.member_id == row.coordinator_member_id:
        roles.append("coordinator")
    if any(s in STANDING_TASKINGS for s in tasking_states):
        roles.append("responder")
    return roles


def _clock_summary(readings: Sequence[clocks.ClockReading]) -> dict[str, Any]:
    return {
        "clocks": {c.clock: c.state for c in readings},
        "escalated": any(c.breached_at for c in readings),
        "attention": [c.clock for c in readings if c.attention],
        "paused": any(c.paused for c in readings),
    }


def _member(row_id: str, names: dict[str, str]) -> dict[str, str | None]:
    return {"id": row_id, "name": names.get(row_id)}


def summaries(
    conn: Connection, viewer: Viewer, rows: Sequence[Any], now: datetime, config: IncidentConfig
) -> list[dict[str, Any]]:
    """One line per incident, for lists and the dashboard."""
    ids = [r.id for r in rows]
    readings = clocks.readings(conn, rows, now, config.warn_at)
    states: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for t in conn.execute(
            select(taskings.c.incident_id, taskings.c.state).where(
                taskings.c.incident_id.in_(ids), taskings.c.member_id == viewer.member_id
            )
        ):
            states[t.incident_id].append(t.state)
    names = member_names(
        conn, [n for r in rows for n in (r.requester_member_id, r.coordinator_member_id)]
    )
    return [
        {
            "id": r.id,
            "title": r.title,
            "severity": r.severity,
            "tlp": TLP(r.tlp).label,
            "status": r.status,
            "filed_at": r.filed_at,
            "updated_at": r.updated_at,
            "closed_at": r.closed_at,
            "countries": orjson.loads(r.countries),
            "sectors": orjson.loads(r.sectors),
            "requester": _member(r.requester_member_id, names),
            "coordinator": _member(r.coordinator_member_id, names),
            "your_roles": roles_of(viewer, r, states[r.id]),
            **_clock_summary(readings[r.id]),
        }
        for r in rows
    ]


def _tasking(t: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": t.id,
        "member": _member(t.member_id, names),
        "state": t.state,
        "rank": t.rank,
        "score": t.score,
        "reasons": orjson.loads(t.reasons),
        "tasked_at": t.tasked_at,
        "tasked_by": "platform" if t.tasked_by_user_id is None else "coordinator",
        "answer_by": t.answer_by,
        "answered_at": t.answered_at,
        "reason": t.reason,
        "replaces": t.replaces_id,
    }


def task_as_dict(t: Any, names: dict[str, str], now_stamp: str) -> dict[str, Any]:
    """A task as the API shows it; `overdue` when open past its due time."""
    return {
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "owner": {**_member(t.owner_member_id, names), "user_id": t.owner_user_id},
        "due_at": t.due_at,
        "mandatory": t.mandatory,
        "status": t.status,
        "overdue": t.status == "open" and t.due_at is not None and t.due_at <= now_stamp,
        "created_at": t.created_at,
        "done_at": t.done_at,
    }


def full(
    conn: Connection, viewer: Viewer, row: Any, now: datetime, config: IncidentConfig
) -> dict[str, Any]:
    """Everything about one incident the viewer may see, at `now`."""
    from shieldwall.incidents.times import stamp

    all_taskings = conn.execute(
        select(taskings)
        .where(taskings.c.incident_id == row.id)
        .order_by(taskings.c.tasked_at, taskings.c.id)
    ).all()
    tasks = conn.execute(
        select(incident_tasks)
        .where(incident_tasks.c.incident_id == row.id)
        .order_by(incident_tasks.c.created_at, incident_tasks.c.id)
    ).all()
    leads = conn.execute(
        select(incident_leads)
        .where(incident_leads.c.incident_id == row.id)
        .order_by(incident_leads.c.since)
    ).all()
    evidence = evidence_of(conn, row.id)
    names = member_names(
        conn,
        [
            row.requester_member_id,
            row.coordinator_member_id,
            *(t.member_id for t in all_taskings),
            *(t.owner_member_id for t in tasks),
            *(lead.member_id for lead in leads),
            *(m for e in evidence for m in e["member_ids"]),
        ],
    )
    readings = clocks.readings(conn, [row], now, config.warn_at)[row.id]
    mine = [t.state for t in all_taskings if t.member_id == viewer.member_id]
    answerable = [
        t.id for t in all_taskings if t.member_id == viewer.member_id and t.state == "tasked"
    ]
    open_incident = row.status != "closed"
    for e in evidence:
        e.pop("member_ids")
        e["holder"] = _member(e["holder"], names)
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "severity": row.severity,
        "severity_meaning": SEVERITY_MEANINGS[row.severity],
        "tlp": TLP(row.tlp).label,
        "status": row.status,
        "filed_at": row.filed_at,
        "updated_at": row.updated_at,
        "closed_at": row.closed_at,
        "resolution": row.resolution,
        "summary": row.summary,
        "countries": orjson.loads(row.countries),
        "sectors": orjson.loads(row.sectors),
        "services": orjson.loads(row.services),
        "needs": orjson.loads(row.needs),
        "languages": orjson.loads(row.languages),
        "requester": _member(row.requester_member_id, names),
        "coordinator": {
            **_member(row.coordinator_member_id, names),
            "reason": row.coordinator_reason,
        },
        "supporting": [_member(t.member_id, names) for t in all_taskings if t.state == "accepted"],
        "your_roles": roles_of(viewer, row, mine),
        "you_may": {
            "act": open_incident and may_act_in_incident(viewer),
            "coordinate": open_incident and may_coordinate_incident(viewer, row._mapping),
            "answer": answerable if may_act_in_incident(viewer) else [],
        },
        "responders": [_tasking(t, names) for t in all_taskings],
        "clocks": [c.as_dict() for c in readings],
        **{k: v for k, v in _clock_summary(readings).items() if k != "clocks"},
        "tasks": [task_as_dict(t, names, stamp(now)) for t in tasks],
        "evidence": evidence,
        "links": visible_links(conn, viewer, row.id),
        "leads": [
            {
                **_member(lead.member_id, names),
                "since": lead.since,
                "until": lead.until,
                "reason": lead.reason,
            }
            for lead in leads
        ],
    }


def timeline(
    conn: Connection, viewer: Viewer, incident_id: str, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Timeline entries after `after` in order, and the id to continue from (None at the end).

    Entries about linked intel name only the objects the viewer may see, and are left out when
    it may see none of them; a page is filled past the entries left out, so neither its length
    nor `next` tells that there were any."""
    shown: list[dict[str, Any]] = []
    position = after
    while len(shown) <= limit:
        rows = conn.execute(
            select(incident_timeline)
            .where(
                incident_timeline.c.incident_id == incident_id, incident_timeline.c.id > position
            )
            .order_by(incident_timeline.c.id)
            .limit(limit + 1)
        ).all()
        if not rows:
            break
        position = rows[-1].id
        shown += _entries(conn, viewer, rows)
    if len(shown) > limit:
        return shown[:limit], shown[limit - 1]["id"]
    return shown, None


_INTEL_VERBS = {"link": "Linked", "intel": "Shared back as intel", "unlink": "Unlinked"}


def visible_entries(conn: Connection, viewer: Viewer, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Timeline rows as `viewer` is shown them (the stream reads them through this too)."""
    return _entries(conn, viewer, rows)


def _entries(conn: Connection, viewer: Viewer, rows: Sequence[Any]) -> list[dict[str, Any]]:
    intel_ids = [
        i
        for r in rows
        if r.kind in _INTEL_VERBS
        for i in orjson.loads(r.detail).get("object_ids", [])
    ]
    seen = visible_ids(conn, viewer, intel_ids) if intel_ids else set()
    names = member_names(conn, [r.member_id for r in rows])
    out = []
    for r in rows:
        detail = orjson.loads(r.detail)
        text = r.text
        if r.kind in _INTEL_VERBS:
            visible = [i for i in detail.get("object_ids", []) if i in seen]
            if not visible:
                continue
            detail = {"object_ids": visible}
            text = f"{_INTEL_VERBS[r.kind]}: {', '.join(visible)}"
        out.append(
            {
                "id": r.id,
                "at": r.at,
                "kind": r.kind,
                "text": text,
                "detail": detail,
                "by": "platform"
                if r.member_id is None
                else {"member": _member(r.member_id, names), "user_id": r.user_id},
            }
        )
    return out
