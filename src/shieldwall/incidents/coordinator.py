"""Who coordinates a new incident: the instance's rule (SHIELDWALL_INCIDENT_COORDINATOR).

The rule is a list of steps tried in order; the first that names a member other than the
requester wins, and the reason is kept on the incident so everyone taking part sees why. By
default the requester's national CERT coordinates when it has one (same country, kind
national-cert), otherwise the alliance centre. A national CERT asking for help has no national
CERT of its own to turn to (not itself, nor another in its country): the next step applies.
When no step names anyone, the requester coordinates its own incident: asking for help is never
refused for want of a coordinator. Peers (other instances) never coordinate: incidents stay here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from shieldwall.incidents.config import ALLIANCE, MEMBER_PREFIX, NATIONAL_CERT, PEER_KIND
from shieldwall.members.tables import members


@dataclass(frozen=True, slots=True)
class CoordinatorChoice:
    """The member the rule chose to coordinate, and why: shown on the incident."""

    member_id: str
    reason: str


def _oldest(conn: Connection, *conditions: Any) -> Any:
    return conn.execute(
        select(members.c.id, members.c.name)
        .where(*conditions)
        .order_by(members.c.created_at, members.c.name)
        .limit(1)
    ).first()


def choose_coordinator(
    conn: Connection, rule: tuple[str, ...], requester_id: str
) -> CoordinatorChoice:
    """The coordinator `rule` gives a request filed by `requester_id`, with the reason."""
    requester = conn.execute(select(members).where(members.c.id == requester_id)).one()
    for step in rule:
        if step == NATIONAL_CERT:
            # A national CERT has no national CERT of its own to turn to: the next step.
            if requester.country is None or requester.kind == "national-cert":
                continue
            found = _oldest(
                conn,
                members.c.kind == "national-cert",
                members.c.country == requester.country,
                members.c.id != requester_id,
            )
            if found:
                return CoordinatorChoice(
                    found.id, f"the requester's national CERT ({requester.country})"
                )
        elif step == ALLIANCE:
            found = _oldest(conn, members.c.kind == "alliance")
            if found:
                return CoordinatorChoice(found.id, "the alliance centre")
        elif step.startswith(MEMBER_PREFIX):
            name = step[len(MEMBER_PREFIX) :].strip()
            found = _oldest(
                conn,
                members.c.name == name,
                members.c.id != requester_id,
                members.c.kind != PEER_KIND,
            )
            if found:
                return CoordinatorChoice(found.id, f"named by the instance's rule ({name})")
    return CoordinatorChoice(
        requester_id, "no member the instance's rule names: the requester coordinates"
    )
