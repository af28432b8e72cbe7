"""API keys: what a key looks like, issuing, listing, revoking, and finding the key a request
holds.

A key is `sw_<lookup id>_<secret>`: eight base32 characters that name the key, then 256 random
bits. The part before the secret, `sw_<lookup id>`, is the key's visible prefix: listings show it,
so that a key found in a paste or a log can be traced to its user and revoked, and
authentication finds the key's row by it and only then compares the hash of the whole key, with
hmac.compare_digest. Only that SHA-256 is stored (256 random bits leave nothing to brute-force,
so a slow hash would buy nothing). Keys issued before migration 0014 (`sw_<secret>`) carry no
lookup id; they keep working and are found by their hash.

A user may hold several keys, each with a name (a laptop, a MISP sync, a TAXII feed). Issuing a
key under a name revokes the user's active key of that name (`default` when none is given) and
says so in the answer: a new key never leaves an old one valid unless it has a name of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from shieldwall.db import utc_now
from shieldwall.errors import Conflict, Invalid, NotFound
from shieldwall.members.tables import api_keys, users
from shieldwall.policy import Role, Viewer, may_manage_member

API_KEY_PREFIX = "sw_"
DEFAULT_NAME = "default"
MAX_NAME_LENGTH = 100
_KEY = re.compile(r"sw_([a-z2-7]{8})_[A-Za-z0-9_-]{43}")
_PREFIX = re.compile(r"sw_[a-z2-7]{8}")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the form utc_now() writes and every table stores


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just issued: the only time the key itself is known."""

    user_id: str
    key: str  # shown once; only its hash is stored
    key_id: str = ""
    prefix: str = ""
    replaced: tuple[str, ...] = field(default=())  # prefixes of the keys this one revoked


@dataclass(frozen=True, slots=True)
class FoundKey:
    """The stored key a presented key names, and whether the presented one is really it."""

    key_id: str
    user_id: str
    matches: bool  # the hashes agree
    usable: bool  # not revoked, not expired, its user not disabled
    last_used_at: str | None
    expires_at: str | None = None


def hash_api_key(key: str) -> str:
    """SHA-256 of the whole key, hex: all that is stored of it."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def timestamp(moment: datetime) -> str:
    """An aware datetime in the stored form (UTC, microseconds, 'Z')."""
    if moment.tzinfo is None:
        raise Invalid("a time needs its time zone (e.g. 2027-01-31T00:00:00Z)")
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _new_lookup_id(conn: Connection) -> str:
    """Eight base32 characters (40 bits) no other key has."""
    while True:
        lookup_id = base64.b32encode(secrets.token_bytes(5)).decode().lower()
        if conn.scalar(select(api_keys.c.id).where(api_keys.c.lookup_id == lookup_id)) is None:
            return lookup_id


def _checked_name(name: str | None) -> str:
    name = DEFAULT_NAME if name is None else name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise Invalid(f"a key's name is 1 to {MAX_NAME_LENGTH} printable characters")
    return name


def issue(
    conn: Connection,
    user_id: str,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    by: Viewer | None = None,
) -> NewApiKey:
    """A new key for `user_id`, in the caller's write transaction; the user's active key of the
    same name is revoked (by `by`; None: the command line)."""
    name = _checked_name(name)
    now = utc_now()
    expires = timestamp(expires_at) if expires_at is not None else None
    if expires is not None and expires <= now:
        raise Invalid("expires_at must be in the future")
    replaced = conn.execute(
        select(api_keys.c.id, api_keys.c.prefix).where(
            api_keys.c.user_id == user_id, api_keys.c.name == name, _active(now)
        )
    ).all()
    if replaced:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id.in_([r.id for r in replaced]))
            .values(revoked_at=now, revoked_by=by.user_id if by else None)
        )
    lookup_id = _new_lookup_id(conn)
    key = f"{API_KEY_PREFIX}{lookup_id}_{secrets.token_urlsafe(32)}"
    key_id = str(uuid.uuid4())
    prefix = f"{API_KEY_PREFIX}{lookup_id}"
    conn.execute(
        api_keys.insert().values(
            id=key_id, user_id=user_id, key_hash=hash_api_key(key), prefix=prefix,
            created_at=now, lookup_id=lookup_id, name=name, expires_at=expires,
        )
    )  # fmt: skip
    return NewApiKey(user_id, key, key_id, prefix, tuple(r.prefix for r in replaced))


def _active(now: str) -> Any:
    return api_keys.c.revoked_at.is_(None) & (
        api_keys.c.expires_at.is_(None) | (api_keys.c.expires_at > now)
    )


def find(conn: Connection, key: str) -> FoundKey | None:
    """The stored key that `key` names, or None when it names none.

    Found by the lookup id the key carries, then the hash of the whole key compared in constant
    time, so that the time an answer takes says nothing of how much of a guess was right. Keys
    from before lookup ids are found by their hash (a lookup by a hash tells an attacker nothing
    about the key it was taken of)."""
    if not key.startswith(API_KEY_PREFIX) or len(key) > 200:
        return None
    digest = hash_api_key(key)
    columns = (
        api_keys.c.id, api_keys.c.user_id, api_keys.c.key_hash, api_keys.c.revoked_at,
        api_keys.c.expires_at, api_keys.c.last_used_at, users.c.disabled,
    )  # fmt: skip
    query = select(*columns).join(users, users.c.id == api_keys.c.user_id)
    row = None
    if (named := _KEY.fullmatch(key)) is not None:
        row = conn.execute(query.where(api_keys.c.lookup_id == named[1])).first()
    if row is None:
        row = conn.execute(
            query.where(api_keys.c.key_hash == digest, api_keys.c.lookup_id.is_(None))
        ).first()
        if row is None:
            return None
    matches = hmac.compare_digest(row.key_hash.encode(), digest.encode())
    usable = (
        row.revoked_at is None
        and (row.expires_at is None or row.expires_at > utc_now())
        and not row.disabled
    )
    return FoundKey(row.id, row.user_id, matches, usable, row.last_used_at, row.expires_at)


def key_as_dict(row: Any, now: str) -> dict[str, Any]:
    state = "active"
    if row.revoked_at is not None:
        state = "revoked"
    elif row.expires_at is not None and row.expires_at <= now:
        state = "expired"
    return {
        "id": row.id,
        "user_id": row.user_id,
        "email": row.email,
        "name": row.name,
        "prefix": row.prefix,
        "state": state,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "revoked_by": row.revoked_by,
    }


def _listing() -> Any:
    return select(
        api_keys.c.id, api_keys.c.user_id, users.c.email, users.c.member_id, users.c.role,
        api_keys.c.name, api_keys.c.prefix, api_keys.c.created_at, api_keys.c.last_used_at,
        api_keys.c.expires_at, api_keys.c.revoked_at, api_keys.c.revoked_by,
    ).join(users, users.c.id == api_keys.c.user_id)  # fmt: skip


def may_manage_key(viewer: Viewer | None, row: Any) -> bool:
    """A key's user, its member's member-admins and instance admins manage it (None: the command
    line, which runs as the operator); only an instance admin manages an instance admin's."""
    if viewer is None or row.user_id == viewer.user_id:
        return True
    if row.role == Role.ADMIN.value and not viewer.is_admin:
        return False
    return may_manage_member(viewer, row.member_id)


def list_keys(
    conn: Connection, viewer: Viewer | None, *, user_id: str | None = None
) -> list[dict[str, Any]]:
    """The keys `viewer` manages (of one user, if given), newest first."""
    query = _listing().order_by(users.c.email, api_keys.c.created_at.desc())
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    if viewer is not None and not viewer.is_admin:
        if viewer.role is Role.MEMBER_ADMIN:
            query = query.where(users.c.member_id == viewer.member_id)
        else:
            query = query.where(api_keys.c.user_id == viewer.user_id)
    now = utc_now()
    return [key_as_dict(r, now) for r in conn.execute(query) if may_manage_key(viewer, r)]


def _referred(ref: str) -> Any:
    """The condition naming a key by its id, its visible prefix or the whole key."""
    ref = ref.strip()
    try:
        return api_keys.c.id == str(uuid.UUID(ref))
    except ValueError:
        pass
    if _PREFIX.match(ref) and (len(ref) == 11 or _KEY.fullmatch(ref)):
        return api_keys.c.lookup_id == ref[3:11]
    # A key from before lookup ids, by its prefix (its first ten characters) or whole.
    return api_keys.c.lookup_id.is_(None) & (api_keys.c.prefix == ref[:10])


def get_key(conn: Connection, viewer: Viewer | None, ref: str) -> dict[str, Any]:
    """One key `viewer` manages, named by id, prefix or the key itself; a key someone else's is
    the same 404 as no key, so that a prefix confirms nothing to who may not manage it."""
    rows = [r for r in conn.execute(_listing().where(_referred(ref))) if may_manage_key(viewer, r)]
    if not rows:
        raise NotFound("no such API key")
    if len(rows) > 1:
        raise Conflict(f"{len(rows)} keys start so: name the key by its id")
    return key_as_dict(rows[0], utc_now())


def revoke(conn: Connection, viewer: Viewer | None, ref: str) -> dict[str, Any]:
    """Revoke a key `viewer` manages, in the caller's write transaction; its listing, now
    revoked. Revoking a revoked key changes nothing (and says when it was revoked)."""
    key = get_key(conn, viewer, ref)
    if key["revoked_at"] is None:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key["id"])
            .values(revoked_at=utc_now(), revoked_by=viewer.user_id if viewer else None)
        )
        key = get_key(conn, viewer, key["id"])
    return key


def record_use(conn: Connection, used: dict[str, str]) -> None:
    """Store last-used times (key id -> time), never moving one back."""
    for key_id, at in used.items():
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id)
            .where(api_keys.c.last_used_at.is_(None) | (api_keys.c.last_used_at < at))
            .values(last_used_at=at)
        )
