"""The dashboard's SVG charts: well-formed, accessible, TLP-coloured, and holding exactly the
numbers of their tables."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from shieldwall.dashboard import charts

SVG = "{http://www.w3.org/2000/svg}"


def figures() -> dict:
    days = [f"2026-11-{d:02d}" for d in range(1, 8)]
    return {
        "window": {"interval": "day"},
        "shared_over_time": [
            {"period": d, "objects": i * 3, "reports": i, "indicators": i * 2}
            for i, d in enumerate(days)
        ],
        "sightings_over_time": [
            {"period": d, "seen": 10 - i, "false_positives": i % 2} for i, d in enumerate(days)
        ],
        "by_tlp": [
            {"tlp": t, "objects": n}
            for t, n in zip(
                ("clear", "green", "amber", "amber+strict", "red"), (4, 9, 0, 2, 1), strict=True
            )
        ],
        "by_type": [{"type": "indicator", "objects": 12}, {"type": "report", "objects": 4}],
        "by_member_kind": [{"kind": "industry", "objects": 9}, {"kind": "anonymous", "objects": 2}],
        "by_sector": [],
        "by_country": [{"country": "DE", "objects": 9}],
        "top_values": [{"kind": "ipv4", "value": "198.51.100.7", "objects": 3, "noisy": False}],
        "top_malware": [{"name": '<script>alert("x")</script> & co', "reports": 2, "ids": []}],
        "top_techniques": [
            {"name": "Phishing", "external_id": "T1566", "reports": 5, "ids": []},
            {"name": "Own technique", "external_id": None, "reports": 1, "ids": []},
        ],
    }


def parts(chart: charts.Chart) -> tuple[ET.Element, ET.Element]:
    """The SVG and the table, parsed as XML: a name that was not escaped breaks the parse."""
    figure = ET.fromstring(chart.html)
    return figure.find(f"{SVG}svg"), figure.find("table")


def test_every_chart_is_accessible_svg_with_its_table() -> None:
    rendered = charts.of_dashboard(figures())
    assert len(rendered) == 10
    for name, chart in rendered.items():
        svg, table = parts(chart)
        assert svg.get("role") == "img", name
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.find(f"{SVG}title").get("id") == title_id
        assert svg.find(f"{SVG}desc").get("id") == desc_id
        assert table.find("caption").text == svg.find(f"{SVG}title").text
        assert "<script" not in chart.html and "style=" not in chart.html

    svg, table = parts(rendered["by_tlp"])
    bars = svg.findall(f"{SVG}rect")
    assert [b.get("fill") for b in bars] == ["#FFFFFF", "#33FF00", "#FFC000", "#FFC000", "#FF2B2B"]
    assert bars[0].get("stroke") == "#000000"  # TLP:CLEAR's white bar stays visible
    assert float(bars[1].get("width")) > float(bars[0].get("width")) > float(bars[4].get("width"))
    assert float(bars[2].get("width")) == 0
    rows = [[c.text for c in tr] for tr in table.find("tbody")]
    assert rows == [
        ["clear", "4"],
        ["green", "9"],
        ["amber", "0"],
        ["amber+strict", "2"],
        ["red", "1"],
    ]

    svg, table = parts(rendered["shared_over_time"])
    columns = [r for r in svg.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(columns) == 7 * 3
    assert len(table.find("tbody")) == 7
    assert [c.text for c in table.find("thead")[0]] == [
        "day", "objects", "reports", "indicators",
    ]  # fmt: skip
    tallest = max(columns, key=lambda r: float(r.get("height")))
    assert tallest.find(f"{SVG}title").text == "2026-11-07, objects: 18"

    svg, table = parts(rendered["top_malware"])
    assert table.find("tbody")[0][0].text == '<script>alert("x")</script> & co'
    svg, _ = parts(rendered["by_sector"])
    assert svg.find(f"{SVG}desc").text == "nothing in this window"
    _, table = parts(rendered["top_techniques"])
    assert [tr[0].text for tr in table.find("tbody")] == ["T1566 Phishing", "Own technique"]
