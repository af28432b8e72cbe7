"""The STIX identities the platform itself writes: one per member, and the community broker's.

Every member may read them (TLP:CLEAR, distribution `all`), so that every `created_by_ref` names
someone; no member may write them (ingest rejects a bundle that sends one differing from the
platform's, and skips an identical one), so nobody can speak as another member or as the broker.
A member's identity is its own object (its member_id), so the member is shown as its owner; the
broker's belongs to the platform itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update

from shieldwall.audit import service as audit
from shieldwall.db import Database, utc_now
from shieldwall.intel.removal import remove_versions
from shieldwall.intel.tables import change_log, objects
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution
from shieldwall.members.tables import members
from shieldwall.settings import Settings

# Owner of what the platform writes in no member's name (the broker's identity).
PLATFORM_MEMBER_ID = "platform"
_TIMESTAMP_LENGTH = len("2026-01-01T00:00:00.000000Z")


def _sharing() -> dict[str, Any]:
    return {
        "object_marking_refs": [TLP.CLEAR.marking_id],
        "extensions": {
            SHARING_EXTENSION_ID: {
                "extension_type": "property-extension",
                "distribution": Distribution.ALL.value,
                "anonymous": False,
            }
        },
    }


def member_identity(member: Any) -> dict[str, Any]:
    """The identity of a member row (members table), as every member reads it."""
    country = f", {member.country}" if member.country else ""
    identity: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": member.identity_id,
        "created": member.created_at,
        "modified": member.created_at,
        "name": member.name,
        "description": f"A member of the partnership ({member.kind}{country}).",
        "identity_class": "organization",
        "roles": [member.kind],
    }
    sectors = orjson.loads(member.sectors)
    if sectors:
        identity["sectors"] = sectors
    contacts = orjson.loads(member.contacts)
    if contacts:
        identity["contact_information"] = "; ".join(contacts)
    return {**identity, **_sharing()}


def broker_identity_object(identity_id: str, name: str) -> dict[str, Any]:
    """The identity shown as creator of every anonymous contribution."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": "2026-01-01T00:00:00.000000Z",
        "modified": "2026-01-01T00:00:00.000000Z",
        "name": name,
        "description": "The community broker of this Shieldwall instance: shown as the creator "
        "of intel that members contribute anonymously.",
        "identity_class": "system",
        **_sharing(),
    }


def publish(conn: Connection, identity: dict[str, Any], owner: str) -> bool:
    """Store `identity` as the newest version of itself unless the latest already says the same;
    True when a version was written. In the caller's write transaction."""
    latest = conn.execute(
        select(objects.c.pk, objects.c.modified, objects.c.body).where(
            objects.c.object_id == identity["id"],
            objects.c.member_id == owner,
            objects.c.is_latest.is_(True),
        )
    ).first()
    if latest is not None:
        stored = orjson.loads(latest.body)
        if {**stored, "modified": None} == {**identity, "modified": None}:
            return False
    now = utc_now()
    # A new version must sort after every stored one, whatever clock wrote those.
    modified = max(now, identity["modified"], latest.modified if latest else "")
    if latest is not None and modified <= latest.modified:
        modified = _just_after(latest.modified)
    body = {**identity, "modified": modified}
    pk = (conn.scalar(select(func.max(objects.c.pk))) or 0) + 1
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
    if latest is not None:
        conn.execute(update(objects).where(objects.c.pk == latest.pk).values(is_latest=False))
    conn.execute(
        objects.insert().values(
            pk=pk, object_id=body["id"], type="identity", created=body["created"],
            modified=modified, created_by=None, tlp=int(TLP.CLEAR),
            distribution=Distribution.ALL.value, sharing_group_id=None, member_id=owner,
            anonymous=False, date_added=now, is_latest=True, revoked=False, labels=None,
            search_text=body["name"].lower(), body=orjson.dumps(body).decode(), confidence=None,
        )
    )  # fmt: skip
    member_id = None if owner == PLATFORM_MEMBER_ID else owner
    conn.execute(change_log.insert().values(
        seq=seq, at=now, action="identity", member_id=member_id, user_id=None, first_pk=pk,
        last_pk=pk, count=1,
    ))  # fmt: skip
    audit.append(conn, None, "intel.identity", {"id": body["id"], "name": body["name"],
                                                "change_seq": seq})  # fmt: skip
    return True


def _just_after(timestamp: str) -> str:
    """A normalised timestamp one microsecond later (same format, always 27 characters)."""
    parsed = datetime.strptime(timestamp[: _TIMESTAMP_LENGTH - 1], "%Y-%m-%dT%H:%M:%S.%f")
    return (parsed + timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def publish_member(conn: Connection, member_id: str) -> bool:
    """Write (or bring up to date) one member's identity."""
    row = conn.execute(select(members).where(members.c.id == member_id)).one()
    return publish(conn, member_identity(row), row.id)


def platform_identities(db: Database, settings: Settings) -> int:
    """ensure_platform_identities for an instance, in a write of its own: what a server runs as
    it starts and `shieldwall init` after migrating. The number of forged versions removed."""
    from shieldwall.members.service import broker_identity

    with db.write() as conn:
        return ensure_platform_identities(
            conn, broker_identity(settings.broker_name), settings.broker_name
        )


def ensure_platform_identities(conn: Connection, broker_id: str, broker_name: str) -> int:
    """Bring every member's identity and the broker's up to date, and remove any version of them
    that a member stored (forgeries from before the platform reserved these ids); the number of
    versions removed."""
    rows = conn.execute(select(members)).all()
    owner_of = {row.identity_id: row.id for row in rows}
    owner_of[broker_id] = PLATFORM_MEMBER_ID
    forged = [
        pk
        for pk, object_id, member_id in conn.execute(
            select(objects.c.pk, objects.c.object_id, objects.c.member_id).where(
                objects.c.object_id.in_(sorted(owner_of))
            )
        )
        if member_id != owner_of[object_id]
    ]
    if forged:
        remove_versions(conn, forged, reason="a member's copy of an identity only the platform "
                        "writes (a member's or the broker's)")  # fmt: skip
    for row in rows:
        publish(conn, member_identity(row), row.id)
    publish(conn, broker_identity_object(broker_id, broker_name), PLATFORM_MEMBER_ID)
    return len(forged)
