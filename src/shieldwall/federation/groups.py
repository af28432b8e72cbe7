"""Sharing groups that reach this instance from a peer, under the name the peer gives them.

A group's objects travel to the peers in it and arrive there restricted to the same group (same
id). Its definition travels too: a sync round reads the groups the peer says we are in (its
GET /api/v1/groups, as answered to our account there) and makes each here, with the peer in it,
under its name and description; an admin then adds the members of this instance who take part
(`shieldwall group join`). An object may also arrive before its group's definition (the peer
pushed it): the group is then made under a placeholder name, which the next round replaces.
Only groups that arrived from that peer are ever renamed: a group of our own is left alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select, update

from shieldwall.errors import Conflict
from shieldwall.federation.peers import Peer
from shieldwall.members.service import create_group
from shieldwall.members.tables import sharing_group_members, sharing_groups

_NAME_LIMIT, _DESCRIPTION_LIMIT = 200, 4000


def arrived_group(
    conn: Connection, peer: Peer, group_id: str, name: str | None = None, description: str = ""
) -> bool:
    """Make the group `group_id` here, with the peer in it, if it is new; returns whether it may
    hold what the peer sends (it is new, or the peer is in it here)."""
    exists = conn.scalar(select(sharing_groups.c.id).where(sharing_groups.c.id == group_id))
    if exists is None:
        create_group(
            conn, _free_name(conn, peer, group_id, name), peer.member_id, [],
            description=description or _placeholder_description(peer), group_id=group_id,
        )  # fmt: skip
        return True
    member = conn.scalar(
        select(sharing_group_members.c.member_id).where(
            sharing_group_members.c.group_id == group_id,
            sharing_group_members.c.member_id == peer.member_id,
        )
    )
    return member is not None


def learn_groups(conn: Connection, peer: Peer, listing: Any) -> int:
    """Make or rename the groups `listing` (the peer's GET /api/v1/groups) says we are in;
    returns how many were made or changed. Entries that are not a group are skipped."""
    entries = listing.get("groups") if type(listing) is dict else None
    if type(entries) is not list:
        return 0
    changed = 0
    for entry in entries:
        if type(entry) is not dict or not _is_uuid(entry.get("id")):
            continue
        group_id = str(entry["id"])
        name = entry.get("name") if type(entry.get("name")) is str else None
        description = entry.get("description") if type(entry.get("description")) is str else ""
        name = (name or "").strip()[:_NAME_LIMIT] or None
        description = description[:_DESCRIPTION_LIMIT] or _placeholder_description(peer)
        c = sharing_groups.c
        row = conn.execute(
            select(c.name, c.description, c.owner_member_id).where(c.id == group_id)
        ).first()
        if row is None:
            arrived_group(conn, peer, group_id, name, description)
            changed += 1
            continue
        if row.owner_member_id != peer.member_id:
            continue  # ours, or another peer's: not this peer's to name
        wanted = row.name if name is None or row.name == name else (
            _free_name(conn, peer, group_id, name)
        )  # fmt: skip
        if (wanted, description) != (row.name, row.description):
            conn.execute(
                update(sharing_groups)
                .where(sharing_groups.c.id == group_id)
                .values(name=wanted, description=description)
            )
            changed += 1
    return changed


def _free_name(conn: Connection, peer: Peer, group_id: str, name: str | None) -> str:
    """The peer's name for the group if no other group here has it, else with the peer's name
    beside it, else a placeholder (group names are unique on an instance)."""
    candidates = [name, f"{name} (from {peer.name})"] if name else []
    candidates.append(f"{peer.name}: group {group_id[:8]}")
    for candidate in candidates:
        taken = conn.scalar(
            select(sharing_groups.c.id).where(
                sharing_groups.c.name == candidate[:_NAME_LIMIT], sharing_groups.c.id != group_id
            )
        )
        if taken is None:
            return candidate[:_NAME_LIMIT]
    raise Conflict(f"no free name for the sharing group {group_id} from {peer.name}")


def _placeholder_description(peer: Peer) -> str:
    return (
        f"A sharing group that arrived from the peer {peer.name}. Its objects stay in it here "
        "and travel no further; an admin adds the members of this instance who take part in it."
    )


def _is_uuid(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
