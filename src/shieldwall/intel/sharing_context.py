"""What ingest reads from the store before it resolves a bundle's sharing: the sharing member's
defaults, the identities only the platform may write, and the marking definitions already shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, select

from shieldwall.intel import sharing
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP, Distribution, tlp_of_definition
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, visible_filter


@dataclass(frozen=True, slots=True)
class MemberContext:
    defaults: sharing.MemberDefaults
    # identity id -> the name the platform gives it: every member's identity and the broker's.
    reserved_identities: Mapping[str, str]
    broker_identity: str

    @property
    def foreign_identities(self) -> frozenset[str]:
        """Identities the sharing member may not name as creator (others' and the broker's)."""
        return frozenset(self.reserved_identities) - {self.defaults.identity_id}


def member_context(
    conn: Connection, viewer: Viewer, broker_identity: str = "", broker_name: str = ""
) -> MemberContext:
    rows = conn.execute(
        select(
            members.c.id,
            members.c.name,
            members.c.identity_id,
            members.c.default_tlp,
            members.c.default_distribution,
        )
    ).all()
    mine = next(r for r in rows if r.id == viewer.member_id)
    defaults = sharing.MemberDefaults(
        member_id=mine.id,
        identity_id=mine.identity_id,
        tlp=TLP(mine.default_tlp),
        distribution=Distribution(mine.default_distribution),
    )
    reserved = {r.identity_id: r.name for r in rows}
    if broker_identity:
        reserved[broker_identity] = broker_name
    return MemberContext(defaults, reserved, broker_identity)


def stored_marking_levels(
    conn: Connection, viewer: Viewer, marking_ids: set[str]
) -> dict[str, TLP | None]:
    """The TLP of each marking definition already shared that `viewer` may see (None: not a TLP
    marking); the strictest where several members hold a copy. Ids nobody defined are absent."""
    levels: dict[str, TLP | None] = {}
    query = select(objects.c.object_id, objects.c.body).where(
        objects.c.type == "marking-definition",
        objects.c.object_id.in_(sorted(marking_ids)),
        objects.c.is_latest.is_(True),
        visible_filter(viewer, objects),
    )
    for object_id, body in conn.execute(query):
        try:
            level = tlp_of_definition(orjson.loads(body))
        except ValueError:
            level = TLP.RED  # says it is TLP, names no level we can read: its strictest
        sharing.keep_strictest(levels, object_id, level)
    return levels
