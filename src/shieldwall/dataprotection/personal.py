"""Finding and erasing personal data (an e-mail address, a phone number, a name, an account) in
every stored object version, as data-protection law asks of a platform that keeps what its
members share.

Finding reads every version's JSON (a candidate filter in SQL, then the value confirmed in each
string by the sanitiser's detectors: a phone number matches however its digits are grouped) and
the values of sightings reported through the API. Erasing replaces each occurrence with a marker
in every version (the object stays: other intel refers to it), rebuilds that version's index and
search entries, announces the versions changed on the change log (action "erase", so that the
stream and peers can follow), and audits the erasure with the value's hash, never the value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update

from shieldwall.audit import service as audit
from shieldwall.correlate.index import key_hash
from shieldwall.db import Database, utc_now
from shieldwall.errors import Forbidden, Invalid
from shieldwall.intel.removal import index_keys
from shieldwall.intel.sanitize import PHONE, sanitize_text
from shieldwall.intel.tables import change_log, change_objects, objects
from shieldwall.markings import SHARING_EXTENSION_ID
from shieldwall.policy import Viewer, may_see_metadata
from shieldwall.sightings.tables import sightings

MARKER = "[erased]"
_SEARCHED = ("name", "description", "pattern")  # as ingest fills objects.search_text
_SEARCH_TEXT_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class Found:
    pk: int
    object_id: str
    modified: str
    owner: str
    properties: tuple[str, ...]  # where in the object, as dotted paths


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# What people group a phone number's digits with; a tab is the two characters \\t in JSON.
_PHONE_SEPARATORS = (" ", "-", ".", "(", ")", "/", "\\t")


def _comparable(column: Any, phone: bool) -> Any:
    """What the SQL candidate filter compares: lower case, and for a phone number without the
    separators people group its digits with."""
    text = func.lower(column)
    if phone:
        for separator in _PHONE_SEPARATORS:
            text = func.replace(text, separator, "")
    return text


def _matcher(value: str) -> tuple[str, Callable[[str], list[tuple[int, int]]]]:
    """(an SQL candidate fragment, spans of the value in one string) for the kind of `value`:
    for a phone number the fragment is its last seven digits, to be matched by `_comparable`."""
    value = value.strip()
    if len(value) < 3:
        raise Invalid("give at least 3 characters: a shorter value would match nearly everything")
    digits = _digits(value)
    if "@" not in value and len(digits) >= 7 and not re.search(r"[^\d\s+().\-/]", value):
        tail = digits[-7:]

        def phones(text: str) -> list[tuple[int, int]]:
            if tail not in _digits(text):
                return []
            result = sanitize_text(text)
            return [(f.start, f.end) for f in result.findings
                    if f.kind == PHONE and _digits(f.original).endswith(tail)]  # fmt: skip

        return tail, phones
    boundary = r"(?<![\w.@-])" if value[0].isalnum() else ""
    end = r"(?![\w@-])" if value[-1].isalnum() else ""
    pattern = re.compile(boundary + re.escape(value) + end, re.IGNORECASE)
    return value.lower(), lambda text: [m.span() for m in pattern.finditer(text)]


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(dotted path, string) of every string in a stored object, but our sharing extension."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != SHARING_EXTENSION_ID:
                yield from _strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _is_phone_fragment(fragment: str) -> bool:
    return fragment.isdigit()


def _candidates(conn: Connection, fragment: str) -> Iterator[Any]:
    c = objects.c
    body = _comparable(c.body, _is_phone_fragment(fragment))
    after = 0
    while True:
        rows = conn.execute(
            select(c.pk, c.object_id, c.modified, c.member_id, c.body)
            .where(c.pk > after, body.like(_like(fragment), escape="\\"))
            .order_by(c.pk)
            .limit(1000)
        ).all()
        yield from rows
        if len(rows) < 1000:
            return
        after = rows[-1].pk


def _require(viewer: Viewer) -> None:
    if not may_see_metadata(viewer):
        raise Forbidden("only an instance admin may find or erase personal data")


def find(db: Database, viewer: Viewer, value: str) -> list[Found]:
    """Every stored object version that holds `value`, and where in it (no content)."""
    _require(viewer)
    fragment, spans = _matcher(value)
    with db.read() as conn:
        found = _find(conn, fragment, spans)
    audit.record(db, viewer, "privacy.find", {
        "value_sha256": _digest(value), "versions": len(found),
    })  # fmt: skip
    return found


def _find(conn: Connection, fragment: str, spans: Callable[[str], list]) -> list[Found]:
    found = []
    for row in _candidates(conn, fragment):
        body = orjson.loads(row.body)
        where = tuple(path for path, text in _strings(body, "") if spans(text))
        if where:
            found.append(Found(row.pk, row.object_id, row.modified, row.member_id, where))
    return found


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _erased(value: Any, spans: Callable[[str], list[tuple[int, int]]]) -> Any:
    if isinstance(value, str):
        out, last = [], 0
        for start, end in sorted(spans(value)):
            if start >= last:
                out += [value[last:start], MARKER]
                last = end
        return "".join(out) + value[last:] if out else value
    if isinstance(value, dict):
        return {k: v if k == SHARING_EXTENSION_ID else _erased(v, spans) for k, v in value.items()}
    if isinstance(value, list):
        return [_erased(item, spans) for item in value]
    return value


def erase(db: Database, viewer: Viewer, value: str, reason: str,
          indexes: Sequence[Any]) -> dict[str, Any]:  # fmt: skip
    """Replace `value` with a marker in every stored version and in reported sightings, in one
    transaction; `indexes` are the ingestor's (their entries for each version are rebuilt)."""
    _require(viewer)
    if len(reason.strip()) < 10:
        raise Invalid("an erasure needs a reason of at least 10 characters (it is audited)")
    fragment, spans = _matcher(value)
    with db.write() as conn:
        found = _find(conn, fragment, spans)
        for item in found:
            row = conn.execute(select(objects).where(objects.c.pk == item.pk)).one()
            body = _erased(orjson.loads(row.body), spans)
            _rewrite(conn, item.pk, body, indexes)
        sighted = _erase_sightings(conn, fragment, spans)
        seq = None
        if found or sighted:
            seq = _announce(conn, viewer, [f.pk for f in found])
        audit.append(conn, viewer, "privacy.erase", {
            "value_sha256": _digest(value), "reason": reason.strip(), "versions": len(found),
            "sightings": sighted, "change_seq": seq,
        })  # fmt: skip
    return {"versions": len(found), "sightings": sighted, "change_seq": seq}


def _rewrite(conn: Connection, pk: int, body: dict[str, Any], indexes: Sequence[Any]) -> None:
    """One version's body replaced, with the columns read from it and its index entries."""
    labels = body.get("labels")
    text = " ".join(str(body[k]) for k in _SEARCHED if k in body).lower()[:_SEARCH_TEXT_LIMIT]
    conn.execute(update(objects).where(objects.c.pk == pk).values(
        body=orjson.dumps(body).decode(),
        labels="|" + "|".join(labels) + "|" if isinstance(labels, list) and labels else None,
        search_text=text or None,
    ))  # fmt: skip
    for column in index_keys(conn):
        conn.execute(delete(column.table).where(column == pk))
    for index in indexes:
        for (table, columns), rows in zip(index.layouts, index.rows(pk, body), strict=True):
            if rows:
                conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _erase_sightings(conn: Connection, fragment: str, spans: Callable[[str], list]) -> int:
    value = _comparable(sightings.c.value, _is_phone_fragment(fragment))
    candidates = select(sightings.c.id, sightings.c.value).where(
        value.like(_like(fragment), escape="\\")
    )
    hits = [r for r in conn.execute(candidates) if spans(r.value)]
    for hit in hits:
        conn.execute(update(sightings).where(sightings.c.id == hit.id).values(
            value=MARKER, key_hash=key_hash(f"erased:{hit.id}"),
        ))  # fmt: skip
    return len(hits)


def _announce(conn: Connection, viewer: Viewer, pks: list[int]) -> int:
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
    conn.execute(change_log.insert().values(
        seq=seq, at=utc_now(), action="erase", member_id=viewer.member_id,
        user_id=viewer.user_id, count=len(pks),
    ))  # fmt: skip
    c = objects.c
    rows = conn.execute(
        select(c.pk, c.object_id, c.modified, c.tlp, c.distribution, c.sharing_group_id,
               c.member_id, c.anonymous).where(c.pk.in_(pks))
    ).all() if pks else []  # fmt: skip
    if rows:
        conn.execute(change_objects.insert(), [{"seq": seq, **r._mapping} for r in rows])
    return seq
