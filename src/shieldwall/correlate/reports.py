"""A report's correlations: what its visible objects share with other visible objects, and the
other visible reports holding those (MISP's event view: which report, through which values,
from which of this report's objects).

A report's objects are those its `object_refs` name whose latest version the viewer may see, one
version per id, chosen as GET /objects/{id} chooses it; the rest of `object_refs` is the author's
list and is never resolved into anything, counted or named. Every match, report and count is
then found through the policy, with the index queries one object's correlations use
(service.py), a batch of ids or values at a time: never a query per object.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Row, String, select

from shieldwall.correlate.index import address_bounds, key_hash
from shieldwall.correlate.matches import (
    Hit,
    exact_rows,
    holders_of,
    range_rows,
    stored_value,
    take_hit,
)
from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.correlate.service import _TLP_LABELS, _summary
from shieldwall.db import probe_by_probe, value_list
from shieldwall.intel.query import first_visible_pks, shown_copy
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, visible_filter

BATCH = 1000  # ids resolved, or values probed, per query

# What the report view and the correlations read of each of a report's objects.
OBJECT_COLUMNS = (
    objects.c.pk, objects.c.object_id, objects.c.type, objects.c.member_id, objects.c.anonymous,
    objects.c.distribution, objects.c.tlp, objects.c.sharing_group_id, objects.c.body,
)  # fmt: skip


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def report_refs(report: dict[str, Any]) -> list[str]:
    """The ids a report's author listed, each once, in the author's order."""
    refs = report.get("object_refs")
    if not isinstance(refs, list):
        return []
    return list(dict.fromkeys(r for r in refs if isinstance(r, str)))


def latest_visible(
    conn: Connection, viewer: Viewer, ids: Sequence[str], *, batch: int = BATCH
) -> Iterator[list[Row[Any]]]:
    """The latest visible version of each id, a batch of ids at a time, in the order given; an id
    with none is left out. Where several members hold a copy of one id, the one GET
    /objects/{id} shows (query.shown_copy: the viewer's own, else the first sharer's): never
    "the copy of the report's author", which would tell who wrote an anonymous report, nor a
    later claim to the id by its `modified`."""
    for chunk in _chunks(ids, batch):
        wanted = value_list(conn, chunk, String())
        rows = conn.execute(
            select(*OBJECT_COLUMNS)
            .select_from(wanted.join(objects, objects.c.object_id == wanted.c.value))
            .where(objects.c.is_latest.is_(True), visible_filter(viewer, objects))
        ).all()
        copies: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            copies[row.object_id].append(row)
        shared = [i for i, held in copies.items() if len(held) > 1]  # rare: one query for them
        first_pks = first_visible_pks(conn, viewer, shared) if shared else {}
        chosen = {
            i: shown_copy(held, viewer, first_pks.get(i, {})) if len(held) > 1 else held[0]
            for i, held in copies.items()
        }
        yield [chosen[i] for i in chunk if i in chosen]


def visible_ids(conn: Connection, viewer: Viewer, ids: Iterable[str]) -> set[str]:
    """Which of these ids have a latest version the viewer may see."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        wanted = value_list(conn, chunk, String())
        found.update(
            conn.scalars(
                select(objects.c.object_id)
                .select_from(wanted.join(objects, objects.c.object_id == wanted.c.value))
                .where(objects.c.is_latest.is_(True), visible_filter(viewer, objects))
            )
        )
    return found


@dataclass(slots=True)
class _Correlated:
    """Another report, and what links it to this one."""

    values: set[str] = field(default_factory=set)  # the values shared
    objects: set[str] = field(default_factory=set)  # this report's objects holding them
    their_objects: set[str] = field(default_factory=set)  # its objects holding them


def report_correlations(
    conn: Connection,
    viewer: Viewer,
    report_id: str,
    own: Iterable[tuple[int, str, Sequence[Observable]]],
    *,
    noisy_threshold: int,
) -> dict[str, Any]:
    """The correlations of a report's objects, aggregated. `own`: (pk, id, values) of each of
    its objects the viewer may see (latest_visible). Reports are linked through a shared value
    (exact, address in range, URL on a domain) or through an object both refer to."""
    own_ids: dict[int, str] = {}
    holders: dict[str, set[str]] = defaultdict(set)  # value key -> this report's objects
    items: dict[str, Observable] = {}
    for pk, object_id, values in own:
        own_ids[pk] = object_id
        for o in values:
            key = lookup_key(o)
            items.setdefault(key, o)
            holders[key].add(object_id)
    mine = set(own_ids.values())
    probe_by_probe(conn)
    by_hash = {key_hash(key): key for key in items}
    exact = [r for chunk in _chunks(sorted(by_hash)) for r in exact_rows(conn, viewer, chunk)]
    # The report's own index rows say which of its values are on a warning list.
    benign = {r[0] for r in exact if r[5] in own_ids and r[1]}  # key_hash, pk, benign
    hits: dict[int, Hit] = {}
    links: dict[int, dict[str, set[str]]] = defaultdict(dict)  # hit -> value -> own objects
    for r in exact:
        key = by_hash[r[0]]
        if r[0] not in benign and (pk := take_hit(hits, r, items[key].kind)) is not None:
            links[pk].setdefault(key, set()).update(holders[key])
    kept = {key: o for key, o in items.items() if key_hash(key) not in benign}
    by_low: dict[str, list[str]] = defaultdict(list)
    for key, o in kept.items():
        if o.kind in ("ipv4", "ipv6"):
            by_low[address_bounds(o)[0] or ""].append(key)
    in_ranges, too_wide = range_rows(conn, viewer, list(kept.values()))
    for (how, asked), r in in_ranges:
        stored = stored_value(r.low, r.high)
        if (pk := take_hit(hits, r, stored.partition(":")[0])) is not None:
            for key in by_low[asked] if how == "address" else [asked]:
                links[pk].setdefault(stored, set()).update(holders[key])
    held_by: dict[str, set[int]] = defaultdict(set)  # value -> other objects holding it
    for pk, by_value in links.items():
        if hits[pk].object_id not in mine:
            for key in by_value:
                held_by[key].add(pk)
    noisy = {key for key, pks in held_by.items() if len(pks) > noisy_threshold} | too_wide
    for by_value in links.values():
        for key in noisy & by_value.keys():
            del by_value[key]
    reports: dict[str, set[str]] = defaultdict(set)
    asked_ids = sorted(mine | {h.object_id for h in hits.values()})
    for chunk in _chunks(asked_ids):
        for object_id, holder_ids in holders_of(conn, viewer, chunk)[0].items():
            reports[object_id] |= holder_ids
    matched = {
        pk: sorted(by_value)
        for pk, by_value in sorted(links.items())
        if by_value and hits[pk].object_id not in mine
    }
    summary = _summary(matched, hits, reports, noisy, {})
    for match, pk in zip(summary["matches"], matched, strict=True):
        match["objects"] = sorted(set().union(*links[pk].values()))
    correlated = _correlated(report_id, mine, hits, links, reports)
    listed = _described(conn, viewer, correlated)
    return {
        "id": report_id,
        "values": sorted(kept),
        "matches": summary["matches"],
        "reports": listed,
        "seen_in_reports": len(listed),
        "seen_by_members": summary["seen_by_members"],
        "noisy_values": summary["noisy_values"],
    }


def _correlated(
    report_id: str,
    mine: set[str],
    hits: dict[int, Hit],
    links: dict[int, dict[str, set[str]]],
    reports: dict[str, set[str]],
) -> dict[str, _Correlated]:
    """Other report id -> what links it to this one."""
    out: dict[str, _Correlated] = defaultdict(_Correlated)
    for pk, by_value in links.items():
        if not by_value:
            continue
        hit_id = hits[pk].object_id
        for other in reports.get(hit_id, ()):
            if other != report_id:
                entry = out[other]
                entry.values.update(by_value)
                entry.objects.update(*by_value.values())
                entry.their_objects.add(hit_id)
    for object_id in mine:  # an object both refer to, whether or not it holds a value
        for other in reports.get(object_id, ()):
            if other != report_id:
                entry = out[other]
                entry.objects.add(object_id)
                entry.their_objects.add(object_id)
    return out


def _described(
    conn: Connection, viewer: Viewer, correlated: dict[str, _Correlated]
) -> list[dict[str, Any]]:
    """The correlated reports the viewer may see, most linked first, with what names them. Other
    containers (groupings, notes) that hold the same objects are not reports: left out."""
    out = []
    for rows in latest_visible(conn, viewer, sorted(correlated)):
        for row in rows:
            if row.type != "report":
                continue
            body = orjson.loads(row.body)
            entry = correlated[row.object_id]
            out.append(
                {
                    "id": row.object_id,
                    "name": body.get("name"),
                    "published": body.get("published"),
                    "modified": body.get("modified"),
                    "created_by_ref": body.get("created_by_ref"),
                    "tlp": _TLP_LABELS[row.tlp],
                    "values": sorted(entry.values),
                    "objects": sorted(entry.objects),
                    "their_objects": sorted(entry.their_objects),
                }
            )
    out.sort(key=lambda e: (-len(e["objects"]), -len(e["values"]), e["id"]))
    return out


def correlations_of_report(
    conn: Connection, viewer: Viewer, report: Row[Any], *, noisy_threshold: int
) -> dict[str, Any]:
    """GET /objects/{report}/correlations: the correlations of the report's visible objects,
    aggregated; `report` is its latest version, which the viewer may see."""
    refs = report_refs(orjson.loads(report.body))

    def own() -> Iterator[tuple[int, str, Sequence[Observable]]]:
        for rows in latest_visible(conn, viewer, refs):
            for row in rows:
                if row.type != "relationship":  # as the report view counts its objects
                    yield row.pk, row.object_id, observables_of(orjson.loads(row.body))

    return report_correlations(
        conn, viewer, report.object_id, own(), noisy_threshold=noisy_threshold
    )
