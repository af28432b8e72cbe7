"""Correlations and lookups through the index, and always through the policy.

Every match is an object version the viewer may see; counts ("also seen in N reports", "seen by N
members") are computed from visible objects only, so they never betray what the viewer may not see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from shieldwall.correlate.index import (
    CONTAINER_TYPES,
    PRIVATE_PREFIX_LENGTH,
    address_bounds,
    key_digest,
    key_hash,
    prefix_range,
)
from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.correlate.tables import object_refs, observables
from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP
from shieldwall.policy import Viewer, may_see, visible_filter
from shieldwall.sightings.service import indicator_scores
from shieldwall.sightings.warninglists import WarningLists

_IN_CHUNK = 2000
_RANGE_KINDS = {"ipv4": "ipv4-cidr", "ipv6": "ipv6-cidr"}  # an address and the ranges it falls in
_reports = objects.alias("reports")


@dataclass
class _Hit:
    """A visible object version that holds a value being asked about."""

    pk: int
    object_id: str
    type: str
    tlp: int
    member_id: str
    anonymous: bool
    values: set[str] = field(default_factory=set)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_HIT_COLUMNS = (
    observables.c.kind, observables.c.value, observables.c.benign, observables.c.low,
    observables.c.high, objects.c.pk,
    objects.c.object_id, objects.c.type, objects.c.tlp, objects.c.member_id, objects.c.anonymous,
)  # fmt: skip


def _visible_hits(conn: Connection, viewer: Viewer, condition: Any) -> list[Any]:
    query = (
        select(*_HIT_COLUMNS)
        .select_from(observables.join(objects, objects.c.pk == observables.c.object_pk))
        .where(condition, objects.c.is_latest.is_(True), visible_filter(viewer, objects))
    )
    return conn.execute(query).all()


def _exact_hits(conn: Connection, viewer: Viewer, keys: Sequence[str]) -> list[Any]:
    hashes = sorted({key_hash(k) for k in keys})
    wanted = set(keys)
    rows = []
    for chunk in _chunks(hashes):
        rows += _visible_hits(conn, viewer, observables.c.key_hash.in_(chunk))
    # 64 bits of hash collide almost never; the stored value settles it when they do.
    return [r for r in rows if f"{r.kind}:{r.value}" in wanted]


def _range_hits(conn: Connection, viewer: Viewer, items: Sequence[Observable]) -> list[Any]:
    """Ranges that hold an asked-about address, and addresses inside an asked-about range."""
    conditions = []
    # Most stores hold few ranges or none: asking first spares building thousands of conditions.
    stored_ranges = {
        kind
        for kind in {_RANGE_KINDS[i.kind] for i in items if i.kind in _RANGE_KINDS}
        if conn.scalar(select(observables.c.low).where(observables.c.kind == kind).limit(1))
    }
    for item in items:
        if item.kind in _RANGE_KINDS and _RANGE_KINDS[item.kind] not in stored_ranges:
            continue
        low, high = address_bounds(item)
        if low is None:
            continue
        if item.kind in _RANGE_KINDS:
            conditions.append(
                and_(
                    observables.c.kind == _RANGE_KINDS[item.kind],
                    observables.c.low <= low,
                    observables.c.high >= high,
                )
            )
        else:
            address_kind = item.kind.removesuffix("-cidr")
            conditions.append(
                and_(
                    observables.c.kind == address_kind,
                    observables.c.low >= low,
                    observables.c.low <= high,
                )
            )
    rows = []
    for chunk in _chunks(conditions, 200):
        rows += _visible_hits(conn, viewer, or_(*chunk))
    return rows


def _containing_reports(
    conn: Connection, viewer: Viewer, ids: Sequence[str]
) -> dict[str, set[str]]:
    """object id -> the visible reports (and other containers) that refer to it."""
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(set(ids))):
        query = (
            select(object_refs.c.ref_id, _reports.c.object_id)
            .select_from(object_refs.join(_reports, _reports.c.pk == object_refs.c.object_pk))
            .where(
                object_refs.c.ref_id.in_(chunk),
                _reports.c.type.in_(sorted(CONTAINER_TYPES)),
                _reports.c.is_latest.is_(True),
                visible_filter(viewer, _reports),
            )
        )
        for ref_id, report_id in conn.execute(query):
            found[ref_id].add(report_id)
    return found


def _summary(
    hits: Iterable[_Hit],
    reports: dict[str, set[str]],
    noisy: set[str],
    scores: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    hits = list(hits)
    scores = scores or {}
    # An anonymous contribution counts as the broker's, so a count cannot single out its author.
    sources = {"broker" if h.anonymous else h.member_id for h in hits}
    return {
        "matches": [
            {
                "id": h.object_id,
                "type": h.type,
                "tlp": TLP(h.tlp).label,
                "values": sorted(h.values),
                "reports": sorted(reports.get(h.object_id, ())),
                **scores.get(h.pk, {}),
            }
            for h in sorted(hits, key=lambda h: h.pk)
        ],
        "seen_in_reports": len(set().union(*(reports.get(h.object_id, set()) for h in hits))),
        "seen_by_members": len(sources),
        "noisy_values": sorted(noisy),
    }


def _collect(rows: Iterable[Any], exclude_id: str | None = None) -> dict[str, dict[int, _Hit]]:
    """value key asked about -> pk -> hit."""
    by_value: dict[str, dict[int, _Hit]] = defaultdict(dict)
    for r in rows:
        if r.object_id == exclude_id or r.benign:
            continue
        key = f"{r.kind}:{r.value}"
        hit = by_value[key].setdefault(
            r.pk, _Hit(r.pk, r.object_id, r.type, r.tlp, r.member_id, r.anonymous)
        )
        hit.values.add(key)
    return by_value


def correlations(db: Database, viewer: Viewer, object_id: str, *, noisy_threshold: int) -> dict:
    """Objects that share a value with `object_id`'s latest visible version; NotFound otherwise."""
    with db.read() as conn:
        candidates = conn.execute(
            select(objects).where(objects.c.object_id == object_id, objects.c.is_latest.is_(True))
        ).all()
        mine = next((r for r in candidates if may_see(viewer, r._mapping)), None)
        if mine is None:
            raise NotFound("no such object")
        own = [
            Observable(r.kind, r.value, *_bounds_as_ints(r))
            for r in conn.execute(select(observables).where(observables.c.object_pk == mine.pk))
            if not r.benign
        ]
        keys = [lookup_key(o) for o in own]
        rows = _exact_hits(conn, viewer, keys) + _range_hits(conn, viewer, own)
        by_value = _collect(rows, exclude_id=object_id)
        noisy = {k for k, hits in by_value.items() if len(hits) > noisy_threshold}
        hits: dict[int, _Hit] = {}
        for key, value_hits in by_value.items():
            if key in noisy:
                continue
            for pk, hit in value_hits.items():
                hits.setdefault(
                    pk, _Hit(hit.pk, hit.object_id, hit.type, hit.tlp, hit.member_id, hit.anonymous)
                ).values |= hit.values
        reports = _containing_reports(conn, viewer, [h.object_id for h in hits.values()])
    return {"id": object_id, "values": sorted(keys), **_summary(hits.values(), reports, noisy)}


def _bounds_as_ints(row: Any) -> tuple[int | None, int | None]:
    if row.kind.endswith("-cidr") and row.low is not None:
        return int(row.low, 16), int(row.high, 16)
    return None, None


def lookup(
    db: Database,
    viewer: Viewer,
    items: Sequence[Observable],
    *,
    noisy_threshold: int,
    half_lives: dict[str, float],
    min_score: float | None = None,
    lists: WarningLists | None = None,
) -> list[dict]:
    """For each normalised value: the visible objects that hold it, with their reports, and
    each indicator's score; with `min_score`, indicators scoring less are left out."""
    expanded = [_with_related(item) for item in items]
    all_keys = [lookup_key(o) for group in expanded for o in group]
    with db.read() as conn:
        exact = _collect(_exact_hits(conn, viewer, all_keys))
        ranged = _range_hits(conn, viewer, items)
        reports = _containing_reports(
            conn,
            viewer,
            [h.object_id for hits in exact.values() for h in hits.values()]
            + [r.object_id for r in ranged],
        )
        pks = {pk for hits in exact.values() for pk in hits} | {r.pk for r in ranged}
        scores = indicator_scores(conn, viewer, sorted(pks), half_lives)
    results = []
    for item, group in zip(items, expanded, strict=True):
        key = lookup_key(item)
        hits: dict[int, _Hit] = {}
        for related_key in (lookup_key(o) for o in group):
            hits.update(exact.get(related_key, {}))
        low, high = address_bounds(item)
        if low is not None:
            for hit_key, row_hits in _collect(r for r in ranged if _overlaps(r, low, high)).items():
                if hit_key != key:
                    hits.update(row_hits)
        if min_score is not None:
            hits = {
                pk: h
                for pk, h in hits.items()
                if pk not in scores or scores[pk]["score"] >= min_score
            }
        noisy = {key} if len(hits) > noisy_threshold else set()
        summary = _summary([] if noisy else hits.values(), reports, noisy, scores)
        warnings = [
            {"list": m.list_id, "name": m.list_name, "category": m.category, "matched": m.matched}
            for m in (lists.match(item.kind, item.value) if lists else ())
        ]
        results.append({"kind": item.kind, "value": item.value, "warnings": warnings, **summary})
    return results


def _with_related(item: Observable) -> tuple[Observable, ...]:
    """A value and what it implies: a URL is also its host, as the index stores it."""
    if item.kind == "url":
        return observables_of({"type": "url", "value": item.value})
    return (item,)


def _overlaps(row: Any, low: str, high: str) -> bool:
    """An address inside the asked range, or a range holding the asked address (same width)."""
    return len(row.low) == len(low) and (
        (row.low >= low and row.low <= high) or (row.low <= low and row.high >= high)
    )


def private_lookup(db: Database, viewer: Viewer, prefixes: Sequence[str]) -> dict[str, list[dict]]:
    """For each hex prefix of sha256(lookup key): the full digests of visible values under it.

    The client matches the digests against its own values locally: the server learns only the
    prefixes, each shared by about 1 in a million of all possible values.
    """
    for prefix in prefixes:
        if len(prefix) != PRIVATE_PREFIX_LENGTH or any(c not in "0123456789abcdef" for c in prefix):
            raise Invalid(
                f"a private lookup prefix is {PRIVATE_PREFIX_LENGTH} lower-case hex "
                f"digits, not {prefix!r}"
            )
    answers: dict[str, list[dict]] = {p: [] for p in prefixes}
    with db.read() as conn:
        for prefix in dict.fromkeys(prefixes):
            low, high = prefix_range(prefix)
            rows = _visible_hits(conn, viewer, observables.c.key_hash.between(low, high))
            by_value = _collect(rows)
            reports = _containing_reports(
                conn, viewer, [h.object_id for hits in by_value.values() for h in hits.values()]
            )
            for key, hits in by_value.items():
                answers[prefix].append(
                    {"digest": key_digest(key), **_summary(hits.values(), reports, set())}
                )
    return answers
