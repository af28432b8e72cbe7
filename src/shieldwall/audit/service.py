"""Append-only, hash-chained audit log: who shared, changed and saw what, and when.

Each entry's hash covers its own fields and the previous entry's hash (RFC 8785-style canonical
JSON: sorted keys, no spaces), so changing, removing or reordering any entry breaks the chain
from that entry on, and `verify` names the first bad one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from shieldwall.audit.tables import audit_log
from shieldwall.db import Database, utc_now
from shieldwall.policy import Viewer

GENESIS_HASH = "0" * 64
log = logging.getLogger("shieldwall.audit")


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
    return append_many(conn, [(utc_now(), viewer, action, detail)])


Pending = tuple[str, Viewer | None, str, dict[str, Any]]  # (at, viewer, action, detail)


def append_many(conn: Connection, entries: Sequence[Pending]) -> int:
    """Add entries, in order, inside the caller's write transaction: the chain's tail is read
    once for all of them. Returns the last sequence number."""
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    rows = []
    for at, viewer, action, detail in entries:
        seq += 1
        user_id = viewer.user_id if viewer else None
        member_id = viewer.member_id if viewer else None
        detail_text = _canonical(detail).decode()
        entry_hash = _entry_hash(prev_hash, seq, at, user_id, member_id, action, detail_text)
        rows.append({
            "seq": seq, "at": at, "user_id": user_id, "member_id": member_id, "action": action,
            "detail": detail_text, "prev_hash": prev_hash, "hash": entry_hash,
        })  # fmt: skip
        prev_hash = entry_hash
    if rows:
        conn.execute(audit_log.insert(), rows)
    return seq


def record(db: Database, viewer: Viewer | None, action: str, detail: dict[str, Any]) -> int:
    """Append in a transaction of its own (reads and exports, which write nothing else)."""
    with db.write() as conn:
        return append(conn, viewer, action, detail)


def audited(db: Database, viewer: Viewer, action: str, fn: Any, *args: Any) -> Any:
    """`fn(conn, *args)` and its audit entry (the string arguments, and the id it created) in
    one write transaction: how an admin action is done, through the API or a page."""
    with db.write() as conn:
        result = fn(conn, *args)
        detail = {"args": [a for a in args if isinstance(a, str)], "result": subject_of(result)}
        append(conn, viewer, action, detail)
        return result


class AuditWriter:
    """Appends entries for bulk reads (TAXII pages...) off the request path, in batches.

    A page read writes nothing else, and waiting for a write of its own would serialise every
    reader behind the database's one writer. `record_later` queues the entry, stamped with the
    time of the read, and returns at once; a background thread appends what has queued in one
    transaction per batch, through `append_many`, so the hash chain is the same as if each had
    been written at once (an entry's `at` is when the read happened, its place in the chain
    when it was written). `close` (at shutdown) writes everything still queued. A failed write
    is retried, never dropped.
    """

    def __init__(
        self, db: Database, *, batch: int = 1000, linger: float = 0.05, retry_seconds: float = 1.0
    ) -> None:
        self._db = db
        self._batch = batch
        self._linger = linger  # how long the first entry waits for others to share its write
        self._retry = retry_seconds
        self._queue: list[Pending] = []
        self._cond = threading.Condition()
        self._queued = self._written = 0  # entries ever queued, and written
        self._closing = False
        self._thread: threading.Thread | None = None

    def record_later(self, viewer: Viewer | None, action: str, detail: dict[str, Any]) -> None:
        """Queue one entry; it is in the log once the writer has run (see flush)."""
        with self._cond:
            if not self._closing:
                self._queue.append((utc_now(), viewer, action, detail))
                self._queued += 1
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="audit-writer", daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
                return
        record(self._db, viewer, action, detail)  # after shutdown began: written now, not lost

    def flush(self, timeout: float = 30) -> bool:
        """Wait until every entry queued so far is written; False if that took too long."""
        with self._cond:
            wanted = self._queued
            return self._cond.wait_for(lambda: self._written >= wanted, timeout)

    def close(self, timeout: float = 30) -> None:
        """Write what is queued and stop the thread (the app's shutdown)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("audit writer: %d queued entries not written at shutdown",
                          len(self._queue))  # fmt: skip

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing)
                if not self._queue:
                    return  # closing, and nothing left
                # One transaction for what arrives meanwhile: a busy reader's pages then cost
                # the database a write every `linger`, not one each.
                self._cond.wait_for(
                    lambda: len(self._queue) >= self._batch or self._closing, self._linger
                )
                entries = self._queue[: self._batch]
            try:
                with self._db.write() as conn:
                    append_many(conn, entries)
            except Exception:
                log.exception("audit writer: %d entries not written yet; retrying", len(entries))
                time.sleep(self._retry)
                continue
            with self._cond:
                del self._queue[: len(entries)]
                self._written += len(entries)
                self._cond.notify_all()


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


def newest_seq(conn: Connection) -> int:
    """The sequence number of the newest entry (0 for an empty log)."""
    return conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0


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
