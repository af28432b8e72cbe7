"""Server-side SVG charts of the dashboard's figures, each with its data table beside it.

Written here rather than taken from a charting library: the dashboard needs two shapes (bars by
category, columns over time), the page's Content-Security-Policy forbids inline scripts and a
browser-side library would be one more vendored bundle to keep current; SVG drawn on the server
works without JavaScript, on a slow link and in a screen reader. Each chart is an `<svg
role="img">` with a `<title>` and `<desc>`, and the same numbers as a `<table>` (for screen
readers, keyboard users and copying into a report). Colours are attributes, not `style`, so a
CSP without 'unsafe-inline' styles still shows them. TLP bars use the colours of FIRST's TLP 2.0
standard (text colours on a black background; TLP:CLEAR's white bar gets a black outline).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# FIRST TLP 2.0, "colour-coding in RGB": RED FF2B2B, AMBER FFC000, GREEN 33FF00, CLEAR FFFFFF,
# each on a black (000000) background.
TLP_COLOURS = {
    "clear": "#FFFFFF",
    "green": "#33FF00",
    "amber": "#FFC000",
    "amber+strict": "#FFC000",
    "red": "#FF2B2B",
}
TLP_BACKGROUND = "#000000"
# Series colours for everything that is not a TLP: distinguishable with the common colour-vision
# deficiencies (Okabe and Ito's palette), and never a TLP colour, so no bar reads as a marking.
SERIES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart as HTML: the figure with its SVG and its table."""

    html: str

    def __html__(self) -> str:  # Jinja2 and MarkupSafe insert it as it is
        return self.html

    def __str__(self) -> str:
        return self.html


def _number(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(str(row[0]))}</th>'
        + "".join(
            f"<td>{_number(v) if isinstance(v, int | float) else escape(str(v))}</td>"
            for v in row[1:]
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="chart-data"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def chart_key(title: str) -> str:
    """The part of a chart's element ids that names it: from its title unless given, so that
    a page renders the same every time (no process-wide counter) and two charts of one page
    differ as long as their titles or keys do."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart"


def _figure(
    title: str,
    description: str,
    svg_body: str,
    width: int,
    height: int,
    table: str,
    key: str | None,
) -> Chart:
    n = chart_key(key or title)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="chart-{n}-title chart-{n}-desc">'
        f'<title id="chart-{n}-title">{escape(title)}</title>'
        f'<desc id="chart-{n}-desc">{escape(description)}</desc>{svg_body}</svg>'
    )
    return Chart(
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{svg}{table}</figure>'
    )


def bars(
    title: str,
    rows: Sequence[tuple[str, float]],
    *,
    value_label: str = "objects",
    colours: Sequence[str] | None = None,
    empty: str = "nothing in this window",
    key: str | None = None,
) -> Chart:
    """Horizontal bars, one per (label, value), longest first as given; `colours` per row (TLP
    colours for a TLP chart), else one series colour."""
    label_width, bar_width, row_height, gap = 170, 300, 22, 6
    top = max((v for _, v in rows), default=0)
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * (row_height + gap)
        length = 0 if top == 0 else max(1.0, bar_width * value / top) if value else 0
        fill = colours[i] if colours else SERIES[0]
        outline = ' stroke="#000000" stroke-width="1"' if fill.upper() == "#FFFFFF" else ""
        shown = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#1a1a1a">{escape(shown)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row_height}" '
            f'fill="{fill}"{outline}><title>{escape(label)}: {_number(value)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" font-size="12" '
            f'fill="#1a1a1a">{_number(value)}</text>'
        )
    if not rows:
        parts.append(f'<text x="0" y="15" font-size="12" fill="#555555">{escape(empty)}</text>')
    height = max(1, len(rows)) * (row_height + gap)
    description = "; ".join(f"{label}: {_number(v)}" for label, v in rows) or empty
    table = _table(title, ("", value_label), rows)
    width = label_width + bar_width + 60
    return _figure(title, description, "".join(parts), width, height, table, key)


def columns(
    title: str,
    periods: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    period_label: str = "period",
    key: str | None = None,
) -> Chart:
    """Columns over time: one group per period, one column per series (in SERIES colours), with
    a legend; the axis names every period that fits, the table every one."""
    names = list(series)
    chart_width, chart_height, left, bottom, legend = 640, 180, 40, 36, 22
    top = max((v for values in series.values() for v in values), default=0)
    slot = chart_width / max(1, len(periods))
    column = max(1.0, (slot * 0.8) / max(1, len(names)))
    parts = [
        f'<line x1="{left}" y1="{legend + chart_height}" x2="{left + chart_width}" '
        f'y2="{legend + chart_height}" stroke="#555555" stroke-width="1"/>',
        f'<text x="{left - 4}" y="{legend + 10}" text-anchor="end" font-size="11" '
        f'fill="#1a1a1a">{_number(top)}</text>',
        f'<text x="{left - 4}" y="{legend + chart_height}" text-anchor="end" font-size="11" '
        f'fill="#1a1a1a">0</text>',
    ]
    for s, name in enumerate(names):
        x = left + s * 130
        parts.append(
            f'<rect x="{x}" y="2" width="12" height="12" fill="{SERIES[s % len(SERIES)]}"/>'
            f'<text x="{x + 16}" y="12" font-size="12" fill="#1a1a1a">{escape(name)}</text>'
        )
    every = max(1, round(len(periods) / 8))  # at most ~8 axis labels
    for p, period in enumerate(periods):
        x0 = left + p * slot + slot * 0.1
        for s, name in enumerate(names):
            value = series[name][p]
            height = 0 if top == 0 else chart_height * value / top
            parts.append(
                f'<rect x="{x0 + s * column:.1f}" y="{legend + chart_height - height:.1f}" '
                f'width="{column:.1f}" height="{height:.1f}" fill="{SERIES[s % len(SERIES)]}">'
                f"<title>{escape(period)}, {escape(name)}: {_number(value)}</title></rect>"
            )
        if p % every == 0:
            parts.append(
                f'<text x="{left + p * slot + slot / 2:.1f}" y="{legend + chart_height + 16}" '
                f'text-anchor="middle" font-size="11" fill="#1a1a1a">{escape(period[5:])}</text>'
            )
    totals = ", ".join(f"{name} {_number(sum(series[name]))}" for name in names)
    description = (
        f"{len(periods)} periods from {periods[0]} to {periods[-1]}: {totals}"
        if periods
        else "no periods"
    )
    rows = [(period, *(series[name][p] for name in names)) for p, period in enumerate(periods)]
    table = _table(title, (period_label, *names), rows)
    height = legend + chart_height + bottom
    return _figure(title, description, "".join(parts), left + chart_width + 10, height, table, key)


def of_dashboard(figures: dict) -> dict[str, Chart]:
    """Every chart of the dashboard, from the figures `service.dashboard` gives (the page's only
    data: the charts show exactly what the JSON twin says)."""
    periods = [p["period"] for p in figures["shared_over_time"]]
    shared = figures["shared_over_time"]
    sighted = figures["sightings_over_time"]
    label = "week of" if figures["window"]["interval"] == "week" else "day"

    def ranked(key: str, rows: list[dict], value: str = "objects") -> list[tuple[str, float]]:
        return [(str(r[key]), r[value]) for r in rows]

    return {
        "shared_over_time": columns(
            "Intel shared over time",
            periods,
            {k: [p[k] for p in shared] for k in ("objects", "reports", "indicators")},
            period_label=label,
        ),
        "by_tlp": bars(
            "By TLP",
            ranked("tlp", figures["by_tlp"]),
            colours=[TLP_COLOURS[r["tlp"]] for r in figures["by_tlp"]],
        ),
        "by_type": bars("By type", ranked("type", figures["by_type"])),
        "by_member_kind": bars(
            "By contributing member kind", ranked("kind", figures["by_member_kind"])
        ),
        "by_sector": bars("By sector", ranked("sector", figures["by_sector"])),
        "by_country": bars("By country", ranked("country", figures["by_country"])),
        "top_values": bars(
            "Most correlated values",
            [(f"{v['kind']} {v['value']}", v["objects"]) for v in figures["top_values"]],
            value_label="objects holding it",
        ),
        "top_malware": bars(
            "Most reported malware families",
            ranked("name", figures["top_malware"], "reports"),
            value_label="reports",
        ),
        "top_techniques": bars(
            "Most reported ATT&CK techniques",
            [
                (f"{t['external_id'] or ''} {t['name']}".strip(), t["reports"])
                for t in figures["top_techniques"]
            ],
            value_label="reports",
        ),
        "sightings_over_time": columns(
            "Sightings over time",
            periods,
            {
                "seen": [p["seen"] for p in sighted],
                "false positives": [p["false_positives"] for p in sighted],
            },
            period_label=label,
        ),
    }
