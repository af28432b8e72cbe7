"""The dashboard's incident part: what needs the user's member now (open incidents by status
and severity; clocks running late or breached: the marks; taskings awaiting its answer; its
open tasks; the latest escalations), the response figures by
severity, sector and country over the dashboard's window, and over time (incidents filed by
severity, each clock's median and its breaches) as charts with their tables.
The same service calls as GET /api/v1/incidents/dashboard, /figures and /figures/series, so it
counts only incidents the member takes part in; a member in none sees the same few words as a
member of an instance without incidents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shieldwall.dashboard import charts
from shieldwall.db import Database
from shieldwall.incidents import figures
from shieldwall.incidents.clocks import describe_seconds
from shieldwall.incidents.config import CLOCKS, SEVERITIES, IncidentConfig
from shieldwall.policy import Viewer


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else describe_seconds(seconds)


def _rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per group: its count, how many are open, and per clock the median and 90th
    percentile as people read them, and the breaches."""
    return [
        {
            "key": g["key"],
            "incidents": g["incidents"],
            "open": g["open"],
            "clocks": {
                c: {
                    "median": _duration(g["clocks"][c]["median_seconds"]),
                    "p90": _duration(g["clocks"][c]["p90_seconds"]),
                    "breached": g["clocks"][c]["breached"],
                }
                for c in CLOCKS
            },
        }
        for g in found["groups"]
    ]


def _hours(seconds: float | None) -> float:
    """A median in hours for a chart's column; a period where the clock never stopped is 0 in
    the chart, and its table row says so beside it (`breached`, the open incidents)."""
    return 0.0 if seconds is None else round(seconds / 3600, 1)


def _charts(points: list[dict[str, Any]], period_label: str) -> list[charts.Chart]:
    """GET /api/v1/incidents/figures/series drawn: incidents filed by severity, and per clock
    its median and its breaches, per period of filing; none when nothing was filed."""
    if not points:
        return []
    periods = [p["start"][:10] for p in points]
    return [
        charts.columns(
            "Incidents filed over time",
            periods,
            {s: [p["by_severity"][s] for p in points] for s in SEVERITIES},
            period_label=period_label,
        ),
        charts.columns(
            "Median hours until each clock stopped, by period of filing",
            periods,
            {c: [_hours(p["clocks"][c]["median_seconds"]) for p in points] for c in CLOCKS},
            period_label=period_label,
        ),
        charts.columns(
            "Clocks breached, by period of filing",
            periods,
            {c: [p["clocks"][c]["breached"] for p in points] for c in CLOCKS},
            period_label=period_label,
        ),
    ]


def incident_part(
    db: Database, viewer: Viewer, config: IncidentConfig, now: Any, days: int
) -> dict[str, Any]:
    """The figures and chart of the dashboard's incident section, over the last `days`."""
    since = now - timedelta(days=days)
    needs = figures.dashboard(db, viewer, config, now)
    grouped = {
        by: figures.figures(db, viewer, config, by=by, since=since, until=None, now=now)
        for by in ("severity", "sector", "country")
    }
    interval = "day" if days <= 31 else "week"
    over_time = figures.series(
        db, viewer, config, interval=interval, since=since, until=None, now=now
    )
    tables = {by: _rows(found) for by, found in grouped.items()}
    shown = {m["incident"]["id"] for m in needs["marks"]}
    shown |= {t["incident"]["id"] for t in needs["your_taskings"]}
    shown |= {t["incident_id"] for t in needs["your_tasks"]}
    shown |= {e["incident_id"] for e in needs["escalations"]}
    by_id = {line["id"]: line for line in needs["incidents"]}
    for task in needs["your_tasks"]:
        task["incident_title"] = by_id[task["incident_id"]]["title"]
    for escalation in needs["escalations"]:  # open incidents only, so each is in the list
        escalation["incident"] = by_id[escalation["incident_id"]]
    return {
        "needs": needs,
        "figures": tables,
        "clocks": CLOCKS,
        "charts": _charts(over_time["points"], "week of" if interval == "week" else "day"),
        # The incidents named, and the strictest of those the figures and charts count.
        "tlps": [line["tlp"] for line in needs["incidents"] if line["id"] in shown]
        + [found["tlp"] for found in (*grouped.values(), over_time)],
    }
