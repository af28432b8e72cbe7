"""Record sightings, and weigh the evidence a viewer may see into indicator scores.

A sighting is a member saying "we saw this value" (or "it is a false positive here", or "it has
expired"), with its own marking and distribution: the same policy decides who sees it. Sightings
come two ways: through POST /api/v1/sightings (stored here), and as STIX `sighting` objects in a
bundle (stored as objects; the correlation index records what each one sights).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, String, Text, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from shieldwall.audit import service as audit
from shieldwall.correlate.index import key_hash
from shieldwall.correlate.observables import (
    KINDS,
    Observable,
    lookup_key,
    normalise,
    observables_of,
)
from shieldwall.correlate.tables import object_refs
from shieldwall.db import Database, utc_now, value_list
from shieldwall.errors import Forbidden, Invalid
from shieldwall.intel import sharing
from shieldwall.intel.sharing_context import member_context
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp, parse_timestamp
from shieldwall.markings import TLP, Distribution, check_stored_pair
from shieldwall.policy import Viewer, may_write_intel, visible_filter
from shieldwall.sightings.score import Evidence, score
from shieldwall.sightings.tables import sightings

SIGHTING_KINDS = ("seen", "false-positive", "expired")
MAX_COUNT = 999_999_999  # STIX 2.1 sighting.count's bound
_sighting_objects = objects.alias("sighting_objects")


@dataclass(frozen=True, slots=True)
class SightingIn:
    value: str
    value_kind: str = "auto"
    kind: str = "seen"
    count: int = 1
    seen_at: str | None = None
    tlp: str | None = None
    distribution: str | None = None
    sharing_group: str | None = None
    anonymous: bool = False


def _parse(entry: SightingIn, viewer: Viewer, defaults: sharing.MemberDefaults,
           now: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:  # fmt: skip
    """The row of one sighting, or (property, message) for each problem, named as the API
    names the properties (`type`, not the `kind` it is stored as)."""
    problems: list[tuple[str, str]] = []
    try:
        observable = normalise(entry.value_kind, entry.value)
    except ValueError:
        observable = None
        problems.append(("value_kind", f"unknown value_kind {entry.value_kind[:100]!r}; expected "
                         f"auto or one of {', '.join(sorted(KINDS))}"))  # fmt: skip
    else:
        if observable is None:
            problems.append(("value", f"value {entry.value[:100]!r} cannot be read as "
                             f"{entry.value_kind}"))  # fmt: skip
    if entry.kind not in SIGHTING_KINDS:
        problems.append(("type", f"type must be one of {', '.join(SIGHTING_KINDS)}, "
                         f"not {entry.kind[:100]!r}"))  # fmt: skip
    if not 1 <= entry.count <= MAX_COUNT:
        problems.append(("count", f"count must be between 1 and {MAX_COUNT}"))
    if entry.seen_at is not None and not is_timestamp(entry.seen_at):
        problems.append(
            ("seen_at", "seen_at must be an RFC 3339 UTC timestamp such as 2026-01-31T12:00:00Z")
        )
    try:
        tlp = TLP.parse(entry.tlp) if entry.tlp else None
    except ValueError as exc:
        return None, [*problems, ("tlp", str(exc))]
    try:
        distribution = Distribution(entry.distribution) if entry.distribution else None
    except ValueError:
        known = ", ".join(d.value for d in Distribution)
        return None, [*problems, ("distribution", f"distribution must be one of {known}")]
    if (distribution is Distribution.GROUP) != (entry.sharing_group is not None):
        problems.append(
            ("sharing_group", "sharing_group is required with distribution 'group' and only then")
        )
    asked = sharing.Asked(tlp, distribution, entry.sharing_group, entry.anonymous)
    shared, sharing_problems = sharing.resolve_one(asked, viewer, defaults)
    problems += [
        ({"marking": "tlp"}.get(what, what), message) for what, message in sharing_problems
    ]
    if problems or observable is None:
        return None, problems
    check_stored_pair(shared.tlp, shared.distribution, shared.sharing_group_id)
    return {
        "id": str(uuid.uuid4()),
        "key_hash": key_hash(lookup_key(observable)),
        "value_kind": observable.kind,
        "value": observable.value,
        "kind": entry.kind,
        "count": entry.count,
        "seen_at": normalize_timestamp(entry.seen_at) if entry.seen_at else now,
        "member_id": viewer.member_id,
        "anonymous": shared.anonymous,
        "tlp": int(shared.tlp),
        "distribution": shared.distribution.value,
        "sharing_group_id": shared.sharing_group_id,
        "created_at": now,
    }, []


def record(db: Database, viewer: Viewer, entries: Sequence[SightingIn]) -> int:
    """Store every sighting or none; returns how many were stored."""
    if not may_write_intel(viewer):
        raise Forbidden("this role may not report sightings")
    if not entries:
        raise Invalid("no sightings given")
    with db.read() as conn:
        defaults = member_context(conn, viewer).defaults
    now = utc_now()
    rows, errors = [], []
    for index, entry in enumerate(entries):
        row, problems = _parse(entry, viewer, defaults, now)
        errors += [{"index": index, "property": where, "message": m} for where, m in problems]
        if row:
            rows.append(row)
    if errors:
        raise Invalid(f"{len(errors)} problem(s); no sighting was stored", details=errors)
    with db.write() as conn:
        conn.execute(sightings.insert(), rows)
        seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
        conn.execute(change_log.insert().values(
            seq=seq, at=now, action="sighting", member_id=viewer.member_id,
            user_id=viewer.user_id, count=len(rows),
        ))  # fmt: skip
        audit.append(conn, viewer, "sighting.record", {
            "change_seq": seq, "count": len(rows), "ids": [r["id"] for r in rows][:100],
        })  # fmt: skip
    return len(rows)


@dataclass
class Tally:
    """The visible sightings of one value (or of one indicator)."""

    seen: int = 0
    false_positives: int = 0
    last_seen: str | None = None
    expired_at: str | None = None
    reporters: set[str] | None = None
    first_seen: str | None = None

    def add(
        self, kind: str, count: int, seen_at: str, reporter: str, first_at: str | None = None
    ) -> None:
        """One sighting: `seen_at` its last time seen, `first_at` its first when it spans a
        while (a STIX sighting's first_seen)."""
        if kind == "seen":
            self.seen += count
            self.last_seen = max(self.last_seen or seen_at, seen_at)
            first = first_at or seen_at
            self.first_seen = min(self.first_seen or first, first)
        elif kind == "false-positive":
            self.false_positives += count
        elif kind == "expired":
            self.expired_at = max(self.expired_at or seen_at, seen_at)
        self.reporters = (self.reporters or set()) | {reporter}

    def merge(self, other: Tally) -> None:
        self.seen += other.seen
        self.false_positives += other.false_positives
        self.last_seen = max(filter(None, (self.last_seen, other.last_seen)), default=None)
        self.first_seen = min(filter(None, (self.first_seen, other.first_seen)), default=None)
        self.expired_at = max(filter(None, (self.expired_at, other.expired_at)), default=None)
        self.reporters = (self.reporters or set()) | (other.reporters or set())

    def as_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "false_positives": self.false_positives,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "expired_at": self.expired_at,
            "reported_by_members": len(self.reporters or ()),
        }


def tallies_by_value(conn: Connection, viewer: Viewer, keys: Sequence[str]) -> dict[str, Tally]:
    """lookup key -> what the viewer may see of its sightings (reported through the API)."""
    found: dict[str, Tally] = defaultdict(Tally)
    if not keys:
        return found
    wanted = set(keys)
    hashes = value_list(conn, sorted({key_hash(k) for k in wanted}))
    query = (
        select(sightings)
        .select_from(hashes.join(sightings, sightings.c.key_hash == hashes.c.value))
        .where(visible_filter(viewer, sightings))
    )
    for r in conn.execute(query):
        key = f"{r.value_kind}:{r.value}"
        if key in wanted:
            # An anonymous sighting counts as the broker's: its author cannot be singled out.
            reporter = "broker" if r.anonymous else r.member_id
            found[key].add(r.kind, r.count, r.seen_at, reporter)
    return found


def add_stix_sighting(
    found: dict[str, Tally], ref_id: str, body: str, anonymous: bool, member_id: str
) -> None:
    """Count one visible STIX sighting object of `ref_id` into `found`."""
    sighting = orjson.loads(body)
    seen_at = normalize_timestamp(
        sighting.get("last_seen") or sighting.get("first_seen") or sighting["modified"]
    )
    first = sighting.get("first_seen")
    found[ref_id].add("seen", int(sighting.get("count", 1)), seen_at,
                      "broker" if anonymous else member_id,
                      normalize_timestamp(first) if first else None)  # fmt: skip


def _stix_sightings(conn: Connection, viewer: Viewer, ids: Sequence[str]) -> dict[str, Tally]:
    """indicator id -> the visible STIX sighting objects of it."""
    found: dict[str, Tally] = defaultdict(Tally)
    if not ids:
        return found
    wanted = value_list(conn, sorted(set(ids)), String())
    query = (
        select(
            object_refs.c.ref_id,
            _sighting_objects.c.body,
            _sighting_objects.c.anonymous,
            _sighting_objects.c.member_id,
        )
        .select_from(
            wanted.join(object_refs, object_refs.c.ref_id == wanted.c.value).join(
                _sighting_objects, _sighting_objects.c.pk == object_refs.c.object_pk
            )
        )
        .where(
            _sighting_objects.c.type == "sighting",
            _sighting_objects.c.is_latest.is_(True),
            visible_filter(viewer, _sighting_objects),
        )
    )
    for ref_id, body, anonymous, member_id in conn.execute(query):
        add_stix_sighting(found, ref_id, body, anonymous, member_id)
    return found


def _any_sighting(conn: Connection) -> bool:
    """Whether any sighting was reported through the API at all (one row read, whoever asks):
    until one is, the values of thousands of indicators need not be looked up."""
    return conn.scalar(select(sightings.c.id).limit(1)) is not None


def _when(timestamp: str | None) -> datetime | None:
    return None if timestamp is None else parse_timestamp(timestamp)


class indicator_facts(FunctionElement[str]):
    """What scores and blocklists read from an indicator's stored body, as a JSON array the
    database makes: [confidence, pattern, pattern_type, valid_until]. Lookups score thousands of
    indicators; parsing whole bodies in Python was most of their time."""

    type = Text()
    inherit_cache = True
    name = "indicator_facts"


@compiles(indicator_facts, "sqlite")
def _facts_sqlite(element: indicator_facts, compiler: Any, **kw: Any) -> str:
    body = compiler.process(element.clauses, **kw)
    return f"json_extract({body}, '$.confidence', '$.pattern', '$.pattern_type', '$.valid_until')"


@compiles(indicator_facts, "postgresql")
def _facts_postgresql(element: indicator_facts, compiler: Any, **kw: Any) -> str:
    # json_to_record reads the body once; `body::json -> 'x'` would read it again for each field.
    # PostgreSQL reads no JSON holding a NUL escape anywhere, and objects stored before NULs
    # were refused may: read as U+FFFD, their facts are read (a 500 on every score, before).
    body = compiler.process(element.clauses, **kw)
    return (
        "(SELECT CAST(json_build_array(f.confidence, f.pattern, f.pattern_type, f.valid_until)"
        f" AS text) FROM json_to_record(CAST(replace({body}, '\\u0000', '\\ufffd') AS json)) "
        "AS f(confidence json, pattern json, pattern_type json, valid_until json))"
    )


def values_of(facts: Sequence[Any]) -> tuple[Observable, ...]:
    """An indicator's observable values, from its parsed indicator_facts."""
    _, pattern, pattern_type, _ = facts
    return observables_of({"type": "indicator", "pattern": pattern, "pattern_type": pattern_type})


class IndicatorRow(NamedTuple):
    """What a score is computed from: a visible indicator version as stored (a tuple, not a
    frozen dataclass, which takes three times as long to make: lookups make thousands)."""

    pk: int
    object_id: str
    modified: str
    confidence: int | None
    kind: str | None = None  # the kind of its first value, when the caller knows it
    values: tuple[Observable, ...] | None = None  # all its values, when the caller has them


def indicator_scores(
    conn: Connection,
    viewer: Viewer,
    pks: Sequence[int],
    half_lives: dict[str, float],
    now: datetime | None = None,
) -> dict[int, dict[str, Any]]:
    """Object pk -> {"score", "sightings"} for the visible indicators among `pks`."""
    if not pks:
        return {}
    wanted = value_list(conn, sorted(set(pks)))
    rows = conn.execute(
        select(objects.c.pk, objects.c.object_id, objects.c.modified, objects.c.confidence)
        .select_from(wanted.join(objects, objects.c.pk == wanted.c.value))
        .where(objects.c.type == "indicator", visible_filter(viewer, objects))
    ).all()
    indicators = [IndicatorRow(*r) for r in rows]
    return scores_of(conn, viewer, indicators, half_lives, now=now)


def _values_by_pk(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[Observable, ...]]:
    """The observable values of these indicators, read from their patterns (the caller has
    checked that the viewer may see them)."""
    if not pks:
        return {}
    wanted = value_list(conn, sorted(set(pks)))
    rows = conn.execute(
        select(objects.c.pk, indicator_facts(objects.c.body)).select_from(
            wanted.join(objects, objects.c.pk == wanted.c.value)
        )
    )
    return {pk: values_of(orjson.loads(facts)) for pk, facts in rows}


def scores_of(
    conn: Connection,
    viewer: Viewer,
    indicators: Sequence[IndicatorRow],
    half_lives: dict[str, float],
    *,
    now: datetime | None = None,
    stix: dict[str, Tally] | None = None,
) -> dict[int, dict[str, Any]]:
    """Object pk -> {"score", "sightings"} for indicators the viewer may see. `stix`: their
    visible STIX sightings by indicator id, when the caller has read them already."""
    now = now or datetime.now(UTC)
    by_value: dict[str, Tally] = {}
    # An indicator's values are read from its pattern only when needed: to find the sightings
    # reported of them, or the kind of its first value when the caller does not know it.
    sighted = _any_sighting(conn)
    values = {r.pk: r.values for r in indicators if r.values is not None}
    values |= _values_by_pk(
        conn, [r.pk for r in indicators if r.values is None and (sighted or r.kind is None)]
    )
    if sighted:
        keys = sorted({lookup_key(o) for obs in values.values() for o in obs})
        by_value = tallies_by_value(conn, viewer, keys)
    if stix is None:
        stix = _stix_sightings(conn, viewer, [r.object_id for r in indicators])
    scores = {}
    unsighted = Tally().as_dict()  # shared by every unsighted indicator's answer: never changed
    for r in indicators:
        kind = r.kind
        if kind is None:
            first = values.get(r.pk)
            kind = first[0].kind if first else "default"
        tally = None
        if by_value or stix:  # most stores have far fewer sightings than indicators
            sources = [stix.get(r.object_id)]
            sources += [by_value.get(lookup_key(o)) for o in values.get(r.pk, ())]
            for source in sources:
                if source is not None:
                    tally = tally or Tally()
                    tally.merge(source)
        modified = _when(r.modified) or now
        if tally is None:  # most indicators: the evidence is the indicator alone
            evidence, seen = Evidence(kind, r.confidence, modified), unsighted
        else:
            evidence = Evidence(
                kind=kind,
                confidence=r.confidence,
                modified=modified,
                seen=tally.seen,
                false_positives=tally.false_positives,
                last_seen=_when(tally.last_seen),
                expired_at=_when(tally.expired_at),
            )
            seen = tally.as_dict()
        scores[r.pk] = {"score": score(evidence, now, half_lives), "sightings": seen}
    return scores
