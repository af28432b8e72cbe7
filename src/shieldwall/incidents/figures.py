"""What the dashboard and the figures show: each computed over the incidents the viewer may see
and nothing else (the policy's SQL filter first, always), so a count, a median or a chart
never includes an incident the viewer does not take part in.

Figures measure each clock over the incidents where it stopped because what it measures
happened (met or breached); clocks still running are counted apart, cancelled ones not at all.
Percentiles interpolate linearly between the two nearest measurements (numpy's default), so a
median of two is their mean.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Select, select

from shieldwall.correlate.reports import latest_visible
from shieldwall.correlate.tables import observable_keys
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.incidents import clocks
from shieldwall.incidents.config import CLOCKS, OPEN_STATUSES, SEVERITIES, IncidentConfig
from shieldwall.incidents.tables import (
    incident_links,
    incident_tasks,
    incident_timeline,
    incidents,
    taskings,
)
from shieldwall.incidents.times import parse_stamp, stamp
from shieldwall.incidents.views import member_names, summaries, task_as_dict
from shieldwall.markings import TLP
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, incident_visible_filter

GROUPINGS = ("severity", "sector", "country", "none")
INTERVALS = ("day", "week", "month")


def _visible(viewer: Viewer) -> Select[Any]:
    return select(incidents).where(incident_visible_filter(viewer, incidents, taskings))


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` percentile (0.5: median) of `values`, interpolated; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _clock_figures(readings: Iterable[clocks.ClockReading]) -> dict[str, Any]:
    by_clock: dict[str, list[clocks.ClockReading]] = defaultdict(list)
    for r in readings:
        by_clock[r.clock].append(r)
    out = {}
    for clock in CLOCKS:
        rs = by_clock.get(clock, [])
        measured = [
            r.elapsed_seconds for r in rs if r.stopped_at and r.state in ("met", "breached")
        ]
        median, p90 = percentile(measured, 0.5), percentile(measured, 0.9)
        out[clock] = {
            "measured": len(measured),
            "median_seconds": None if median is None else round(median),
            "p90_seconds": None if p90 is None else round(p90),
            "met": sum(r.state == "met" for r in rs),
            "breached": sum(r.state == "breached" for r in rs),
            "running": sum(r.stopped_at is None for r in rs),
        }
    return out


def _filed_between(
    query: Select[Any], since: datetime | None, until: datetime | None
) -> Select[Any]:
    if since is not None:
        query = query.where(incidents.c.filed_at >= stamp(since))
    if until is not None:
        query = query.where(incidents.c.filed_at < stamp(until))
    return query


def strictest_tlp(rows: Sequence[Any]) -> str | None:
    """The strictest TLP among the incidents a figure counts: what a page showing the figure
    says it shows (None when it counts none)."""
    return TLP(max(r.tlp for r in rows)).label if rows else None


def _keys(row: Any, by: str) -> list[str]:
    if by == "severity":
        return [row.severity]
    if by == "none":
        return ["all"]
    values = orjson.loads(row.sectors if by == "sector" else row.countries)
    return values or ["(none given)"]


def figures(
    db: Database,
    viewer: Viewer,
    config: IncidentConfig,
    *,
    by: str,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Per group (severity, most severe first; sector; country; or all together), how many
    incidents and, per clock, the median and 90th percentile. An incident in several sectors or
    countries counts in each."""
    if by not in GROUPINGS:
        raise Invalid(f"by: {by!r} is not one of {', '.join(GROUPINGS)}")
    with db.read() as conn:
        rows = conn.execute(_filed_between(_visible(viewer), since, until)).all()
        readings = clocks.readings(conn, rows, now, config.warn_at)
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        for key in _keys(row, by):
            groups[key].append(row)
    order = (lambda k: -SEVERITIES.index(k)) if by == "severity" else (lambda k: k)
    return {
        "by": by,
        "since": stamp(since) if since else None,
        "until": stamp(until) if until else None,
        "incidents": len(rows),
        "tlp": strictest_tlp(rows),
        "groups": [
            {
                "key": key,
                "incidents": len(members),
                "open": sum(r.status in OPEN_STATUSES for r in members),
                "clocks": _clock_figures(c for r in members for c in readings[r.id]),
            }
            for key, members in sorted(groups.items(), key=lambda kv: order(kv[0]))
        ],
    }


def _bucket(moment: datetime, interval: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        return day - timedelta(days=day.weekday())  # ISO 8601 weeks start on Monday
    if interval == "month":
        return day.replace(day=1)
    return day


def series(
    db: Database,
    viewer: Viewer,
    config: IncidentConfig,
    *,
    interval: str,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """The chart over time: per day, week or month of filing, how many incidents (by severity)
    and each clock's median, breaches included. Empty periods between the first and the last
    are given as zeros, so a chart's axis is even."""
    if interval not in INTERVALS:
        raise Invalid(f"interval: {interval!r} is not one of {', '.join(INTERVALS)}")
    with db.read() as conn:
        rows = conn.execute(_filed_between(_visible(viewer), since, until)).all()
        readings = clocks.readings(conn, rows, now, config.warn_at)
    buckets: dict[datetime, list[Any]] = defaultdict(list)
    for row in rows:
        buckets[_bucket(parse_stamp(row.filed_at), interval)].append(row)
    points = []
    if buckets:
        start, last = min(buckets), max(buckets)
        while start <= last:
            members = buckets.get(start, [])
            figures_ = _clock_figures(c for r in members for c in readings[r.id])
            points.append(
                {
                    "start": stamp(start),
                    "incidents": len(members),
                    "by_severity": {s: sum(r.severity == s for r in members) for s in SEVERITIES},
                    "clocks": {
                        k: {"median_seconds": v["median_seconds"], "breached": v["breached"]}
                        for k, v in figures_.items()
                    },
                }
            )
            start = _next_bucket(start, interval)
    return {"interval": interval, "tlp": strictest_tlp(rows), "points": points}


def _next_bucket(start: datetime, interval: str) -> datetime:
    if interval == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=7 if interval == "week" else 1)


def dashboard(
    db: Database, viewer: Viewer, config: IncidentConfig, now: datetime
) -> dict[str, Any]:
    """What needs the viewer's member now: counts of its open incidents, the clocks running late
    or breached (the dashboard's marks), taskings awaiting its answer, its open tasks, and the
    latest escalations."""
    at = stamp(now)
    with db.read() as conn:
        rows = conn.execute(
            _visible(viewer).where(incidents.c.status != "closed").order_by(incidents.c.seq.desc())
        ).all()
        lines = summaries(conn, viewer, rows, now, config)
        ids = [r.id for r in rows]
        readings = clocks.readings(conn, rows, now, config.warn_at)
        pending = (
            conn.execute(
                select(taskings)
                .where(
                    taskings.c.incident_id.in_(ids),
                    taskings.c.member_id == viewer.member_id,
                    taskings.c.state == "tasked",
                )
                .order_by(taskings.c.answer_by)
            ).all()
            if ids
            else []
        )
        tasks = (
            conn.execute(
                select(incident_tasks)
                .where(
                    incident_tasks.c.incident_id.in_(ids),
                    incident_tasks.c.owner_member_id == viewer.member_id,
                    incident_tasks.c.status == "open",
                )
                .order_by(incident_tasks.c.due_at)
            ).all()
            if ids
            else []
        )
        escalations = (
            conn.execute(
                select(incident_timeline)
                .where(
                    incident_timeline.c.incident_id.in_(ids),
                    incident_timeline.c.kind == "clock-breach",
                )
                .order_by(incident_timeline.c.id.desc())
                .limit(20)
            ).all()
            if ids
            else []
        )
        names = member_names(conn, [viewer.member_id])
    by_id = {line["id"]: line for line in lines}
    marks = [
        {
            "incident": {k: by_id[r.id][k] for k in ("id", "title", "severity", "tlp", "status")},
            **c.as_dict(),
        }
        for r in rows
        for c in readings[r.id]
        if c.attention and c.stopped_at is None
    ]
    marks.sort(key=lambda m: (m["state"] != "breached", m["due_at"] or ""))
    return {
        "at": at,
        "open": len(rows),
        "by_status": {s: sum(r.status == s for r in rows) for s in OPEN_STATUSES},
        "by_severity": {s: sum(r.severity == s for r in rows) for s in SEVERITIES},
        "marks": marks,
        "your_taskings": [
            {
                "incident": {
                    k: by_id[t.incident_id][k] for k in ("id", "title", "severity", "tlp")
                },
                "tasking_id": t.id,
                "answer_by": t.answer_by,
            }
            for t in pending
        ],
        "your_tasks": [{"incident_id": t.incident_id, **task_as_dict(t, names, at)} for t in tasks],
        "escalations": [
            {"incident_id": e.incident_id, "at": e.at, "text": e.text} for e in escalations
        ],
        "incidents": lines,
    }


def _correlations(conn: Connection, viewer: Viewer, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Groups of visible incidents linked to a common indicator: the same object, or objects
    holding the same observable value. Only links to intel the viewer may see count."""
    links = (
        conn.execute(
            select(incident_links.c.incident_id, incident_links.c.object_id).where(
                incident_links.c.incident_id.in_([r.id for r in rows])
            )
        ).all()
        if rows
        else []
    )
    by_object: dict[str, set[str]] = defaultdict(set)
    for link in links:
        by_object[link.object_id].add(link.incident_id)
    pk_of: dict[int, str] = {}
    for batch in latest_visible(conn, viewer, sorted(by_object)):
        pk_of.update({o.pk: o.object_id for o in batch})
    visible = set(pk_of.values())
    through: dict[Any, set[str]] = {("object", o): {o} for o in visible}  # key -> object ids
    if pk_of:
        for key in conn.execute(
            select(observable_keys.c.object_pk, observable_keys.c.key_hash).where(
                observable_keys.c.object_pk.in_(list(pk_of)), observable_keys.c.benign.is_(None)
            )
        ):
            through.setdefault(("value", key.key_hash), set()).add(pk_of[key.object_pk])
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    shared: list[tuple[set[str], set[str]]] = []  # (incidents, objects) per shared key
    for objects_ in through.values():
        incident_ids = {i for o in objects_ for i in by_object[o]}
        if len(incident_ids) > 1:
            shared.append((incident_ids, objects_))
            first, *rest = sorted(incident_ids)
            for other in rest:
                parent[find(other)] = find(first)
    groups: dict[str, dict[str, Any]] = {}
    for incident_ids, objects_ in shared:
        group = groups.setdefault(
            find(next(iter(incident_ids))), {"incidents": set(), "through": []}
        )
        group["incidents"] |= incident_ids
        entry = {"incidents": sorted(incident_ids), "objects": sorted(objects_)}
        if entry not in group["through"]:
            group["through"].append(entry)
    return list(groups.values())


def cross_border(
    db: Database, viewer: Viewer, config: IncidentConfig, now: datetime
) -> dict[str, Any]:
    """Incidents hitting more than one country, and groups of incidents that correlate through
    shared indicators, each shown only to a viewer who may see every incident in it (the
    groups are built from visible incidents and visible intel only). A group is cross-border
    when its incidents together hit, or were filed from, more than one country."""
    with db.read() as conn:
        rows = conn.execute(_visible(viewer).order_by(incidents.c.seq.desc())).all()
        lines = {line["id"]: line for line in summaries(conn, viewer, rows, now, config)}
        groups = _correlations(conn, viewer, rows)
        home = dict(conn.execute(select(members.c.id, members.c.country)).all())
    filed_from = {r.id: home.get(r.requester_member_id) for r in rows}
    out_groups = []
    for group in groups:
        ids = sorted(group["incidents"], key=lambda i: lines[i]["filed_at"])
        hit = {c for i in ids for c in lines[i]["countries"]}
        countries = sorted(hit | {filed_from[i] for i in ids if filed_from[i]})
        out_groups.append(
            {
                "incidents": [lines[i] for i in ids],
                "countries": countries,
                "cross_border": len(countries) > 1,
                "through": group["through"],
            }
        )
    out_groups.sort(key=lambda g: (not g["cross_border"], -len(g["incidents"])))
    return {
        "multi_country": [line for line in lines.values() if len(line["countries"]) > 1],
        "correlated": out_groups,
    }
