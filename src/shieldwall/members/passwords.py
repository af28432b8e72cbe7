"""Users' passwords for signing in to the web application: stored only as argon2id hashes
(RFC 9106, argon2-cffi's defaults), never logged, never returned."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, select

from shieldwall.errors import Invalid
from shieldwall.members.service import get_user
from shieldwall.members.tables import users

MIN_LENGTH = 12  # NIST SP 800-63B §3.1.1.2 asks at least 8; a shared platform asks more
MAX_LENGTH = 1024  # argon2 hashes any length; a cap keeps a request from making it work long

_hasher = PasswordHasher()
# Compared against when the address names no user, so that an unknown address costs as long as
# a wrong password and the answer's timing does not tell which addresses have accounts.
_UNKNOWN = _hasher.hash("no user has this password: it only makes the time alike")


def checked_password(password: str) -> str:
    """The password, if it may be set; Invalid says why not."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"a password may have at most {MAX_LENGTH} characters")
    return password


def set_password(conn: Connection, user_id: str, password: str) -> None:
    """Set (or replace) the user's password."""
    get_user(conn, user_id)
    digest = _hasher.hash(checked_password(password))
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=digest))


def user_for_password(conn: Connection, email: str, password: str) -> str | None:
    """The id of the enabled user with this e-mail address and password, or None; as slow for
    an unknown address as for a wrong password."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash, users.c.disabled).where(
            users.c.email == email.strip().lower()
        )
    ).first()
    stored = row.password_hash if row is not None and row.password_hash else _UNKNOWN
    try:
        _hasher.verify(stored, password[:MAX_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled or stored is _UNKNOWN:
        return None
    return row.id


def user_id_by_email(conn: Connection, email: str) -> str | None:
    """The id of the user with this address, or None (for counting failures per account)."""
    return conn.scalar(select(users.c.id).where(users.c.email == email.strip().lower()))
