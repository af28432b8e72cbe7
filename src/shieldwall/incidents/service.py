"""Assistance requests: filing one (sanitised, with its coordinator chosen by the instance's
rule), reading the incidents a viewer takes part in, and changing what was filed.

Every read goes through the policy's incident rule: the SQL filter for lists, the predicate for
one incident in hand. An incident the viewer may not see is "no such incident", the same 404 as
an unknown id, and is never counted. The description (and title) go through the sanitiser
before they are stored, so no one but the filer ever sees what it masked; the filer gets the
findings back, as the preview showed them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from shieldwall.db import Database
from shieldwall.errors import Conflict, Forbidden, Invalid, NotFound
from shieldwall.incidents import clocks, views
from shieldwall.incidents.config import (
    CAPABILITIES,
    SEVERITIES,
    SEVERITY_MEANINGS,
    IncidentConfig,
    checked_words,
)
from shieldwall.incidents.coordinator import choose_coordinator
from shieldwall.incidents.links import add_links
from shieldwall.incidents.tables import incident_leads, incidents, taskings
from shieldwall.incidents.timeline import incident_write
from shieldwall.incidents.times import stamp
from shieldwall.intel.query import decode_cursor, encode_cursor
from shieldwall.intel.sanitize import SanitizeResult, sanitize_text
from shieldwall.markings import TLP
from shieldwall.policy import (
    Viewer,
    incident_visible_filter,
    may_act_in_incident,
    may_coordinate_incident,
    may_see_incident,
)

NO_SUCH_INCIDENT = "no such incident"


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(
        f"{field_name}: {message}", details=[{"property": field_name, "message": message}]
    )


def checked_severity(severity: str) -> str:
    """`severity` if it is one of SEVERITIES; Invalid naming the field otherwise."""
    if severity not in SEVERITIES:
        raise _invalid("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    return severity


def checked_tlp(text: str) -> TLP:
    """The TLP level `text` names; Invalid naming the field otherwise."""
    try:
        return TLP.parse(text)
    except ValueError:
        raise _invalid(
            "tlp", f"{text!r} is not a TLP 2.0 level (clear, green, amber, amber+strict, red)"
        ) from None


@dataclass(frozen=True, slots=True)
class Draft:
    """An assistance request as a member files it."""

    title: str
    description: str
    severity: str
    tlp: str
    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # capabilities wanted; none given means incident-response
    languages: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # ids of intel in the store the filer may see
    keep: frozenset[str] = field(default_factory=frozenset)  # sanitiser kinds left unmasked
    internal_domains: tuple[str, ...] = ()  # the filer's own DNS suffixes, masked as internal


@dataclass(frozen=True, slots=True)
class CheckedDraft:
    """A draft with its fields checked and its free text sanitised."""

    title: SanitizeResult
    description: SanitizeResult
    severity: str
    tlp: TLP
    lists: dict[str, list[str]]
    links: tuple[str, ...]


def _text(value: str, field_name: str, max_length: int) -> str:
    text = value.strip()
    if not text or len(text) > max_length:
        raise _invalid(field_name, f"between 1 and {max_length} characters, not blank")
    return text


def check_draft(draft: Draft) -> CheckedDraft:
    """The draft's fields checked and its free text sanitised; Invalid naming every field that
    is wrong (its details, one per mistake), so a form can say each beside its field."""
    problems: list[Invalid] = []

    def checked(check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except Invalid as exc:
            problems.append(exc)
            return None

    lists = {
        "countries": checked(checked_words, draft.countries, "countries", code="upper"),
        "sectors": checked(checked_words, draft.sectors, "sectors"),
        "services": checked(checked_words, draft.services, "services", max_length=200),
        "needs": checked(checked_words, draft.needs, "needs", known=CAPABILITIES),
        "languages": checked(checked_words, draft.languages, "languages", code="lower"),
    }
    title = checked(_text, draft.title, "title", 300)
    description = checked(_text, draft.description, "description", 100_000)
    severity = checked(checked_severity, draft.severity)
    tlp = checked(checked_tlp, draft.tlp)
    if len(draft.links) > 500:
        problems.append(_invalid("links", "at most 500 intel objects at filing; link more later"))
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise Invalid(
            "; ".join(p.message for p in problems),
            details=[d for p in problems for d in p.details],
        )
    keep, domains = draft.keep, draft.internal_domains
    return CheckedDraft(
        title=sanitize_text(title, keep=keep, internal_domains=domains),
        description=sanitize_text(description, keep=keep, internal_domains=domains),
        severity=severity,
        tlp=tlp,
        lists=lists,
        links=tuple(dict.fromkeys(draft.links)),
    )


def _findings(checked: CheckedDraft) -> dict[str, Any]:
    return {
        "title": checked.title.as_dict()["findings"],
        "description": checked.description.as_dict()["findings"],
    }


def preview(db: Database, viewer: Viewer, config: IncidentConfig, draft: Draft) -> dict[str, Any]:
    """What filing `draft` would store and who would coordinate it; nothing is stored."""
    checked = check_draft(draft)
    with db.read() as conn:
        choice = choose_coordinator(conn, config.coordinator_rule, viewer.member_id)
        names = views.member_names(conn, [choice.member_id])
    return {
        "title": checked.title.text,
        "description": checked.description.text,
        "findings": _findings(checked),
        "severity": checked.severity,
        "severity_meaning": SEVERITY_MEANINGS[checked.severity],
        "tlp": checked.tlp.label,
        **checked.lists,
        "coordinator": {
            "id": choice.member_id,
            "name": names.get(choice.member_id),
            "reason": choice.reason,
        },
    }


def file_incident(
    db: Database, viewer: Viewer, config: IncidentConfig, draft: Draft, now: datetime
) -> dict[str, Any]:
    """File a request for the viewer's member: stored whole with its clocks, coordinator, links
    and first timeline entries, or not at all. The new incident's id and what was masked."""
    if not may_act_in_incident(viewer):
        raise Forbidden("readers may not file requests for assistance")
    checked = check_draft(draft)
    incident_id = str(uuid.uuid4())
    at = stamp(now)
    with incident_write(db, viewer, now, "incident.file") as write:
        conn = write.conn
        choice = choose_coordinator(conn, config.coordinator_rule, viewer.member_id)
        seq = (conn.scalar(select(func.max(incidents.c.seq))) or 0) + 1
        conn.execute(
            incidents.insert().values(
                id=incident_id,
                seq=seq,
                title=checked.title.text,
                description=checked.description.text,
                severity=checked.severity,
                tlp=int(checked.tlp),
                status="filed",
                requester_member_id=viewer.member_id,
                coordinator_member_id=choice.member_id,
                coordinator_reason=choice.reason,
                **{k: orjson.dumps(v).decode() for k, v in checked.lists.items()},
                filed_by_user_id=viewer.user_id,
                filed_at=at,
                updated_at=at,
            )
        )
        conn.execute(
            incident_leads.insert().values(
                incident_id=incident_id,
                member_id=choice.member_id,
                since=at,
                reason=choice.reason,
                by_user_id=None,
            )
        )
        clocks.start(conn, incident_id, checked.severity, config)
        names = views.member_names(conn, [viewer.member_id, choice.member_id])
        tlp = int(checked.tlp)
        write.entry(
            incident_id,
            tlp,
            "filed",
            f"{names[viewer.member_id]} asked for assistance: "
            f"severity {checked.severity}, TLP:{checked.tlp.label.upper()}",
            {"severity": checked.severity},
        )
        write.entry(
            incident_id,
            tlp,
            "coordinator",
            f"{names[choice.member_id]} coordinates: {choice.reason}",
            {"member_id": choice.member_id},
            by_platform=True,
        )
        if checked.links:
            add_links(write, incident_id, tlp, checked.links, via="filing")
        write.detail = {"severity": checked.severity, "coordinator": choice.member_id}
    return {"id": incident_id, "findings": _findings(checked)}


def visible_incident(conn: Connection, viewer: Viewer, incident_id: str) -> Any:
    """The incident row if the viewer may see it; NotFound, as for an unknown id, otherwise."""
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise NotFound(NO_SUCH_INCIDENT)
    mine = conn.execute(
        select(taskings.c.incident_id, taskings.c.member_id, taskings.c.state).where(
            taskings.c.incident_id == incident_id, taskings.c.member_id == viewer.member_id
        )
    ).all()
    if not may_see_incident(viewer, row._mapping, [t._mapping for t in mine]):
        raise NotFound(NO_SUCH_INCIDENT)
    return row


def writable_incident(conn: Connection, viewer: Viewer, incident_id: str) -> Any:
    """The incident, visible and still open, for a viewer whose role may write."""
    row = visible_incident(conn, viewer, incident_id)
    if not may_act_in_incident(viewer):
        raise Forbidden("readers may not change incidents")
    if row.status == "closed":
        raise Conflict("the incident is closed")
    return row


def coordinated_incident(conn: Connection, viewer: Viewer, incident_id: str) -> Any:
    """The incident, open, for one of its coordinator's users who may act."""
    row = writable_incident(conn, viewer, incident_id)
    if not may_coordinate_incident(viewer, row._mapping):
        raise Forbidden("only the coordinator may do this")
    return row


def get_incident(
    db: Database, viewer: Viewer, config: IncidentConfig, incident_id: str, now: datetime
) -> dict[str, Any]:
    """One incident as the viewer sees it at `now`; 404 as for an unknown id if it may not."""
    with db.read() as conn:
        row = visible_incident(conn, viewer, incident_id)
        return views.full(conn, viewer, row, now, config)


def get_timeline(
    db: Database, viewer: Viewer, incident_id: str, *, after: int, limit: int
) -> dict[str, Any]:
    """The incident's timeline after entry `after`, oldest first, and the id to continue from
    (`next`, None at the end); 404 as for an unknown id if the viewer may not see it."""
    with db.read() as conn:
        visible_incident(conn, viewer, incident_id)
        entries, next_after = views.timeline(conn, viewer, incident_id, after=after, limit=limit)
    return {"entries": entries, "next": next_after}


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a list of incidents is narrowed to, on top of the policy."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    role: str | None = None  # requester, coordinator, responder: the viewer's member's part


def list_incidents(
    db: Database,
    viewer: Viewer,
    config: IncidentConfig,
    f: ListFilter,
    *,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> dict[str, Any]:
    """The incidents the viewer takes part in, newest first, a page at a time. No total: a
    page says only whether there is more (`next`)."""
    key = orjson.dumps([f.statuses, f.severities, f.role]).hex()[:32]
    query = select(incidents).where(incident_visible_filter(viewer, incidents, taskings))
    if cursor:
        query = query.where(incidents.c.seq < decode_cursor(cursor, key))
    if f.statuses:
        query = query.where(incidents.c.status.in_(f.statuses))
    if f.severities:
        query = query.where(incidents.c.severity.in_(f.severities))
    if f.role == "requester":
        query = query.where(incidents.c.requester_member_id == viewer.member_id)
    elif f.role == "coordinator":
        query = query.where(incidents.c.coordinator_member_id == viewer.member_id)
    elif f.role == "responder":
        query = query.where(
            incidents.c.id.in_(
                select(taskings.c.incident_id).where(
                    taskings.c.member_id == viewer.member_id,
                    taskings.c.state.in_(("tasked", "accepted")),
                )
            )
        )
    with db.read() as conn:
        rows = conn.execute(query.order_by(incidents.c.seq.desc()).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = views.summaries(conn, viewer, rows, now, config)
    return {"incidents": items, "next": encode_cursor(rows[-1].seq, key) if more else None}


@dataclass(frozen=True, slots=True)
class Changes:
    """What PATCH may change; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    severity: str | None = None
    tlp: str | None = None
    countries: tuple[str, ...] | None = None
    sectors: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    needs: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    keep: frozenset[str] = field(default_factory=frozenset)
    internal_domains: tuple[str, ...] = ()


# Who may change what: what was filed is the requester's; the scope is both parties' to refine.
_REQUESTER_ONLY = ("title", "description", "tlp")


def update_incident(
    db: Database,
    viewer: Viewer,
    config: IncidentConfig,
    incident_id: str,
    changes: Changes,
    now: datetime,
) -> dict[str, Any]:
    """Change what was filed, recorded on the timeline; a new severity retargets the clocks."""
    values: dict[str, Any] = {}
    findings: dict[str, Any] = {}
    for name in ("title", "description"):
        text = getattr(changes, name)
        if text is not None:
            result = sanitize_text(
                _text(text, name, 300 if name == "title" else 100_000),
                keep=changes.keep,
                internal_domains=changes.internal_domains,
            )
            values[name], findings[name] = result.text, result.as_dict()["findings"]
    if changes.severity is not None:
        values["severity"] = checked_severity(changes.severity)
    if changes.tlp is not None:
        values["tlp"] = int(checked_tlp(changes.tlp))
    for name, kw in (
        ("countries", {"code": "upper"}),
        ("sectors", {}),
        ("services", {"max_length": 200}),
        ("needs", {"known": CAPABILITIES}),
        ("languages", {"code": "lower"}),
    ):
        given = getattr(changes, name)
        if given is not None:
            values[name] = orjson.dumps(checked_words(given, name, **kw)).decode()
    if not values:
        raise Invalid("nothing to change")
    with incident_write(db, viewer, now, "incident.update") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        is_requester = viewer.member_id == row.requester_member_id
        if not is_requester and not may_coordinate_incident(viewer, row._mapping):
            raise Forbidden("only the requester and the coordinator change what was filed")
        if not is_requester and (taken := [n for n in _REQUESTER_ONLY if n in values]):
            raise Forbidden(f"only the requester changes {', '.join(taken)}")
        changed = [n for n, v in values.items() if getattr(row, n) != v]
        if changed:
            write.conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id)
                .values(**values, updated_at=stamp(now))
            )
            tlp = values.get("tlp", row.tlp)
            if "severity" in changed:
                clocks.retarget(write.conn, incident_id, values["severity"], config)
                write.entry(
                    incident_id,
                    tlp,
                    "severity",
                    f"Severity {row.severity} -> {values['severity']}; the clocks take its targets",
                    {"from": row.severity, "to": values["severity"]},
                )
            if "tlp" in changed:
                write.entry(
                    incident_id,
                    tlp,
                    "tlp",
                    f"TLP:{TLP(row.tlp).label.upper()} -> TLP:{TLP(tlp).label.upper()}",
                )
            if other := [n for n in changed if n not in ("severity", "tlp")]:
                write.entry(
                    incident_id, tlp, "updated", f"Changed {', '.join(other)}", {"fields": other}
                )
        write.detail = {"fields": changed}
    return {"id": incident_id, "changed": changed, "findings": findings}
