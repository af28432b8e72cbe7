"""Evidence records with a hash and a chain of custody.

The platform keeps the record, not the artefact: what it is, its hash, where it is kept and who
holds it. Each handling is appended to its chain of custody, hash-chained like the audit log
(each entry's hash covers its fields and the previous entry's hash), so an edited, removed or
reordered entry shows as a broken chain (`custody_intact: false`). A holder who hashes the
artefact again may say what it found: a mismatch is recorded and put on the timeline.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.incidents.tables import evidence_custody, incident_evidence, taskings
from shieldwall.incidents.timeline import incident_write
from shieldwall.incidents.times import stamp
from shieldwall.policy import STANDING_TASKINGS, Viewer, may_coordinate_incident

HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
# transferred and returned hand it to another member; the others are done by its holder.
CUSTODY_ACTIONS = ("transferred", "returned", "examined", "verified", "stored", "disposed")
_HANDING = ("transferred", "returned")
_HEX = re.compile(r"[0-9a-f]+")
_GENESIS = "0" * 64


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(
        f"{field_name}: {message}", details=[{"property": field_name, "message": message}]
    )


def checked_hash(algorithm: str, value: str, field_name: str) -> str:
    """The digest in lower case; Invalid naming the field unless it is one of `algorithm`."""
    if algorithm not in HASH_LENGTHS:
        raise _invalid("hash_algorithm", f"{algorithm!r}; known: {', '.join(HASH_LENGTHS)}")
    digest = value.strip().lower()
    if len(digest) != HASH_LENGTHS[algorithm] or not _HEX.fullmatch(digest):
        raise _invalid(
            field_name, f"not a {algorithm} digest ({HASH_LENGTHS[algorithm]} hex digits)"
        )
    return digest


def participants(conn: Connection, row: Any) -> set[str]:
    """The members taking part in the incident: who evidence may be handed to."""
    standing = conn.scalars(
        select(taskings.c.member_id).where(
            taskings.c.incident_id == row.id, taskings.c.state.in_(STANDING_TASKINGS)
        )
    )
    return {row.requester_member_id, row.coordinator_member_id, *standing}


@dataclass(frozen=True, slots=True)
class EvidenceIn:
    """Evidence as the member holding it records it."""

    name: str
    hash_algorithm: str
    hash_value: str
    location: str
    description: str = ""
    size_bytes: int | None = None
    collected_at: datetime | None = None  # None: now


@dataclass(frozen=True, slots=True)
class CustodyIn:
    """One handling of evidence, as its holder (or the coordinator) records it."""

    action: str
    to_member_id: str | None = None  # for transferred and returned
    hash_seen: str | None = None  # the digest the holder computed, if it checked
    note: str = ""


def _entry_hash(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps([prev, fields], option=orjson.OPT_SORT_KEYS)).hexdigest()


_HASHED = (
    "evidence_id",
    "position",
    "at",
    "action",
    "from_member_id",
    "to_member_id",
    "member_id",
    "user_id",
    "hash_seen",
    "note",
)


def _append_custody(conn: Connection, evidence_id: str, **fields: Any) -> None:
    last = conn.execute(
        select(evidence_custody.c.position, evidence_custody.c.hash)
        .where(evidence_custody.c.evidence_id == evidence_id)
        .order_by(evidence_custody.c.position.desc())
        .limit(1)
    ).first()
    position, prev = (last.position + 1, last.hash) if last else (1, _GENESIS)
    row = {"evidence_id": evidence_id, "position": position, **fields}
    row["hash"] = _entry_hash(prev, {k: row[k] for k in _HASHED})
    conn.execute(evidence_custody.insert().values(prev_hash=prev, **row))


def add_evidence(
    db: Any, viewer: Viewer, incident_id: str, item: EvidenceIn, now: datetime
) -> dict[str, Any]:
    """Record evidence the viewer's member holds; its custody starts with `collected`."""
    from shieldwall.incidents.service import writable_incident

    name = item.name.strip()
    if not name or len(name) > 300:
        raise _invalid("name", "between 1 and 300 characters")
    if not item.location.strip():
        raise _invalid("location", "say where the artefact is kept")
    if item.size_bytes is not None and item.size_bytes < 0:
        raise _invalid("size_bytes", "not negative")
    digest = checked_hash(item.hash_algorithm, item.hash_value, "hash_value")
    evidence_id = str(uuid.uuid4())
    at = stamp(now)
    with incident_write(db, viewer, now, "incident.evidence") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        write.conn.execute(
            incident_evidence.insert().values(
                id=evidence_id,
                incident_id=incident_id,
                name=name,
                description=item.description.strip(),
                hash_algorithm=item.hash_algorithm,
                hash_value=digest,
                size_bytes=item.size_bytes,
                location=item.location.strip(),
                collected_at=stamp(item.collected_at or now),
                holder_member_id=viewer.member_id,
                created_at=at,
            )
        )
        _append_custody(
            write.conn,
            evidence_id,
            at=at,
            action="collected",
            from_member_id=None,
            to_member_id=viewer.member_id,
            member_id=viewer.member_id,
            user_id=viewer.user_id,
            hash_seen=digest,
            note="recorded",
        )
        write.entry(
            incident_id,
            row.tlp,
            "evidence",
            f"Evidence recorded: {name} ({item.hash_algorithm} {digest})",
            {"evidence_id": evidence_id},
        )
        write.detail = {"evidence": evidence_id}
    return {"id": evidence_id}


def record_custody(
    db: Any, viewer: Viewer, incident_id: str, evidence_id: str, item: CustodyIn, now: datetime
) -> dict[str, Any]:
    """Append to an evidence item's chain of custody: its holder's users (or the coordinator's)
    record what they did with it; handing it over names a member taking part in the incident."""
    from shieldwall.incidents.service import writable_incident

    if item.action not in CUSTODY_ACTIONS:
        raise _invalid("action", f"{item.action!r}; known: {', '.join(CUSTODY_ACTIONS)}")
    if (item.action in _HANDING) != (item.to_member_id is not None):
        raise _invalid("to_member_id", "required to transfer or return, and only then")
    if len(item.note) > 5000:
        raise _invalid("note", "at most 5000 characters")
    with incident_write(db, viewer, now, "incident.custody") as write:
        conn = write.conn
        row = writable_incident(conn, viewer, incident_id)
        evidence = conn.execute(
            select(incident_evidence).where(
                incident_evidence.c.id == evidence_id,
                incident_evidence.c.incident_id == incident_id,
            )
        ).first()
        if evidence is None:
            raise NotFound("no such evidence in this incident")
        holder = evidence.holder_member_id
        if viewer.member_id != holder and not may_coordinate_incident(viewer, row._mapping):
            raise Forbidden("only the evidence's holder (or the coordinator) records its custody")
        seen = (
            checked_hash(evidence.hash_algorithm, item.hash_seen, "hash_seen")
            if item.hash_seen is not None
            else None
        )
        to = holder
        if item.to_member_id is not None:
            if item.to_member_id not in participants(conn, row):
                raise _invalid("to_member_id", "not a member taking part in this incident")
            to = item.to_member_id
        _append_custody(
            conn,
            evidence_id,
            at=write.at,
            action=item.action,
            from_member_id=holder,
            to_member_id=to,
            member_id=viewer.member_id,
            user_id=viewer.user_id,
            hash_seen=seen,
            note=item.note.strip(),
        )
        if to != holder:
            conn.execute(
                incident_evidence.update()
                .where(incident_evidence.c.id == evidence_id)
                .values(holder_member_id=to)
            )
        mismatch = seen is not None and seen != evidence.hash_value
        text = f"Custody of {evidence.name}: {item.action}"
        if mismatch:
            text += f"; HASH MISMATCH: {seen} is not the recorded {evidence.hash_value}"
        write.entry(
            incident_id,
            row.tlp,
            "custody",
            text,
            {
                "evidence_id": evidence_id,
                "action": item.action,
                "to": to,
                "hash_matches": None if seen is None else not mismatch,
            },
        )
        write.detail = {"evidence": evidence_id, "action": item.action}
    return {"id": evidence_id, "hash_matches": None if seen is None else not mismatch}


def evidence_of(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    """Every evidence record of an incident with its chain of custody, checked."""
    items = conn.execute(
        select(incident_evidence)
        .where(incident_evidence.c.incident_id == incident_id)
        .order_by(incident_evidence.c.created_at, incident_evidence.c.id)
    ).all()
    out = []
    for e in items:
        chain = conn.execute(
            select(evidence_custody)
            .where(evidence_custody.c.evidence_id == e.id)
            .order_by(evidence_custody.c.position)
        ).all()
        prev, intact = _GENESIS, True
        for position, c in enumerate(chain, start=1):
            fields = {k: getattr(c, k) for k in _HASHED}
            if c.position != position or c.prev_hash != prev or _entry_hash(prev, fields) != c.hash:
                intact = False
            prev = c.hash
        member_ids = (
            {e.holder_member_id} | {c.to_member_id for c in chain} | {c.member_id for c in chain}
        )
        out.append(
            {
                "id": e.id,
                "name": e.name,
                "description": e.description,
                "hash": {"algorithm": e.hash_algorithm, "value": e.hash_value},
                "size_bytes": e.size_bytes,
                "location": e.location,
                "collected_at": e.collected_at,
                "holder": e.holder_member_id,
                "custody_intact": intact,
                "custody": [
                    {
                        "position": c.position,
                        "at": c.at,
                        "action": c.action,
                        "from_member_id": c.from_member_id,
                        "to_member_id": c.to_member_id,
                        "member_id": c.member_id,
                        "user_id": c.user_id,
                        "hash_seen": c.hash_seen,
                        "hash_matches": None
                        if c.hash_seen is None
                        else c.hash_seen == e.hash_value,
                        "note": c.note,
                        "hash": c.hash,
                    }
                    for c in chain
                ],
                "member_ids": sorted(member_ids),
            }
        )
    return out
