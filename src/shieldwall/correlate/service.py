"""Correlations and lookups through the index, and always through the policy.

Every match is an object version the viewer may see; counts ("also seen in N reports", "seen by N
members") are computed from visible objects only, so they never betray what the viewer may not see.

Correlations leave out values on a false-positive warning list (the index flags them when it
stores them): "8.8.8.8 is in both" links nothing. A lookup is a question about one value, so it
answers with such matches too, marked `warninglisted` (as MISP flags such attributes), and the
caller may drop them. A revoked object is still shown to a lookup, marked `revoked` and, for an
indicator, scored 0: a SOC asking about a value it sees should learn that the intel was
withdrawn, not find nothing.

The index holds 64-bit keys, not values: a match is a stored key equal to an asked one. Any two of
ten million stored values share 64 bits of SHA-256 with a chance of about 3 in a million, and
crafting a value to collide with a given one takes ~2^64 hashes; a collision could only pair two
objects the viewer may see anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import JSON, Connection, String, and_, cast, func, select

from shieldwall.correlate.index import (
    PRIVATE_PREFIX_LENGTH,
    address_bounds,
    key_digest,
    key_hash,
    prefix_range,
)
from shieldwall.correlate.matches import (
    HIT_COLUMNS,
    Hit,
    exact_rows,
    holders_of,
    range_rows,
    stored_value,
    take_hit,
    visible_latest,
)
from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.correlate.tables import observable_keys
from shieldwall.correlate.values import url_and_host
from shieldwall.db import Database, probe_by_probe, value_list
from shieldwall.errors import Invalid, NotFound
from shieldwall.gcpause import gc_paused
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP
from shieldwall.policy import Viewer, may_see
from shieldwall.sightings.service import (
    IndicatorRow,
    Tally,
    scores_of,
)
from shieldwall.sightings.warninglists import WarningLists

_keys = observable_keys


def _titles(conn: Connection, viewer: Viewer, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Id -> {"type", "name"} of the visible reports (and other containers) that answers name,
    each once however many answers name it. The name is read out of the stored body by the
    database (a report's body holds all its refs: no need to send it here to read one property);
    a note has an abstract instead, an observed-data neither."""
    return {
        object_id: {"type": type_, "name": title}
        for object_id, type_, title, _ in _titled(conn, viewer, ids)
    }


def _titled(conn: Connection, viewer: Viewer, ids: Collection[str]) -> list[Any]:
    """(object_id, type, name, tlp) of the latest visible version of each of `ids`; the name is
    a note's abstract, or an observable's value, where the object has no name."""
    if not ids:
        return []
    if conn.dialect.name == "sqlite":
        name: Any = func.coalesce(
            func.json_extract(objects.c.body, "$.name"),
            func.json_extract(objects.c.body, "$.abstract"),
            func.json_extract(objects.c.body, "$.value"),
        )
    else:
        # No JSON holding a NUL escape is read by PostgreSQL (objects stored before they were
        # refused may hold one): read as U+FFFD.
        body = cast(func.replace(objects.c.body, "\\u0000", "\\ufffd"), JSON)
        name = func.coalesce(
            body["name"].as_string(), body["abstract"].as_string(), body["value"].as_string()
        )
    wanted = value_list(conn, sorted(ids), String())
    query = select(objects.c.object_id, objects.c.type, name, objects.c.tlp).select_from(
        wanted.join(objects, objects.c.object_id == wanted.c.value)
    )
    return list(conn.execute(visible_latest(query, viewer)))


_TLP_LABELS = {int(tlp): tlp.label for tlp in TLP}


def _summary(
    matched: dict[int, list[str]],
    hits: dict[int, Hit],
    reports: dict[str, set[str]],
    noisy: Collection[str],
    scores: dict[int, dict[str, Any]],
    benign: Collection[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """The answer about some values: `matched` is object pk -> the values it matched by. With
    `benign` ((value, pk) pairs on a false-positive list), a lookup's answer: each match also
    says whether it is `revoked` and whether it is `warninglisted` (every value it matched by is
    on such a list)."""
    if not matched:
        return {"matches": [], "seen_in_reports": 0, "seen_by_members": 0,
                "noisy_values": sorted(noisy)}  # fmt: skip
    matches = []
    seen_in: set[str] = set()
    sources: set[str] = set()
    for pk in sorted(matched):
        hit, values = hits[pk], matched[pk]
        in_reports = reports.get(hit.object_id)
        match = {
            "id": hit.object_id,
            "type": hit.type,
            "tlp": _TLP_LABELS[hit.tlp],
            "values": sorted(set(values)) if len(values) > 1 else values,
            "reports": sorted(in_reports) if in_reports else [],
        }
        if benign is not None:
            match["revoked"] = bool(hit.revoked)
            match["warninglisted"] = bool(benign) and all((v, pk) in benign for v in values)
        if in_reports:
            seen_in.update(in_reports)
        if (score := scores.get(pk)) is not None:
            match.update(score)
        matches.append(match)
        # An anonymous contribution counts as the broker's: a count cannot single out its author.
        sources.add("broker" if hit.anonymous else hit.member_id)
    return {
        "matches": matches,
        "seen_in_reports": len(seen_in),
        "seen_by_members": len(sources),
        "noisy_values": sorted(noisy),
    }


def _scores(
    conn: Connection,
    viewer: Viewer,
    hits: Iterable[Hit],
    half_lives: dict[str, float],
    stix: dict[str, Tally],
) -> dict[int, dict[str, Any]]:
    """Object pk -> {"score", "sightings"} of each indicator among `hits`; a revoked one scores
    0, whatever its evidence: its author withdrew it."""
    indicators = [h for h in hits if h.type == "indicator"]
    rows = [IndicatorRow(h.pk, h.object_id, h.modified, h.confidence, h.kind) for h in indicators]
    scores = scores_of(conn, viewer, rows, half_lives, stix=stix)
    for hit in indicators:
        if hit.revoked and hit.pk in scores:
            scores[hit.pk] = {**scores[hit.pk], "score": 0.0}
    return scores


def _by_object(held_by: dict[str, set[int]], keys: Iterable[str]) -> dict[int, list[str]]:
    """Object pk -> which of `keys` it holds, from value key -> the objects holding it."""
    matched: dict[int, list[str]] = {}
    for key in keys:
        for pk in held_by.get(key, ()):
            matched.setdefault(pk, []).append(key)
    return matched


def correlations(
    db: Database,
    viewer: Viewer,
    object_id: str,
    *,
    noisy_threshold: int,
) -> dict:
    """Objects that share a value with `object_id`'s latest visible version; NotFound otherwise."""
    with db.read() as conn:
        candidates = conn.execute(
            select(objects).where(objects.c.object_id == object_id, objects.c.is_latest.is_(True))
        ).all()
        mine = next((r for r in candidates if may_see(viewer, r._mapping)), None)
        if mine is None:
            raise NotFound("no such object")
        if mine.type == "report":  # the correlations of its objects, aggregated
            from shieldwall.correlate.reports import correlations_of_report  # which imports us

            return correlations_of_report(conn, viewer, mine, noisy_threshold=noisy_threshold)
        own = observables_of(orjson.loads(mine.body))
        by_hash = {key_hash(lookup_key(o)): o for o in own}
        exact = exact_rows(conn, viewer, by_hash)
        # The object's own rows say which of its values are on a warning list.
        benign = {r[0] for r in exact if r[5] == mine.pk and r[1]}  # key_hash, pk, benign
        own = [o for o in own if key_hash(lookup_key(o)) not in benign]
        hits: dict[int, Hit] = {}
        held_by: dict[str, set[int]] = defaultdict(set)
        for r in exact:
            if r[0] not in benign:
                asked = by_hash[r[0]]
                if (pk := take_hit(hits, r, asked.kind, object_id)) is not None:
                    held_by[lookup_key(asked)].add(pk)
        ranged, too_wide = range_rows(conn, viewer, own)
        for _, r in ranged:
            key = stored_value(r.low, r.high)
            if (pk := take_hit(hits, r, key.partition(":")[0], object_id)) is not None:
                held_by[key].add(pk)
        noisy = {key for key, pks in held_by.items() if len(pks) > noisy_threshold} | too_wide
        matched = _by_object(held_by, sorted(held_by.keys() - noisy))
        reports, _ = holders_of(conn, viewer, [hits[pk].object_id for pk in matched])
    keys = sorted(lookup_key(o) for o in own)
    return {"id": object_id, "values": keys, **_summary(matched, hits, reports, noisy, {})}


class Lookup(NamedTuple):
    """A lookup's answer: one result per value asked, in order, and the reports they name."""

    results: list[dict[str, Any]]
    reports: dict[str, dict[str, Any]]  # id -> {"type", "name"}


def lookup(
    db: Database,
    viewer: Viewer,
    items: Sequence[Observable],
    *,
    noisy_threshold: int,
    half_lives: dict[str, float],
    min_score: float | None = None,
    lists: WarningLists | None = None,
    exclude_warninglisted: bool = False,
) -> Lookup:
    """For each normalised value: the visible objects that hold it, with their reports, and
    each indicator's score. With `min_score`, weaker indicators and revoked objects are left
    out; with `exclude_warninglisted`, matches by a value on a false-positive warning list."""
    # A value asked again is looked up and answered once: asking for one range a thousand times
    # made a thousand answers of every address in it.
    asked_items = items
    items = list(dict.fromkeys(items))
    # What each asked value is looked up by: itself and what it implies (a URL is also its host,
    # as the index stores it).
    asked = [[(lookup_key(o), o.kind) for o in _with_related(item)] for item in items]
    by_hash = {key_hash(key): (key, kind) for keys in asked for key, kind in keys}
    # Answers are built with the collector paused too: they are tens of thousands of objects.
    with gc_paused(), db.read() as conn:
        probe_by_probe(conn)
        hits: dict[int, Hit] = {}
        exact: dict[str, set[int]] = defaultdict(set)
        benign: set[tuple[str, int]] = set()  # (value key, pk) on a false-positive list
        for r in exact_rows(conn, viewer, by_hash):
            key, kind = by_hash[r[0]]
            if (pk := take_hit(hits, r, kind, benign_too=True)) is not None:
                exact[key].add(pk)
                if r[1]:
                    benign.add((key, pk))
        # what was asked -> stored range or address key -> the objects holding it
        ranged: dict[tuple[str, str], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        in_ranges, too_wide = range_rows(conn, viewer, items)
        for asked_as, r in in_ranges:
            key = stored_value(r.low, r.high)
            if (pk := take_hit(hits, r, key.partition(":")[0], benign_too=True)) is not None:
                ranged[asked_as][key].add(pk)
                if r.benign:
                    benign.add((key, pk))
        reports, stix = holders_of(conn, viewer, [h.object_id for h in hits.values()])
        scores = _scores(conn, viewer, hits.values(), half_lives, stix)
        found = _Found(exact, ranged, hits, reports, scores, benign, too_wide)
        answers = {
            item: _answer(
                item,
                keys,
                found,
                lists,
                noisy_threshold=noisy_threshold,
                min_score=min_score,
                exclude_warninglisted=exclude_warninglisted,
            )
            for item, keys in zip(items, asked, strict=True)
        }
        results = [answers[item] for item in asked_items]
        named = (
            {r for result in results for m in result["matches"] for r in m["reports"]}
            if reports  # most lookups' matches are in no report
            else set()
        )
        return Lookup(results, _titles(conn, viewer, named))


class _Found(NamedTuple):
    """What a lookup found for all the values asked."""

    exact: dict[str, set[int]]  # value key -> the objects holding it
    ranged: dict[tuple[str, str], dict[str, set[int]]]  # asked -> stored range or address -> pks
    hits: dict[int, Hit]
    reports: dict[str, set[str]]
    scores: dict[int, dict[str, Any]]
    benign: set[tuple[str, int]]  # (value key, pk) that the index flagged as warning-listed
    too_wide: set[str]  # asked ranges holding more index rows than a lookup reads


def _answer(
    item: Observable,
    keys: list[tuple[str, str]],
    found: _Found,
    lists: WarningLists | None,
    *,
    noisy_threshold: int,
    min_score: float | None,
    exclude_warninglisted: bool,
) -> dict[str, Any]:
    """The answer about one asked value, from what the lookup found for them all."""
    ranged, scores, exact, benign = found.ranged, found.scores, found.exact, found.benign
    if len(keys) == 1:  # most values (a URL is two: itself and its host)
        key = keys[0][0]
        matched = {pk: [key] for pk in exact[key]} if key in exact else {}
    else:
        matched = _by_object(exact, [key for key, _ in keys])
    if ranged:
        if item.kind in ("ipv4", "ipv6"):
            by_key = ranged.get(("address", address_bounds(item)[0]), {})
        elif item.kind.endswith("-cidr"):
            by_key = ranged.get(("range", keys[0][0]), {})
        else:
            by_key = {}
        for pk, values in _by_object(by_key, by_key).items():
            matched.setdefault(pk, []).extend(values)
    if min_score is not None or (exclude_warninglisted and benign):
        matched = _kept(matched, found, min_score, exclude_warninglisted)
    too_many = len(matched) > noisy_threshold or keys[0][0] in found.too_wide
    noisy = (keys[0][0],) if too_many else ()
    warnings = [
        {"list": m.list_id, "name": m.list_name, "category": m.category, "matched": m.matched}
        for m in (lists.match(item.kind, item.value) if lists else ())
    ]
    return {
        "kind": item.kind,
        "value": item.value,
        "warnings": warnings,
        **_summary({} if noisy else matched, found.hits, found.reports, noisy, scores, benign),
    }


def _kept(
    matched: dict[int, list[str]],
    found: _Found,
    min_score: float | None,
    exclude_warninglisted: bool,
) -> dict[int, list[str]]:
    """The matches a caller asked to keep. With `min_score`: indicators by their score, any
    other object as if it scored 0 when revoked (withdrawn is withdrawn, whatever its type) and
    as passing otherwise (only indicators are scored). With `exclude_warninglisted`: not those
    matched only by values on a false-positive list."""
    kept = {}
    for pk, values in matched.items():
        if min_score is not None:
            score = found.scores.get(pk)
            if score is not None and score["score"] < min_score:
                continue
            if score is None and found.hits[pk].revoked and min_score > 0:
                continue
        if exclude_warninglisted and all((v, pk) in found.benign for v in values):
            continue
        kept[pk] = values
    return kept


def _with_related(item: Observable) -> tuple[Observable, ...]:
    """A value and what it implies: a URL is also its host, as the index stores it."""
    if item.kind == "url" and (pair := url_and_host(item.value)) is not None:
        return pair if pair[1] is not None else (pair[0],)
    return (item,)


def private_lookup(
    db: Database,
    viewer: Viewer,
    prefixes: Sequence[str],
    *,
    half_lives: dict[str, float] | None = None,
    min_score: float | None = None,
    exclude_warninglisted: bool = False,
) -> dict[str, Any]:
    """For each hex prefix of sha256(lookup key): the full digests of visible values under it,
    each with its matches as a lookup gives them (scored with `half_lives`, kept as `lookup`
    keeps them); and the reports they name.

    The client matches the digests against its own values locally: the server learns only the
    prefixes, each shared by about 1 in a million of all possible values.
    """
    for prefix in prefixes:
        if len(prefix) != PRIVATE_PREFIX_LENGTH or any(c not in "0123456789abcdef" for c in prefix):
            raise Invalid(
                f"a private lookup prefix is {PRIVATE_PREFIX_LENGTH} lower-case hex "
                f"digits, not {prefix!r}"
            )
    lows = {prefix_range(p)[0]: p for p in prefixes}
    first, last = prefix_range("0" * PRIVATE_PREFIX_LENGTH)
    span = last - first  # every prefix covers as many keys
    hits: dict[int, Hit] = {}
    benign: set[tuple[str, int]] = set()
    # prefix -> value key -> the objects holding it
    found: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    with gc_paused(), db.read() as conn:
        probe_by_probe(conn)
        wanted = value_list(conn, sorted(lows))
        hashed = _keys.c.key_hash
        in_range = and_(hashed >= wanted.c.value, hashed <= wanted.c.value + span)
        query = select(
            *HIT_COLUMNS,
            wanted.c.value.label("range_start"),
            objects.c.body.label("stored_body"),
        ).select_from(wanted.join(_keys, in_range).join(objects, objects.c.pk == _keys.c.object_pk))
        for r in conn.execute(visible_latest(query, viewer)):
            # The index keeps keys only: the value behind one is read from its object.
            for o in observables_of(orjson.loads(r.stored_body)):
                key = lookup_key(o)
                if (
                    key_hash(key) == r.key_hash
                    and (pk := take_hit(hits, r, o.kind, benign_too=True)) is not None
                ):
                    found[lows[r.range_start]][key].add(pk)
                    if r.benign:
                        benign.add((key, pk))
        reports, stix = holders_of(conn, viewer, [h.object_id for h in hits.values()])
        scores = (
            _scores(conn, viewer, hits.values(), half_lives, stix) if half_lives is not None else {}
        )
        answers: dict[str, list[dict]] = {p: [] for p in prefixes}
        named: set[str] = set()
        everything = _Found({}, {}, hits, reports, scores, benign, set())
        for prefix, by_value in found.items():
            for value_key, pks in by_value.items():
                matched = {pk: [value_key] for pk in pks}
                if min_score is not None or exclude_warninglisted:
                    matched = _kept(matched, everything, min_score, exclude_warninglisted)
                summary = _summary(matched, hits, reports, set(), scores, benign)
                named.update(r for m in summary["matches"] for r in m["reports"])
                answers[prefix].append({"digest": key_digest(value_key), **summary})
        return {"results": answers, "reports": _titles(conn, viewer, named)}


def titles(db: Database, viewer: Viewer, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Id -> {"id", "type", "name", "tlp"} of those of `ids` whose latest version the viewer may
    see (the name: a note's abstract or an observable's value where there is none); the others
    are simply absent."""
    with db.read() as conn:
        return _titles_with_tlp(conn, viewer, ids)


def _titles_with_tlp(conn: Connection, viewer: Viewer, ids: Collection[str]) -> dict[str, Any]:
    return {
        i: {"id": i, "type": type_, "name": name, "tlp": _TLP_LABELS[tlp]}
        for i, type_, name, tlp in _titled(conn, viewer, ids)
    }


def holding_reports(
    db: Database, viewer: Viewer, object_id: str, others: Collection[str] = ()
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The visible reports (and other containers) that refer to `object_id`, by name, each as
    `titles` gives them; and the titles of `others` (objects a page names beside it, e.g. those
    sharing a value with it). Nothing about an id the viewer may not see: holders and titles
    are read through the policy."""
    with db.read() as conn:
        holders, _ = holders_of(conn, viewer, [object_id])
        held_by = holders.get(object_id, set())
        titled = _titles_with_tlp(conn, viewer, held_by | set(others))
    reports = sorted(
        (titled[i] for i in held_by if i in titled), key=lambda r: (r["name"] or "", r["id"])
    )
    return reports, {i: titled[i] for i in others if i in titled}
