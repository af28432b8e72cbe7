"""The situational-awareness dashboard's figures, for one viewer: what was shared over a window of
days, by TLP, type, contributing member kind, sector and country; the most correlated values;
the most reported malware families and ATT&CK techniques; the newest reports; sightings over time.

Every figure is an aggregate computed in SQL over the rows the policy's filter
(`policy.visible_filter`) lets this viewer see, and nothing else: an object the viewer may not
see adds nothing to any count, bar, value or name, not even a 1. The same rows are what
GET /api/v1/objects lists to the viewer (latest versions), so every figure can be recomputed
from that list (tests/dashboard/test_figures.py does).

What counts, and when:
- the intel is the latest visible version of each object its author dated: SDOs and SROs,
  whose STIX `created` (§3.2) says when they were made; observables (SCOs) have no time or
  author of their own and are the values those objects carry, counted in the correlated values
  through the objects holding them. The platform's own identities (one per member and the
  broker's) are left out. The window runs from midnight UTC `days - 1` days ago until now, so
  intel dated in the future is not counted until its time comes;
- an anonymous contribution counts as the community broker's: never under its contributor's
  kind, sector or country, whoever asks (the contributor and instance admins included, so that a
  figure means the same to everyone who sees it);
- a member of several sectors counts its objects under each of them;
- correlated values are the normalised observable values (correlate/) held by two or more of
  the counted objects, values on a false-positive warning list left out;
- a malware family or technique is "reported" by each counted report whose `object_refs` name
  it, and listed only when the viewer may see it (a report naming one the viewer may not see
  counts nothing for it); malware is merged by name, techniques by ATT&CK id, whatever the ids
  (each member makes its own), named as the viewer's copy (else the newest visible) names it;
- sightings are those reported through POST /api/v1/sightings (their `seen_at`) and the STIX
  `sighting` objects counted above (their `last_seen`, else `first_seen`, else `created`),
  summing their counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import JSON, ColumnElement, Connection, String, and_, case, cast, func, null, select

from shieldwall.correlate.index import key_hash
from shieldwall.correlate.observables import Observable, lookup_key
from shieldwall.correlate.tables import object_refs, observable_keys
from shieldwall.db import Database, value_list
from shieldwall.errors import Invalid
from shieldwall.intel.identities import PLATFORM_MEMBER_ID
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP
from shieldwall.members.service import broker_identity
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, visible_filter
from shieldwall.search.tables import observable_values
from shieldwall.sightings.tables import sightings

INTERVALS = ("day", "week")
MAX_DAYS = 3660  # ten years of days
TOP = 10  # rows in each "most ..." list
ANONYMOUS = "anonymous"  # the bucket of anonymous contributions (the community broker's)
UNSPECIFIED = "unspecified"  # a member without a country or sector

_c = objects.c
# When an object counts: its author's `created`.
_WHEN = _c.created
_reports = objects.alias("dashboard_reports")
_refs = objects.alias("dashboard_refs")


@dataclass(frozen=True, slots=True)
class Window:
    """The days a dashboard covers: [since, until), `since` a midnight UTC, `until` now."""

    days: int
    interval: str
    since: str  # normalised timestamps, as every table stores them
    until: str
    first_day: date
    last_day: date


def window(days: int, interval: str | None, now: datetime | None = None) -> Window:
    """The window of `days` days ending now; the interval defaults to days up to 62 days, weeks
    beyond (a chart of a few hundred bars says less than one of fifty)."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_DAYS}")
    if interval is None:
        interval = "day" if days <= 62 else "week"
    if interval not in INTERVALS:
        raise Invalid(f"interval must be one of {', '.join(INTERVALS)}")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    last_day = now.date()
    first_day = last_day - timedelta(days=days - 1)
    return Window(
        days=days,
        interval=interval,
        since=f"{first_day.isoformat()}T00:00:00.000000Z",
        until=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        first_day=first_day,
        last_day=last_day,
    )


def counted(viewer: Viewer, w: Window, table: Any = objects) -> ColumnElement[bool]:
    """The object rows the dashboard counts for `viewer`: latest, visible, created in the
    window (observables have no `created`), not the platform's own identities. `table` is
    objects or an alias of it."""
    c = table.c
    member_identities = select(members.c.identity_id).scalar_subquery()
    return and_(
        visible_filter(viewer, table),
        c.is_latest.is_(True),
        c.created >= w.since,
        c.created < w.until,
        c.member_id != PLATFORM_MEMBER_ID,
        ~and_(c.type == "identity", c.object_id.in_(member_identities)),
    )


def dashboard(
    db: Database,
    viewer: Viewer,
    *,
    days: int = 30,
    interval: str | None = None,
    broker_name: str,
    noisy_threshold: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every figure of the dashboard for `viewer`, read in one transaction (one snapshot)."""
    w = window(days, interval, now)
    with db.read() as conn:
        directory = _directory(conn)
        by_day_type, by_member = _shared(conn, viewer, w)
        sighted = _sightings(conn, viewer, w)
        figures: dict[str, Any] = {
            "window": {
                "days": w.days,
                "interval": w.interval,
                "since": w.since,
                "until": w.until,
            },
            **_breakdowns(by_member, directory),
            "by_type": _by_type(by_day_type),
            "shared_over_time": _shared_series(by_day_type, w),
            "top_values": _top_values(conn, viewer, w, noisy_threshold),
            **_most_reported(conn, viewer, w),
            "newest_reports": _newest_reports(conn, viewer, w, directory, broker_name),
            "sightings_over_time": _sightings_series(sighted, w),
        }
    tlps = [TLP(t) for t, _ in by_member] + [TLP(t) for *_, t, _ in sighted]
    figures["tlp"] = max(tlps).label if tlps else None
    figures["totals"] = {
        "objects": sum(n for _, n in by_day_type.items()),
        "reports": sum(n for (_, t), n in by_day_type.items() if t == "report"),
        "indicators": sum(n for (_, t), n in by_day_type.items() if t == "indicator"),
        "sightings": sum(n for _, kind, _, n in sighted if kind == "seen"),
    }
    return figures


@dataclass(frozen=True, slots=True)
class _Member:
    kind: str
    country: str | None
    sectors: tuple[str, ...]
    name: str
    identity_id: str


def _directory(conn: Connection) -> dict[str, _Member]:
    """Every member by id: directory information every member reads (GET /members)."""
    rows = conn.execute(
        select(
            members.c.id,
            members.c.kind,
            members.c.country,
            members.c.sectors,
            members.c.name,
            members.c.identity_id,
        )
    )
    return {
        r.id: _Member(r.kind, r.country, tuple(orjson.loads(r.sectors)), r.name, r.identity_id)
        for r in rows
    }


_MemberCounts = dict[tuple[int, str | None], int]  # (tlp, member id or None if anonymous) -> n


def _shared(
    conn: Connection, viewer: Viewer, w: Window
) -> tuple[dict[tuple[str, str], int], _MemberCounts]:
    """Two aggregates of the counted objects, from one scan: per (day, type), and per (tlp,
    contributor), the contributor of an anonymous object being None whoever asks."""
    day = func.substr(_WHEN, 1, 10)
    by_day_type: dict[tuple[str, str], int] = defaultdict(int)
    by_member: _MemberCounts = defaultdict(int)
    for day_, type_, tlp, member_id, anonymous, n in conn.execute(
        select(day, _c.type, _c.tlp, _c.member_id, _c.anonymous, func.count())
        .where(counted(viewer, w))
        .group_by(day, _c.type, _c.tlp, _c.member_id, _c.anonymous)
    ):
        by_day_type[(day_, type_)] += n
        by_member[(tlp, None if anonymous else member_id)] += n
    return dict(by_day_type), dict(by_member)


def _ranked(counts: dict[str, int], key: str) -> list[dict[str, Any]]:
    """Buckets most first, then by name; the anonymous bucket last, as it is not a kind."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == ANONYMOUS, -kv[1], kv[0]))
    return [{key: name, "objects": n} for name, n in ordered if n]


def _breakdowns(by_member: _MemberCounts, directory: dict[str, _Member]) -> dict[str, Any]:
    by_tlp: dict[str, int] = {t.label: 0 for t in TLP}
    kinds: dict[str, int] = defaultdict(int)
    countries: dict[str, int] = defaultdict(int)
    sectors: dict[str, int] = defaultdict(int)
    for (tlp, member_id), n in by_member.items():
        by_tlp[TLP(tlp).label] += n
        member = directory.get(member_id) if member_id is not None else None
        if member is None:  # anonymous (or a member since removed: nothing to say about it)
            for bucket in (kinds, countries, sectors):
                bucket[ANONYMOUS] += n
            continue
        kinds[member.kind] += n
        countries[member.country or UNSPECIFIED] += n
        for sector in member.sectors or (UNSPECIFIED,):
            sectors[sector] += n
    return {
        "by_tlp": [{"tlp": label, "objects": n} for label, n in by_tlp.items()],
        "by_member_kind": _ranked(kinds, "kind"),
        "by_sector": _ranked(sectors, "sector"),
        "by_country": _ranked(countries, "country"),
    }


def _by_type(by_day_type: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    types: dict[str, int] = defaultdict(int)
    for (_day, type_), n in by_day_type.items():
        types[type_] += n
    return _ranked(types, "type")


def periods(w: Window) -> list[date]:
    """The first day of each period of the window: every day, or each ISO week's Monday."""
    if w.interval == "day":
        return [w.first_day + timedelta(days=i) for i in range(w.days)]
    monday = w.first_day - timedelta(days=w.first_day.weekday())
    return [monday + timedelta(weeks=i) for i in range((w.last_day - monday).days // 7 + 1)]


def _period_of(day: str, w: Window) -> str:
    d = date.fromisoformat(day)
    if w.interval == "week":
        d -= timedelta(days=d.weekday())
    return d.isoformat()


def _shared_series(by_day_type: dict[tuple[str, str], int], w: Window) -> list[dict[str, Any]]:
    """Per period (empty ones as zeros): objects shared, and of them reports and indicators."""
    series = {p.isoformat(): {"objects": 0, "reports": 0, "indicators": 0} for p in periods(w)}
    for (day, type_), n in by_day_type.items():
        point = series[_period_of(day, w)]
        point["objects"] += n
        if type_ in ("report", "indicator"):
            point[f"{type_}s"] += n
    return [{"period": p, **figures} for p, figures in series.items()]


def _top_values(
    conn: Connection, viewer: Viewer, w: Window, noisy_threshold: int
) -> list[dict[str, Any]]:
    """The values held by the most counted objects (two at least), each named through one of
    the visible objects holding it; `noisy` past the threshold correlations leave out."""
    k = observable_keys.c
    holders = func.count().label("holders")
    # Grouped by an expression, not the column: SQLite would otherwise walk the key_hash index
    # for the grouping's order and probe the objects in random order (3x slower than reading
    # the keys as stored, in the order the objects were added, and sorting after).
    key = (k.key_hash + 0).label("key")
    top = conn.execute(
        select(key, holders, func.min(_c.pk))
        .select_from(observable_keys.join(objects, _c.pk == k.object_pk))
        .where(counted(viewer, w), k.benign.is_(None))
        .group_by(key)
        .having(func.count() > 1)
        .order_by(holders.desc(), key)
        .limit(TOP)
    ).all()
    if not top:
        return []
    # The index keeps keys, not values: read the values of one holder of each and find the key.
    v = observable_values.c
    candidates = conn.execute(
        select(v.object_pk, v.kind, v.value).where(v.object_pk.in_([r[2] for r in top]))
    )
    named: dict[int, Observable] = {}
    for _pk, kind, value in candidates:
        observable = Observable(kind, value)
        named.setdefault(key_hash(lookup_key(observable)), observable)
    return [
        {"kind": o.kind, "value": o.value, "objects": n, "noisy": n > noisy_threshold}
        for key, n, _pk in top
        if (o := named.get(key)) is not None
    ]


def _most_reported(conn: Connection, viewer: Viewer, w: Window) -> dict[str, Any]:
    return {
        "top_malware": _reported(conn, viewer, w, "malware"),
        "top_techniques": _reported(conn, viewer, w, "attack-pattern"),
    }


def _reported(conn: Connection, viewer: Viewer, w: Window, type_: str) -> list[dict[str, Any]]:
    """The visible objects of `type_` the most counted reports name, merged by what analysts
    count by: a technique by its ATT&CK id (its first external reference, where MITRE's STIX
    puts it), else, as for malware, by its name, whatever its id (every member makes its own
    "Emotet"; a report naming two of them counts twice). A report naming an object the viewer
    may not see counts nothing for it.

    Two statements, each aggregated by the database: reports per referred id, then the name of
    each id's copy the viewer reads (its own, else the newest). Joined in one, every member's
    copy of a reference object (ATT&CK's techniques) would multiply the rows whose JSON the
    database reads: seconds at 100,000 objects on PostgreSQL, where this takes milliseconds."""
    r, report, named = object_refs.c, _reports.c, _refs.c
    reports = func.count(func.distinct(report.object_id))
    per_id = dict(
        conn.execute(
            select(r.ref_id, reports)
            .select_from(object_refs.join(_reports, report.pk == r.object_pk))
            .where(
                # A range on ref_id, not LIKE: both databases read it from the ref_id index;
                # '.' follows '-', so every id with the prefix sorts before it.
                r.ref_id >= f"{type_}--",
                r.ref_id < f"{type_}-.",
                counted(viewer, w, _reports),
                report.type == "report",
            )
            .group_by(r.ref_id)
        ).all()
    )
    if not per_id:
        return []
    attack_id: ColumnElement[Any] = null()
    if type_ == "attack-pattern":
        source = _property(conn, ("external_references", 0, "source_name"), _refs)
        first_id = _property(conn, ("external_references", 0, "external_id"), _refs)
        attack_id = case((source == "mitre-attack", first_id))
    ids = value_list(conn, sorted(per_id), String())
    copies = conn.execute(
        select(
            named.object_id,
            named.member_id,
            named.modified,
            _property(conn, ("name",), _refs),
            attack_id,
        )
        .join(ids, ids.c.value == named.object_id)
        # No filter on type: the ids say it, and SQLite, offered the type index, would walk
        # it and read the whole id list again for each row.
        .where(visible_filter(viewer, _refs), named.is_latest.is_(True))
    ).all()
    chosen: dict[str, Any] = {}
    for copy in sorted(copies, key=lambda c: (c.member_id == viewer.member_id, c.modified)):
        chosen[copy.object_id] = copy  # the viewer's own copy wins, else the newest
    merged: dict[str, dict[str, Any]] = {}
    for object_id, _member, _modified, name, external_id in chosen.values():
        name = str(name or object_id)
        entry = merged.setdefault(
            external_id or name.casefold(),
            {"name": name, **({"external_id": external_id} if type_ != "malware" else {}),
             "reports": 0},
        )  # fmt: skip
        entry["reports"] += per_id[object_id]
    return sorted(merged.values(), key=lambda e: (-e["reports"], e["name"].casefold()))[:TOP]


def _newest_reports(
    conn: Connection, viewer: Viewer, w: Window, directory: dict[str, _Member], broker_name: str
) -> list[dict[str, Any]]:
    """The counted reports created last, with the creator every reader of them sees."""
    rows = conn.execute(
        select(_c.object_id, _c.tlp, _WHEN.label("when"), _c.created_by, _c.body)
        .where(counted(viewer, w), _c.type == "report")
        .order_by(_WHEN.desc(), _c.pk.desc())
        .limit(TOP)
    ).all()
    names = {m.identity_id: m.name for m in directory.values()}
    names[broker_identity(broker_name)] = broker_name
    out = []
    for row in rows:
        body = orjson.loads(row.body)
        out.append({
            "id": row.object_id,
            "name": str(body.get("name") or row.object_id),
            "tlp": TLP(row.tlp).label,
            "created": row.when,
            "created_by": names.get(row.created_by or ""),
        })  # fmt: skip
    return out


_Sighted = list[tuple[str, str, int, int]]  # (day, kind, tlp, count)


def _sightings(conn: Connection, viewer: Viewer, w: Window) -> _Sighted:
    """Visible sightings in the window, summed per (day, kind, tlp): the API's and STIX's."""
    s = sightings.c
    api_day = func.substr(s.seen_at, 1, 10)
    api = conn.execute(
        select(api_day, s.kind, s.tlp, func.sum(s.count))
        .where(visible_filter(viewer, sightings), s.seen_at >= w.since, s.seen_at < w.until)
        .group_by(api_day, s.kind, s.tlp)
    ).all()
    seen = func.coalesce(
        _property(conn, ("last_seen",)), _property(conn, ("first_seen",)), _c.created
    )
    stix_day = func.substr(seen, 1, 10)
    stix = conn.execute(
        select(
            stix_day, _c.tlp, func.sum(func.coalesce(_property(conn, ("count",), integer=True), 1))
        )
        .where(counted(viewer, w), _c.type == "sighting")
        .group_by(stix_day, _c.tlp)
    ).all()
    first, last = w.first_day.isoformat(), w.last_day.isoformat()
    out: _Sighted = [(day, kind, tlp, int(n)) for day, kind, tlp, n in api]
    # A STIX sighting created in the window may say it was seen before it: counted on its own
    # day, but only when that day lies in the window.
    out += [(day, "seen", tlp, int(n)) for day, tlp, n in stix if first <= day <= last]
    return out


def _property(
    conn: Connection, path: tuple[str | int, ...], table: Any = objects, integer: bool = False
) -> ColumnElement[Any]:
    """A property of the stored body (a path of names and list positions), read by the
    database: as text, or as an integer."""
    body = table.c.body
    if conn.dialect.name == "sqlite":
        steps = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        return func.json_extract(body, f"${steps}")
    # No JSON holding a NUL escape is read by PostgreSQL (objects stored before they were
    # refused may hold one): read as U+FFFD, as correlate/service.py does.
    document = cast(func.replace(body, "\\u0000", "\\ufffd"), JSON)
    value = document[path] if len(path) > 1 else document[path[0]]
    return value.as_integer() if integer else value.as_string()


def _sightings_series(sighted: Iterable[tuple[str, str, int, int]], w: Window) -> list[dict]:
    """Per period (empty ones as zeros): values seen, and reported as false positives."""
    series = {p.isoformat(): {"seen": 0, "false_positives": 0} for p in periods(w)}
    for day, kind, _tlp, n in sighted:
        if kind in ("seen", "false-positive"):
            series[_period_of(day, w)]["seen" if kind == "seen" else "false_positives"] += n
    return [{"period": p, **figures} for p, figures in series.items()]
