"""Browser sessions of signed-in users: opened by a password, ended by signing out, by expiry,
or by the user being disabled.

The session cookie holds a random 256-bit token; the database holds only its SHA-256. A token
cannot be forged without the database, and, unlike a cookie that is merely signed, signing out
ends it on the server: a copied cookie stops working too."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select

from shieldwall.db import utc_now
from shieldwall.members.service import viewer_for_user
from shieldwall.members.tables import users, web_sessions
from shieldwall.policy import Viewer

LIFETIME = timedelta(hours=12)  # a working day (SHIELDWALL_SESSION_MINUTES); then sign in again


@dataclass(frozen=True, slots=True)
class Session:
    viewer: Viewer
    csrf: str  # what every form of this session must carry back


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def open_session(conn: Connection, user_id: str, lifetime: timedelta = LIFETIME) -> str:
    """A new session for the user, ending after `lifetime`; returns the token for the cookie
    (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < _stamp(now)))
    conn.execute(
        web_sessions.insert().values(
            token_hash=_hash(token),
            user_id=user_id,
            csrf=secrets.token_urlsafe(32),
            created_at=_stamp(now),
            expires_at=_stamp(now + lifetime),
        )
    )
    return token


def session_for(conn: Connection, token: str) -> Session | None:
    """The live session this token opens, or None (unknown, expired, or its user disabled)."""
    if not token or len(token) > 100:
        return None
    row = conn.execute(
        select(web_sessions.c.user_id, web_sessions.c.csrf)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(
            web_sessions.c.token_hash == _hash(token),
            web_sessions.c.expires_at > utc_now(),
            users.c.disabled.is_(False),
        )
    ).first()
    if row is None:
        return None
    return Session(viewer_for_user(conn, row.user_id), row.csrf)


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _hash(token)))
