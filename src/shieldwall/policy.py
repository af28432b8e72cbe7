"""Who may see, change and forward what: the access rules of DESIGN.md, in one place.

The visibility rule is written twice on purpose — as a SQL filter for every list, search and
export, and as a predicate for a single object in hand — and a property-based test asserts the
two agree on random worlds (tests/test_policy.py). Change both or neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, true

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

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# Distributions that reach every member of this instance, and the broadest TLP each may carry.
_INSTANCE_WIDE: tuple[tuple[Distribution, TLP], ...] = (
    (Distribution.COMMUNITY, TLP.AMBER_STRICT),
    (Distribution.FEDERATION, TLP.AMBER_STRICT),
    (Distribution.ALL, TLP.GREEN),
)


def may_see(viewer: Viewer, row: Mapping[str, Any]) -> bool:
    """The predicate form: may `viewer` learn that the stored object version `row` exists?

    Instance admins see everything (they run the instance and answer for it, as in MISP). A
    member always sees its own objects. Others see an object only when its distribution reaches
    them and its TLP allows that distribution — checked again here although ingest already
    refuses such objects, so that a bad row can never widen who sees it.
    """
    if viewer.is_admin or row["member_id"] == viewer.member_id:
        return True
    distribution = Distribution(row["distribution"])
    tlp = TLP(row["tlp"])
    if distribution is Distribution.GROUP:
        return row["sharing_group_id"] in viewer.group_ids and allows(tlp, distribution)
    return distribution is not Distribution.ORG and allows(tlp, distribution)


def visible_filter(viewer: Viewer, table: Table) -> ColumnElement[bool]:
    """The SQL form of `may_see`, for a table with the columns member_id, distribution, tlp and
    sharing_group_id."""
    if viewer.is_admin:
        return true()
    c = table.c
    clauses = [c.member_id == viewer.member_id]
    clauses += [
        and_(c.distribution == distribution.value, c.tlp <= broadest)
        for distribution, broadest in _INSTANCE_WIDE
    ]
    if viewer.group_ids:
        clauses.append(
            and_(
                c.distribution == Distribution.GROUP.value,
                c.sharing_group_id.in_(sorted(viewer.group_ids)),
            )
        )
    return or_(*clauses)


def may_know_contributor(viewer: Viewer, row: Mapping[str, Any]) -> bool:
    """Who really contributed an anonymous object: instance admins and the contributor only."""
    return viewer.is_admin or row["member_id"] == viewer.member_id


def may_write_intel(viewer: Viewer) -> bool:
    return viewer.role in (Role.ADMIN, Role.MEMBER_ADMIN, Role.ANALYST)


def may_share_with_group(viewer: Viewer, group_id: str) -> bool:
    """Only a member of a sharing group may address intel to it."""
    return group_id in viewer.group_ids


def may_manage_member(viewer: Viewer, member_id: str) -> bool:
    """Instance admins manage every member; a member-admin manages its own."""
    return viewer.is_admin or (viewer.role is Role.MEMBER_ADMIN and viewer.member_id == member_id)


def may_grant_role(viewer: Viewer, role: Role) -> bool:
    """Nobody but an instance admin creates instance admins."""
    return viewer.is_admin or (viewer.role is Role.MEMBER_ADMIN and role is not Role.ADMIN)
