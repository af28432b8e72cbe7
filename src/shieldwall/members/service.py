"""Members, users, API keys and sharing groups: creation, lookup and authentication."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from shieldwall.db import utc_now
from shieldwall.errors import Conflict, Invalid, NotFound
from shieldwall.intel.identities import publish_member
from shieldwall.intel.validate_properties import show
from shieldwall.intel.validate_values import domain_problem
from shieldwall.markings import TLP, Distribution
from shieldwall.members import keys
from shieldwall.members.keys import NewApiKey
from shieldwall.members.tables import (
    members,
    sharing_group_members,
    sharing_groups,
    users,
)
from shieldwall.policy import Role, Viewer

# `peer`: another instance (federation), whose accounts see only what may leave towards it.
MEMBER_KINDS = ("alliance", "national-cert", "industry", "academia", "partner", "peer")
# Namespace of the STIX identities this platform derives for its members and its broker.
IDENTITY_NAMESPACE = uuid.UUID("6f1f4a36-3a5e-4b57-9d43-9a4ac8c1d1b0")


def identity_for(name: str) -> str:
    return f"identity--{uuid.uuid5(IDENTITY_NAMESPACE, name)}"


def broker_identity(broker_name: str) -> str:
    """The identity other members see as creator of anonymous contributions."""
    return identity_for(f"broker:{broker_name}")


def create_member(
    conn: Connection,
    name: str,
    kind: str,
    *,
    country: str | None = None,
    sectors: list[str] | tuple[str, ...] = (),
    capabilities: list[str] | tuple[str, ...] = (),
    contacts: list[str] | tuple[str, ...] = (),
    default_tlp: TLP = TLP.AMBER,
    default_distribution: Distribution = Distribution.COMMUNITY,
    identity_id: str | None = None,
) -> str:
    name = name.strip()
    if not name:
        raise Invalid("a member needs a name")
    if kind not in MEMBER_KINDS:
        raise Invalid(f"unknown member kind {kind!r}; expected one of {', '.join(MEMBER_KINDS)}")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise Invalid(f"country must be a two-letter ISO 3166 code, not {country!r}")
    if default_distribution is Distribution.GROUP:
        raise Invalid("a member's default distribution cannot be a sharing group")
    if conn.scalar(select(members.c.id).where(members.c.name == name)):
        raise Conflict(f"a member named {name!r} already exists")
    member_id = str(uuid.uuid4())
    conn.execute(
        members.insert().values(
            id=member_id,
            name=name,
            kind=kind,
            country=country.upper() if country else None,
            sectors=orjson.dumps(list(sectors)).decode(),
            capabilities=orjson.dumps(list(capabilities)).decode(),
            contacts=orjson.dumps(list(contacts)).decode(),
            identity_id=identity_id or identity_for(f"member:{member_id}"),
            default_tlp=int(default_tlp),
            default_distribution=default_distribution.value,
            created_at=utc_now(),
        )
    )
    publish_member(conn, member_id)  # its STIX identity, which every member may read
    return member_id


def member_as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "country": row.country,
        "sectors": orjson.loads(row.sectors),
        "capabilities": orjson.loads(row.capabilities),
        "contacts": orjson.loads(row.contacts),
        "identity_id": row.identity_id,
        "default_tlp": TLP(row.default_tlp).label,
        "default_distribution": row.default_distribution,
        "created_at": row.created_at,
    }


def get_member(conn: Connection, member_id: str) -> dict[str, Any]:
    row = conn.execute(select(members).where(members.c.id == member_id)).first()
    if row is None:
        raise NotFound("no such member")
    return member_as_dict(row)


def member_id_by_name(conn: Connection, name: str) -> str:
    member_id = conn.scalar(select(members.c.id).where(members.c.name == name))
    if member_id is None:
        raise NotFound(f"no member named {name!r}")
    return member_id


def list_members(conn: Connection) -> list[dict[str, Any]]:
    return [member_as_dict(r) for r in conn.execute(select(members).order_by(members.c.name))]


# RFC 5322 §3.2.3 dot-atom local part (no quoted strings: no mail system of a partner needs them,
# and every character outside it has been a way to smuggle markup or a line into a page or log).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def checked_email(email: str) -> str:
    """A user's e-mail address, lower case; Invalid unless it is one: a dot-atom local part of
    at most 64 characters, '@', and a host name of at least two labels (RFC 5321 §4.5.3.1)."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    problem = domain_problem(domain) if domain else "is missing"
    if (
        not at
        or len(address) > 254
        or len(local) > 64
        or not _LOCAL_PART.fullmatch(local)
        or problem is not None
        or "." not in domain.strip(".")
    ):
        raise Invalid(
            f"{show(email)} is not an e-mail address: a local part of letters, digits and "
            "!#$%&'*+/=?^_`{|}~- (dots between), '@', and a domain such as example.org"
        )
    return address


def create_user(conn: Connection, email: str, member_id: str, role: Role) -> NewApiKey:
    """A new user with its first API key."""
    email = checked_email(email)
    if conn.scalar(select(members.c.id).where(members.c.id == member_id)) is None:
        raise NotFound("no such member")
    if conn.scalar(select(users.c.id).where(users.c.email == email)):
        # Addresses are unique on the instance (a user signs in with one), so a clash can be
        # with another member's user: the answer names neither the address nor where it is,
        # and is the same for a clash within the caller's own member.
        raise Conflict("this e-mail address cannot be given to a new user")
    user_id = str(uuid.uuid4())
    conn.execute(
        users.insert().values(
            id=user_id,
            email=email,
            member_id=member_id,
            role=Role(role).value,
            disabled=False,
            created_at=utc_now(),
        )
    )
    return issue_api_key(conn, user_id)


def issue_api_key(conn: Connection, user_id: str, **options: Any) -> NewApiKey:
    """A new key for the user, replacing its active key of the same name (keys.issue)."""
    return keys.issue(conn, user_id, **options)


def user_as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "member_id": row.member_id,
        "role": row.role,
        "disabled": row.disabled,
        "created_at": row.created_at,
    }


def list_users(conn: Connection, member_id: str | None = None) -> list[dict[str, Any]]:
    query = select(users).order_by(users.c.email)
    if member_id is not None:
        query = query.where(users.c.member_id == member_id)
    return [user_as_dict(r) for r in conn.execute(query)]


def get_user(conn: Connection, user_id: str) -> dict[str, Any]:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound("no such user")
    return user_as_dict(row)


def user_by_email(conn: Connection, email: str) -> dict[str, Any]:
    row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise NotFound(f"no user with e-mail {email!r}")
    return user_as_dict(row)


def set_user_disabled(conn: Connection, user_id: str, disabled: bool) -> None:
    get_user(conn, user_id)
    conn.execute(users.update().where(users.c.id == user_id).values(disabled=disabled))


def set_user_role(conn: Connection, user_id: str, role: Role) -> None:
    get_user(conn, user_id)
    conn.execute(users.update().where(users.c.id == user_id).values(role=Role(role).value))


def create_group(
    conn: Connection, name: str, owner_member_id: str, member_ids: list[str], description: str = "",
    *, group_id: str | None = None,
) -> str:  # fmt: skip
    """A new sharing group; its id (`group_id`: a group that arrived from a peer keeps its own)."""
    name = name.strip()
    if not name:
        raise Invalid("a sharing group needs a name")
    if conn.scalar(select(sharing_groups.c.id).where(sharing_groups.c.name == name)):
        # Group names are unique on the instance (commands and TAXII collections name groups):
        # the clash may be with a group the caller cannot see, so the answer is the same
        # whichever group it is, and names none.
        raise Conflict("a sharing group cannot be created with this name: choose another")
    wanted = set(member_ids) | {owner_member_id}
    known = set(conn.scalars(select(members.c.id).where(members.c.id.in_(sorted(wanted)))))
    if missing := wanted - known:
        raise NotFound(f"no such member: {', '.join(sorted(missing))}")
    group_id = group_id or str(uuid.uuid4())
    conn.execute(
        sharing_groups.insert().values(
            id=group_id,
            name=name,
            description=description,
            owner_member_id=owner_member_id,
            created_at=utc_now(),
        )
    )
    conn.execute(
        sharing_group_members.insert(),
        [{"group_id": group_id, "member_id": m} for m in sorted(wanted)],
    )
    return group_id


def add_group_member(conn: Connection, group_id: str, member_id: str) -> None:
    get_group(conn, group_id)
    if conn.scalar(select(members.c.id).where(members.c.id == member_id)) is None:
        raise NotFound("no such member")
    exists = conn.scalar(
        select(func.count())
        .select_from(sharing_group_members)
        .where(
            sharing_group_members.c.group_id == group_id,
            sharing_group_members.c.member_id == member_id,
        )
    )
    if not exists:
        conn.execute(sharing_group_members.insert().values(group_id=group_id, member_id=member_id))


def get_group(conn: Connection, group_id: str) -> dict[str, Any]:
    row = conn.execute(select(sharing_groups).where(sharing_groups.c.id == group_id)).first()
    if row is None:
        raise NotFound("no such sharing group")
    member_ids = sorted(
        conn.scalars(
            select(sharing_group_members.c.member_id).where(
                sharing_group_members.c.group_id == group_id
            )
        )
    )
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "owner_member_id": row.owner_member_id,
        "member_ids": member_ids,
        "created_at": row.created_at,
    }


def list_groups(conn: Connection, member_id: str | None = None) -> list[dict[str, Any]]:
    """Every group, or only those `member_id` belongs to."""
    query = select(sharing_groups.c.id).order_by(sharing_groups.c.name)
    if member_id is not None:
        query = query.join(
            sharing_group_members, sharing_group_members.c.group_id == sharing_groups.c.id
        ).where(sharing_group_members.c.member_id == member_id)
    return [get_group(conn, gid) for gid in conn.scalars(query)]


def group_names_of(conn: Connection, member_id: str) -> dict[str, str]:
    """Id -> name of every sharing group `member_id` belongs to."""
    query = select(sharing_groups.c.id, sharing_groups.c.name).join(
        sharing_group_members, sharing_group_members.c.group_id == sharing_groups.c.id
    )
    return {row.id: row.name for row in conn.execute(
        query.where(sharing_group_members.c.member_id == member_id)
    )}  # fmt: skip


def groups_with_members(
    conn: Connection, group_ids: list[str]
) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Id -> (name, [(member id, member name)...]) of each of these sharing groups that exists."""
    found: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    if not group_ids:
        return found
    rows = conn.execute(
        select(sharing_groups.c.id, sharing_groups.c.name, members.c.id.label("member_id"),
               members.c.name.label("member_name"))
        .join(sharing_group_members, sharing_group_members.c.group_id == sharing_groups.c.id)
        .join(members, members.c.id == sharing_group_members.c.member_id)
        .where(sharing_groups.c.id.in_(sorted(set(group_ids))))
        .order_by(sharing_groups.c.id, members.c.name)
    )  # fmt: skip
    for row in rows:
        found.setdefault(row.id, (row.name, []))[1].append((row.member_id, row.member_name))
    return found


def group_ids_of(conn: Connection, member_id: str) -> frozenset[str]:
    return frozenset(
        conn.scalars(
            select(sharing_group_members.c.group_id).where(
                sharing_group_members.c.member_id == member_id
            )
        )
    )


def viewer_for_email(conn: Connection, email: str) -> Viewer:
    """The viewer of the user with this e-mail (commands act as a user named so)."""
    return viewer_for_user(conn, user_by_email(conn, email)["id"])


def viewer_for_user(conn: Connection, user_id: str) -> Viewer:
    user = get_user(conn, user_id)
    kind = conn.scalar(select(members.c.kind).where(members.c.id == user["member_id"]))
    return viewer_for_member(
        conn, user["member_id"], user_id=user["id"], role=Role(user["role"]),
        email=user["email"], peer=kind == "peer",
    )  # fmt: skip


def viewer_for_member(
    conn: Connection, member_id: str, *, user_id: str, role: Role, email: str = "",
    peer: bool = False,
) -> Viewer:  # fmt: skip
    """The one place a Viewer is made from the database (users, and a peer's sync)."""
    peer_ids = (
        frozenset(conn.scalars(select(members.c.id).where(members.c.kind == "peer"))) | {member_id}
        if peer
        else frozenset()
    )
    return Viewer(
        user_id=user_id,
        member_id=member_id,
        role=role,
        group_ids=group_ids_of(conn, member_id),
        email=email,
        peer=peer,
        peer_member_ids=peer_ids,
    )
