"""Append-only, hash-chained audit log: who shared, changed and saw what, and when.

Each entry's hash covers its own fields and the previous entry's hash (RFC 8785-style canonical
JSON: sorted keys, no spaces), so changing, removing or reordering any entry breaks the chain
from that entry on, and `verify` names the first bad one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from shieldwall.audit.tables import audit_log
from shieldwall.db import Database, utc_now
from shieldwall.policy import Viewer

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    user_id: str | None,
    member_id: str | None,
    action: str,
    detail: str,
) -> str:
    payload = _canonical([prev_hash, seq, at, user_id, member_id, action, detail])
    return hashlib.sha256(payload).hexdigest()


def append(conn: Connection, viewer: Viewer | None, action: str, detail: dict[str, Any]) -> int:
    """Add one entry inside the caller's write transaction; returns its sequence number."""
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    at = utc_now()
    user_id = viewer.user_id if viewer else None
    member_id = viewer.member_id if viewer else None
    detail_text = _canonical(detail).decode()
    conn.execute(
        audit_log.insert().values(
            seq=seq,
            at=at,
            user_id=user_id,
            member_id=member_id,
            action=action,
            detail=detail_text,
            prev_hash=prev_hash,
            hash=_entry_hash(prev_hash, seq, at, user_id, member_id, action, detail_text),
        )
    )
    return seq


def record(db: Database, viewer: Viewer | None, action: str, detail: dict[str, Any]) -> int:
    """Append in a transaction of its own (reads and exports, which write nothing else)."""
    with db.write() as conn:
        return append(conn, viewer, action, detail)


def subject_of(result: Any) -> str | None:
    """What an admin action created, fit for the log: an id, never a secret such as an API key."""
    if isinstance(result, str):
        return result
    return getattr(result, "user_id", None)


def digest_of(items: list[str]) -> str:
    """A short proof of exactly which objects an entry is about, when listing them is too much."""
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


def entry_as_dict(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "user_id": row.user_id,
        "member_id": row.member_id,
        "action": row.action,
        "detail": orjson.loads(row.detail),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def list_entries(
    conn: Connection, *, after: int = 0, limit: int = 100, action: str | None = None
) -> list[dict[str, Any]]:
    query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    if action:
        query = query.where(audit_log.c.action == action)
    return [entry_as_dict(r) for r in conn.execute(query)]


def _rows(db: Database, batch: int = 5000) -> Iterator[Any]:
    after = 0
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(audit_log)
                .where(audit_log.c.seq > after)
                .order_by(audit_log.c.seq)
                .limit(batch)
            ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(db: Database) -> VerifyResult:
    """Walk the whole chain; memory stays flat however long it is."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for row in _rows(db):
        if row.seq != expected_seq:
            return VerifyResult(False, checked, row.seq, f"entry {expected_seq} is missing")
        if row.prev_hash != prev_hash:
            return VerifyResult(False, checked, row.seq, "does not follow the entry before it")
        recomputed = _entry_hash(
            row.prev_hash, row.seq, row.at, row.user_id, row.member_id, row.action, row.detail
        )
        if recomputed != row.hash:
            return VerifyResult(False, checked, row.seq, "its content does not match its hash")
        prev_hash, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked)
