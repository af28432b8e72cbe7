"""Responder profiles, and proposing responders for an incident ranked by fit, with reasons.

A member becomes a responder by declaring a profile: what it can do (capabilities), where and
for whom (countries, sectors, languages) and whether it can take work now (availability). The
ranking reads nothing else: in particular not how busy a member is with other incidents, which
would tell the coordinator of one incident that others exist. Profiles are partnership
directory information, like the member list: every member may read them.

Fit, highest first: each capability the incident needs that the member covers (+10; a member
covering none of them is not proposed), a country it covers among those hit (+4), a sector
(+2), a language (+2), being available rather than limited (+3). Ties go to the member covering
more of the needs, then by name. Members taking part already, and members that were tasked on
the incident before (whatever they answered), are not proposed again: the coordinator may
still task them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.incidents.config import AVAILABILITIES, CAPABILITIES, PEER_KIND, checked_words
from shieldwall.incidents.tables import responder_profiles, taskings
from shieldwall.incidents.times import stamp
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, may_declare_responder

DEFAULT_NEEDS = ("incident-response",)


@dataclass(frozen=True, slots=True)
class Profile:
    """What a member declares it can do for others, where, and whether now."""

    capabilities: tuple[str, ...]
    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    availability: str = "available"
    note: str = ""


def checked_profile(profile: Profile) -> Profile:
    """The profile with each word checked and normalised; Invalid naming the field."""
    if profile.availability not in AVAILABILITIES:
        message = f"unknown availability {profile.availability!r}; known: " + ", ".join(
            AVAILABILITIES
        )
        raise Invalid(message, details=[{"property": "availability", "message": message}])
    if len(profile.note) > 2000:
        raise Invalid("note: at most 2000 characters")
    return Profile(
        tuple(checked_words(profile.capabilities, "capabilities", known=CAPABILITIES)),
        tuple(checked_words(profile.countries, "countries", code="upper")),
        tuple(checked_words(profile.sectors, "sectors")),
        tuple(checked_words(profile.languages, "languages", code="lower")),
        profile.availability,
        profile.note.strip(),
    )


def profile_as_dict(row: Any, name: str) -> dict[str, Any]:
    """A stored profile as the API shows it."""
    return {
        "member_id": row.member_id,
        "member_name": name,
        "capabilities": orjson.loads(row.capabilities),
        "countries": orjson.loads(row.countries),
        "sectors": orjson.loads(row.sectors),
        "languages": orjson.loads(row.languages),
        "availability": row.availability,
        "note": row.note,
        "updated_at": row.updated_at,
    }


def _with_names(conn: Connection, where: Any = None) -> list[dict[str, Any]]:
    query = select(responder_profiles, members.c.name).join(
        members, members.c.id == responder_profiles.c.member_id
    )
    if where is not None:
        query = query.where(where)
    return [profile_as_dict(r, r.name) for r in conn.execute(query.order_by(members.c.name))]


def list_profiles(conn: Connection) -> list[dict[str, Any]]:
    """Every declared profile, by member name: directory information every member reads."""
    return _with_names(conn)


def get_profile(conn: Connection, member_id: str) -> dict[str, Any]:
    """One member's profile; NotFound when it declared none."""
    found = _with_names(conn, responder_profiles.c.member_id == member_id)
    if not found:
        raise NotFound("this member has declared no responder profile")
    return found[0]


def declare(
    db: Database, viewer: Viewer, member_id: str, profile: Profile, now: datetime
) -> dict[str, Any]:
    """Create or replace a member's profile, audited."""
    if not may_declare_responder(viewer, member_id):
        raise Forbidden("only the member's member-admins (and instance admins) declare its profile")
    profile = checked_profile(profile)
    with db.write() as conn:
        kind = conn.scalar(select(members.c.kind).where(members.c.id == member_id))
        if kind is None:
            raise NotFound("no such member")
        if kind == PEER_KIND:
            raise Invalid("a peer instance takes no part in incidents: it has no responder profile")
        values = {
            "capabilities": orjson.dumps(list(profile.capabilities)).decode(),
            "countries": orjson.dumps(list(profile.countries)).decode(),
            "sectors": orjson.dumps(list(profile.sectors)).decode(),
            "languages": orjson.dumps(list(profile.languages)).decode(),
            "availability": profile.availability,
            "note": profile.note,
            "updated_at": stamp(now),
            "updated_by_user_id": viewer.user_id,
        }
        exists = conn.scalar(
            select(responder_profiles.c.member_id).where(
                responder_profiles.c.member_id == member_id
            )
        )
        if exists:
            conn.execute(
                responder_profiles.update()
                .where(responder_profiles.c.member_id == member_id)
                .values(**values)
            )
        else:
            conn.execute(responder_profiles.insert().values(member_id=member_id, **values))
        audit.append(conn, viewer, "responder.declare", {"member": member_id, **values})
        return get_profile(conn, member_id)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A responder an incident could task, with its fit and the reasons for it."""

    member_id: str
    member_name: str
    score: int
    covered: int  # needed capabilities covered
    reasons: tuple[str, ...] = field(default=())
    rank: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The proposal as the API shows it."""
        return {
            "rank": self.rank,
            "member_id": self.member_id,
            "member_name": self.member_name,
            "score": self.score,
            "reasons": list(self.reasons),
        }


def _fit(row: Any, incident: Any, requester_country: str | None) -> tuple[int, int, list[str]]:
    """(score, needs covered, reasons) of one profile for one incident."""
    needs = orjson.loads(incident.needs) or list(DEFAULT_NEEDS)
    offered = set(orjson.loads(row.capabilities))
    covered = [n for n in needs if n in offered]
    missing = [n for n in needs if n not in offered]
    reasons = [f"covers {', '.join(covered)} ({len(covered)} of {len(needs)} needed)"]
    if missing:
        reasons.append(f"does not cover {', '.join(missing)}")
    score = 10 * len(covered)
    countries = orjson.loads(incident.countries) or (
        [requester_country] if requester_country else []
    )
    served = [c for c in countries if c in orjson.loads(row.countries)]
    if served:
        score += 4
        reasons.append(f"covers country {', '.join(served)}")
    elif countries:
        reasons.append(f"does not cover country {', '.join(countries)}")
    theirs = {s.casefold() for s in orjson.loads(row.sectors)}
    sectors = [s for s in orjson.loads(incident.sectors) if s.casefold() in theirs]
    if sectors:
        score += 2
        reasons.append(f"covers sector {', '.join(sectors)}")
    spoken = [
        lang for lang in orjson.loads(incident.languages) if lang in orjson.loads(row.languages)
    ]
    if spoken:
        score += 2
        reasons.append(f"speaks {', '.join(spoken)}")
    if row.availability == "available":
        score += 3
        reasons.append("available now")
    else:
        reasons.append("limited availability")
    return score, len(covered), reasons


def propose(conn: Connection, incident: Any) -> list[Proposal]:
    """The responders this incident could task next, best fit first, each with its reasons."""
    taken = set(
        conn.scalars(select(taskings.c.member_id).where(taskings.c.incident_id == incident.id))
    )
    taken |= {incident.requester_member_id, incident.coordinator_member_id}
    requester_country = conn.scalar(
        select(members.c.country).where(members.c.id == incident.requester_member_id)
    )
    rows = conn.execute(
        select(responder_profiles, members.c.name)
        .join(members, members.c.id == responder_profiles.c.member_id)
        .where(responder_profiles.c.availability != "unavailable", members.c.kind != PEER_KIND)
    ).all()
    found = []
    for row in rows:
        if row.member_id in taken:
            continue
        score, covered, reasons = _fit(row, incident, requester_country)
        if covered:
            found.append(Proposal(row.member_id, row.name, score, covered, tuple(reasons)))
    found.sort(key=lambda p: (-p.score, -p.covered, p.member_name))
    return [
        Proposal(p.member_id, p.member_name, p.score, p.covered, p.reasons, rank)
        for rank, p in enumerate(found, start=1)
    ]
