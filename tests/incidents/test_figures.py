"""Figures per incident and in aggregate, the chart over time, and the cross-border view, each
counting only what the viewer may see."""

from __future__ import annotations

from typing import Any

from shieldwall.incidents.figures import percentile
from tests.factories import indicator
from tests.incidents.conftest import Cast, FakeClock


def _acknowledged_after(
    cast: Cast, clock: FakeClock, minutes: int, start_days: int, **fields: Any
) -> str:
    clock.at(days=start_days)
    incident = cast.file(**fields)
    clock.at(days=start_days, minutes=minutes)
    response = cast.cert.analyst.post(f"/api/v1/incidents/{incident['id']}/acknowledge")
    assert response.status_code == 200, response.text
    return incident["id"]


def test_medians_and_90th_percentiles_by_severity_count_only_visible_incidents(
    cast: Cast, clock: FakeClock
) -> None:
    for minutes, day in ((10, 0), (20, 1), (90, 8)):
        _acknowledged_after(cast, clock, minutes, day, severity="high", sectors=["Energy"])
    _acknowledged_after(cast, clock, 5, 9, severity="low", countries=["LV"])
    # An incident the CERT does not take part in (Latvia's requester, no national CERT: the
    # alliance coordinates): it must not move the CERT's figures.
    latvian = cast.world.user(cast.world.member("Grid LV", "industry", country="LV"))
    cast.file(by=latvian, severity="high")
    clock.at(days=10)
    figures = cast.cert.reader.get("/api/v1/incidents/figures").json()
    assert figures["incidents"] == 4
    high, low = figures["groups"]
    assert (high["key"], high["incidents"], low["key"]) == ("high", 3, "low")
    acknowledge = high["clocks"]["acknowledge"]
    assert acknowledge == {
        "measured": 3,
        "median_seconds": 1200,
        "p90_seconds": 4560,
        "met": 2,
        "breached": 1,
        "running": 0,
    }
    assert high["clocks"]["resolve"]["running"] == 3 and high["clocks"]["resolve"]["measured"] == 0
    by_country = cast.cert.reader.get("/api/v1/incidents/figures", params={"by": "country"}).json()
    assert [(g["key"], g["incidents"]) for g in by_country["groups"]] == [("EE", 3), ("LV", 1)]
    by_sector = cast.cert.reader.get("/api/v1/incidents/figures", params={"by": "sector"}).json()
    assert {g["key"]: g["incidents"] for g in by_sector["groups"]} == {"Energy": 4}
    since = cast.cert.reader.get(
        "/api/v1/incidents/figures", params={"since": "2026-03-03T00:00:00Z"}
    ).json()
    assert since["incidents"] == 3
    alliance = cast.alliance.reader.get("/api/v1/incidents/figures").json()
    assert alliance["incidents"] == 1  # the Latvian one only

    series = cast.cert.reader.get(
        "/api/v1/incidents/figures/series", params={"interval": "week"}
    ).json()
    assert [(p["start"][:10], p["incidents"]) for p in series["points"]] == [
        ("2026-03-02", 2),
        ("2026-03-09", 2),
    ]
    assert series["points"][0]["clocks"]["acknowledge"]["median_seconds"] == 900
    assert series["points"][1]["by_severity"] == {"low": 1, "medium": 0, "high": 1, "critical": 0}
    daily = cast.cert.reader.get(
        "/api/v1/incidents/figures/series", params={"interval": "day"}
    ).json()["points"]
    assert len(daily) == 10 and sum(p["incidents"] for p in daily) == 4  # empty days as zeros


def test_percentiles_interpolate() -> None:
    assert percentile([], 0.5) is None
    assert percentile([600, 1200, 3600], 0.5) == 1200
    assert percentile([600, 1200, 3600], 0.9) == 3120
    assert percentile([10, 20], 0.5) == 15


def test_cross_border_groups_need_sight_of_every_incident_and_of_the_intel(
    cast: Cast, clock: FakeClock
) -> None:
    # Two requesters link different objects holding one value; a third incident shares nothing.
    ours = indicator("203.0.113.5", tlp="green", distribution="community")
    same_value = indicator("203.0.113.5", tlp="green", distribution="community")
    secret = indicator("203.0.113.9", tlp="red", distribution="org")
    assert cast.requester.analyst.share(ours).status_code == 201
    assert cast.lab.analyst.share(same_value, secret).status_code == 201
    first = cast.file(links=[ours["id"]], countries=["EE"])
    lab_incident = cast.file(
        by=cast.lab.analyst, links=[same_value["id"], secret["id"]], countries=["NL", "BE"]
    )
    cast.file(countries=["EE"])
    # The alliance coordinates the lab's incident (no Dutch CERT) and sees only that one.
    assert lab_incident["coordinator"]["name"] == "Alliance IRC"
    alone = cast.alliance.analyst.get("/api/v1/incidents/cross-border").json()
    assert alone["correlated"] == []
    assert [i["id"] for i in alone["multi_country"]] == [lab_incident["id"]]
    # Once the CERT hands the first incident's lead to the alliance, the alliance sees both.
    handed = cast.cert.analyst.post(
        f"/api/v1/incidents/{first['id']}/handover",
        json={"member_id": cast.alliance.member_id, "reason": "the same actor in NL"},
    )
    assert handed.status_code == 200, handed.text
    both = cast.alliance.analyst.get("/api/v1/incidents/cross-border").json()
    (group,) = both["correlated"]
    assert {i["id"] for i in group["incidents"]} == {first["id"], lab_incident["id"]}
    assert group["cross_border"] is True and group["countries"] == ["BE", "EE", "NL"]
    assert group["through"] == [
        {
            "incidents": sorted([first["id"], lab_incident["id"]]),
            "objects": sorted([ours["id"], same_value["id"]]),
        }
    ]
    assert secret["id"] not in str(both)
    # The requester sees only its own: no group, however the others correlate.
    assert cast.requester.analyst.get("/api/v1/incidents/cross-border").json()["correlated"] == []


def test_figures_say_the_strictest_tlp_of_what_they_count_and_no_more(
    cast: Cast, clock: FakeClock
) -> None:
    # Negative first: a member taking part in nothing is told no TLP, not even the lowest.
    cast.file(tlp="red", severity="critical")
    for path in ("/api/v1/incidents/figures", "/api/v1/incidents/figures/series"):
        nothing = cast.outsider.analyst.get(path).json()
        assert nothing["tlp"] is None, (path, nothing)
    clock.advance(hours=1)
    cast.file(tlp="green")
    for path in ("/api/v1/incidents/figures", "/api/v1/incidents/figures/series"):
        assert cast.requester.analyst.get(path).json()["tlp"] == "red", path
    # The alliance takes part in neither (the CERT coordinates both): nothing from them.
    latvian = cast.world.user(cast.world.member("Grid LV", "industry", country="LV"))
    cast.file(by=latvian, tlp="amber+strict")
    alliance = cast.alliance.reader.get("/api/v1/incidents/figures").json()
    assert (alliance["incidents"], alliance["tlp"]) == (1, "amber+strict")
    later = cast.requester.analyst.get(
        "/api/v1/incidents/figures", params={"since": "2026-03-02T09:30:00Z"}
    ).json()
    assert (later["incidents"], later["tlp"]) == (1, "green")  # the red one is before `since`
