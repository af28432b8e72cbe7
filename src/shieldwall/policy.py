"""Who may see, change and forward what: the access rules of DESIGN.md, in one place.

The visibility rule is written twice on purpose — as a SQL filter for every list, search and
export, and as a predicate for a single object in hand — and a property-based test asserts the
two agree on random worlds (tests/test_policy.py). Change both or neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, or_, select

from shieldwall.markings import TLP, Distribution, allows


class Role(StrEnum):
    ADMIN = "admin"  # runs the instance
    MEMBER_ADMIN = "member-admin"  # manages its own member's users
    ANALYST = "analyst"  # shares intel for its member
    READER = "reader"  # reads only


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated user a decision is about, with what the policy needs to know of them."""

    user_id: str
    member_id: str
    role: Role
    group_ids: frozenset[str] = field(default_factory=frozenset)
    email: str = ""
    # An account of a member of kind `peer`: another instance reading what may leave towards it.
    peer: bool = False
    # For a peer's account: every member of kind `peer` here. What arrived from a peer in a
    # sharing group stays in that group on this instance and never travels further.
    peer_member_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# Distributions that reach every member of this instance, and the broadest TLP each may carry.
_INSTANCE_WIDE: tuple[tuple[Distribution, TLP], ...] = (
    (Distribution.COMMUNITY, TLP.AMBER_STRICT),
    (Distribution.FEDERATION, TLP.AMBER_STRICT),
    (Distribution.ALL, TLP.GREEN),
)
# What may leave this instance towards a peer (besides its sharing groups): `community` stays.
_LEAVING = _INSTANCE_WIDE[1:]


def may_see(viewer: Viewer, row: Mapping[str, Any]) -> bool:
    """The predicate form: may `viewer` learn that the stored object version `row` exists?

    A member always sees its own objects. Others see an object only when its distribution
    reaches them and its TLP allows that distribution — checked again here although ingest
    already refuses such objects, so that a bad row can never widen who sees it. Instance admins
    are no exception: they run the instance, they do not read members' secrets. What they see of
    objects they may not read is the metadata running the instance needs (may_see_metadata), and
    the content only through a break-glass read (may_break_glass), which is audited and shown to
    the owning member's admins.

    A peer (another instance, through the account it was given here) sees only what may leave
    towards it: `federation` and `all` within their TLP caps, and the groups it belongs to
    (only what was shared here: a group's objects that arrived from a peer go no further);
    never `org` or `community`.
    """
    if row["member_id"] == viewer.member_id:
        return True
    distribution = Distribution(row["distribution"])
    tlp = TLP(row["tlp"])
    if distribution is Distribution.GROUP:
        if viewer.peer and row["member_id"] in viewer.peer_member_ids:
            return False
        return row["sharing_group_id"] in viewer.group_ids and allows(tlp, distribution)
    if viewer.peer and distribution is Distribution.COMMUNITY:
        return False
    return distribution is not Distribution.ORG and allows(tlp, distribution)


def visible_filter(viewer: Viewer, table: Table) -> ColumnElement[bool]:
    """The SQL form of `may_see`, for a table with the columns member_id, distribution, tlp and
    sharing_group_id."""
    c = table.c
    clauses = [c.member_id == viewer.member_id]
    clauses += [
        and_(c.distribution == distribution.value, c.tlp <= broadest)
        for distribution, broadest in (_LEAVING if viewer.peer else _INSTANCE_WIDE)
    ]
    if viewer.group_ids:
        in_group = and_(
            c.distribution == Distribution.GROUP.value,
            c.sharing_group_id.in_(sorted(viewer.group_ids)),
        )
        if viewer.peer and viewer.peer_member_ids:
            in_group = and_(in_group, c.member_id.not_in(sorted(viewer.peer_member_ids)))
        clauses.append(in_group)
    return or_(*clauses)


def may_see_group(viewer: Viewer, group: Mapping[str, Any]) -> bool:
    """May `viewer` learn of the sharing group (its name, description, members)? Admins see
    every group, others the groups their member is in; a peer's account never a group that
    arrived from a peer: like its objects, its definition travels no further."""
    if viewer.is_admin:
        return True
    if viewer.member_id not in group["member_ids"]:
        return False
    return not (viewer.peer and group["owner_member_id"] in viewer.peer_member_ids)


def may_see_metadata(viewer: Viewer) -> bool:
    """May `viewer` list that every stored object exists, with its owner, size, marking and
    dates (never its content)? Instance admins, for retention, erasure and capacity."""
    return viewer.is_admin


def may_break_glass(viewer: Viewer) -> bool:
    """May `viewer` read an object's content that the visibility rule keeps from it, naming a
    reason that is audited and shown to the owning member's admins? Instance admins only."""
    return viewer.is_admin


def may_know_contributor(viewer: Viewer, row: Mapping[str, Any]) -> bool:
    """Who really contributed an anonymous object: instance admins and the contributor only."""
    return viewer.is_admin or row["member_id"] == viewer.member_id


def may_write_intel(viewer: Viewer) -> bool:
    return viewer.role in (Role.ADMIN, Role.MEMBER_ADMIN, Role.ANALYST)


def may_remove(viewer: Viewer, row: Mapping[str, Any]) -> bool:
    """May `viewer` delete the stored object version `row` (TAXII's DELETE)? The contributing
    member's users who may share intel, and instance admins, who answer for what is kept."""
    return viewer.is_admin or (row["member_id"] == viewer.member_id and may_write_intel(viewer))


def may_share_with_group(viewer: Viewer, group_id: str) -> bool:
    """Only a member of a sharing group may address intel to it."""
    return group_id in viewer.group_ids


def may_manage_member(viewer: Viewer, member_id: str) -> bool:
    """Instance admins manage every member; a member-admin manages its own."""
    return viewer.is_admin or (viewer.role is Role.MEMBER_ADMIN and viewer.member_id == member_id)


def may_grant_role(viewer: Viewer, role: Role) -> bool:
    """Nobody but an instance admin creates instance admins."""
    return viewer.is_admin or (viewer.role is Role.MEMBER_ADMIN and role is not Role.ADMIN)


# --- Incidents ---------------------------------------------------------------------------------
# An incident is seen by the members taking part in it, and by no one else: not instance admins,
# not through a count, a total or an error. Unlike intel, its TLP never widens who sees it: it
# says what those who see it may do with it (TLP 2.0), and travels on every answer about it.
# Incidents never leave the instance: a peer's accounts take no part in them.

#: The states of a responder's tasking that let its member see the incident: asked and not yet
#: answered (so it can decide), or accepted. Declined, expired and released ones do not.
STANDING_TASKINGS = ("tasked", "accepted")


def may_see_incident(
    viewer: Viewer, incident: Mapping[str, Any], taskings: Iterable[Mapping[str, Any]]
) -> bool:
    """The predicate form: may `viewer` learn that the incident row `incident` exists?

    Its requester and its current coordinator may, and each member whose tasking on it stands
    (`taskings` are the incident's tasking rows; rows of other incidents are ignored).
    """
    if viewer.peer:
        return False
    if viewer.member_id in (incident["requester_member_id"], incident["coordinator_member_id"]):
        return True
    return any(
        t["incident_id"] == incident["id"]
        and t["member_id"] == viewer.member_id
        and t["state"] in STANDING_TASKINGS
        for t in taskings
    )


def incident_visible_filter(
    viewer: Viewer, incidents: Table, taskings: Table
) -> ColumnElement[bool]:
    """The SQL form of `may_see_incident`, for the incidents table and the taskings table."""
    if viewer.peer:
        return false()
    i, t = incidents.c, taskings.c
    standing = select(t.incident_id).where(
        t.member_id == viewer.member_id, t.state.in_(STANDING_TASKINGS)
    )
    return or_(
        i.requester_member_id == viewer.member_id,
        i.coordinator_member_id == viewer.member_id,
        i.id.in_(standing),
    )


def may_act_in_incident(viewer: Viewer) -> bool:
    """May `viewer` write to an incident its member takes part in (file, note, task, answer)?
    Every role but readers, who read; never a peer's accounts."""
    return not viewer.peer and viewer.role in (Role.ADMIN, Role.MEMBER_ADMIN, Role.ANALYST)


def may_coordinate_incident(viewer: Viewer, incident: Mapping[str, Any]) -> bool:
    """Tasking responders, moving the status, handing the lead over: the coordinator's users
    who may act. An instance admin of another member may not."""
    return viewer.member_id == incident["coordinator_member_id"] and may_act_in_incident(viewer)


def may_answer_tasking(viewer: Viewer, tasking: Mapping[str, Any]) -> bool:
    """Accepting or declining a tasking: the tasked member's users who may act."""
    return viewer.member_id == tasking["member_id"] and may_act_in_incident(viewer)


def may_declare_responder(viewer: Viewer, member_id: str) -> bool:
    """A member's responder profile is declared by its member-admins (and instance admins)."""
    return may_manage_member(viewer, member_id)
