"""GET /api/v1/dashboard: nothing a viewer may not see shows in any figure, and every figure is
what the viewer can list through GET /api/v1/objects."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from shieldwall.markings import TLP_BY_MARKING_ID
from shieldwall.members.service import broker_identity
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.factories import ApiUser, World, indicator, marked, report, stix_id

NOW = datetime.now(UTC)


def stamp(days_ago: float) -> str:
    moment = NOW - timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def dated(obj: dict[str, Any], days_ago: float) -> dict[str, Any]:
    return {**obj, "created": stamp(days_ago), "modified": stamp(days_ago)}


def sdo(type_: str, name: str, days_ago: float, **props: Any) -> dict[str, Any]:
    obj = {"type": type_, "spec_version": "2.1", "id": stix_id(type_), "name": name, **props}
    return dated(obj, days_ago)


def technique(external_id: str, name: str, days_ago: float) -> dict[str, Any]:
    ref = {"source_name": "mitre-attack", "external_id": external_id}
    return sdo("attack-pattern", name, days_ago, external_references=[ref])


def story(
    user: ApiUser, days_ago: float, values: list[str], extra: list[dict[str, Any]], **marking: Any
) -> dict[str, Any]:
    """A report of indicators for `values` and `extra` objects, all shared by `user`."""
    indicators = [dated(indicator(v), days_ago) for v in values]
    refs = [o["id"] for o in indicators + extra]
    rep = dated(report(refs, name=f"Report {stix_id('x')[-6:]}"), days_ago)
    rep = marked(rep, **marking)
    response = user.share(rep, *indicators, *extra)
    assert response.status_code == 201, response.text
    return rep


def figures(user: ApiUser, **params: Any) -> dict[str, Any]:
    response = user.get("/api/v1/dashboard", params=params)
    assert response.status_code == 200, response.text
    data = response.json()
    data.pop("window")  # `until` is now: the rest is what must not move
    return data


def test_what_a_viewer_may_not_see_adds_nothing_to_any_figure(world: World) -> None:
    industry = world.member("Grid", "industry", country="DE", sectors=["Energy"])
    cert = world.member("CERT", "national-cert", country="EE", sectors=["Government"])
    outsider_member = world.member("Outsider", "industry", country="FR", sectors=["Finance"])
    shares, partner = world.user(industry), world.user(cert)
    outsider = world.user(outsider_member)
    admin = world.admin()  # an instance admin of another member is no exception
    group = world.group([industry, cert])
    visible_family = sdo("malware", "Visible family", 2, is_family=True)
    phishing = technique("T1566", "Phishing", 2)
    story(world.user(cert), 2, ["198.51.100.7"], [visible_family, phishing],
          tlp="green", distribution="community")  # fmt: skip
    before = {u.user_id: figures(u) for u in (outsider, admin)}
    assert before[outsider.user_id]["totals"]["reports"] == 1

    # TLP:RED to one sharing group: the same value, a named family, a technique, a reference to
    # the family the outsider sees, sightings; and an org-only indicator with the same value.
    secret = [sdo("malware", "Secret family", 1, is_family=True), technique("T1190", "Exploit", 1)]
    story(shares, 1, ["198.51.100.7", "203.0.113.9"], secret,
          tlp="red", distribution="group", group=group)  # fmt: skip
    hidden_ref = dated(report([visible_family["id"]], name="Red naming a visible family"), 0.5)
    assert shares.share(marked(hidden_ref, "red", "group", group)).status_code == 201
    alone = marked(dated(indicator("198.51.100.7"), 0.5), "amber", "org")
    assert shares.share(alone).status_code == 201
    seen = {"value": "203.0.113.9", "tlp": "red", "distribution": "org", "seen_at": stamp(0.2)}
    assert shares.post("/api/v1/sightings", json={"sightings": [seen]}).status_code == 201
    sighting = marked(dated({"type": "sighting", "spec_version": "2.1", "id": stix_id("sighting"),
                             "sighting_of_ref": alone["id"], "count": 5}, 0.2),
                      "red", "group", group)  # fmt: skip
    assert shares.share(sighting).status_code == 201

    for user in (outsider, admin):
        assert figures(user) == before[user.user_id]
        assert figures(user, days=7, interval="week")["totals"]["objects"] == 4

    # The group's other member sees the group's share, and nothing of the org-only indicator.
    seen_by_partner = figures(partner)
    assert seen_by_partner["tlp"] == "red"
    # 2 reports, 2 indicators, a family, a technique, a sighting
    assert {"tlp": "red", "objects": 7} in seen_by_partner["by_tlp"]
    assert seen_by_partner["top_values"] == [
        {"kind": "ipv4", "value": "198.51.100.7", "objects": 2, "noisy": False}
    ]
    malware = {m["name"]: m["reports"] for m in seen_by_partner["top_malware"]}
    assert malware == {"Visible family": 2, "Secret family": 1}
    assert seen_by_partner["totals"]["sightings"] == 5  # the STIX one; the API one is org-only
    assert figures(shares)["totals"]["sightings"] == 6
    assert figures(shares)["top_values"][0]["objects"] == 3


def test_every_figure_is_what_the_viewer_can_list(world: World) -> None:
    """Members of each kind share at every reach, one anonymously; each viewer's figures are
    recomputed from what it lists, through the directory, for two windows."""
    a = world.member("A", "industry", country="DE", sectors=["Energy", "Electric"])
    b = world.member("B", "national-cert", country="EE")
    c = world.member("C", "academia", country="NL", sectors=["Research"])
    a_user, b_user, c_user = world.user(a), world.user(b), world.user(c)
    group = world.group([a, b])
    family = sdo("malware", "Family X", 3, is_family=True)
    phish = technique("T1566", "Phish", 3)  # each member stores its own copy of this id
    story(a_user, 3, ["198.51.100.1", "198.51.100.2"], [family, phish],
          tlp="green", distribution="community")  # fmt: skip
    story(a_user, 10, ["198.51.100.1"], [sdo("malware", "family x", 10, is_family=True)],
          tlp="amber", distribution="community", anonymous=True)  # fmt: skip
    story(b_user, 20, ["198.51.100.2", "192.0.2.5"], [phish, technique("T1566", "Phishing", 20)],
          tlp="amber", distribution="group", group=group)  # fmt: skip
    story(b_user, 45, ["192.0.2.5"], [], tlp="clear", distribution="all")  # outside 30 days
    # An observable has no `created`: its value counts through the indicators holding it.
    address = {"type": "ipv4-addr", "spec_version": "2.1", "value": "192.0.2.5",
               "id": "ipv4-addr--ff4b6a3a-4d3a-5f43-9d4e-4a1c1b7f0c5a"}  # fmt: skip
    story(a_user, 2, ["192.0.2.5"], [address], tlp="green", distribution="community")
    story(c_user, 1, ["192.0.2.5"], [sdo("malware", "Family Y", 1, is_family=True)],
          tlp="red", distribution="org")  # fmt: skip
    story(c_user, -2, ["192.0.2.9"], [], tlp="green", distribution="community")  # future
    for user in (a_user, b_user, c_user, world.user(world.member(kind="partner"), Role.READER)):
        for days, interval in ((30, "day"), (60, "week")):
            got = comparable(figures(user, days=days, interval=interval))
            assert got == expected(user, days, interval), (user, days)

    for bad in ({"days": 0}, {"days": "x"}, {"interval": "month"}, {"days": 10**6}):
        response = a_user.get("/api/v1/dashboard", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["status"] == 422


def listed(user: ApiUser) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        data = user.get("/api/v1/objects", params=params).json()
        out += data["objects"]
        if not (cursor := data["next"]):
            return out


def comparable(got: dict[str, Any]) -> dict[str, Any]:
    """Lists whose ties may come in any order, as sorted pairs; names merged by case, so
    compared by case, or by ATT&CK id."""
    return got | {
        "top_values": sorted(got["top_values"], key=lambda v: v["value"]),
        "top_malware": sorted((m["name"].casefold(), m["reports"]) for m in got["top_malware"]),
        "top_techniques": sorted((t["external_id"], t["reports"]) for t in got["top_techniques"]),
    }


def expected(user: ApiUser, days: int, interval: str) -> dict[str, Any]:
    """The dashboard recomputed from the viewer's list and the member directory."""
    directory = {m["identity_id"]: m for m in user.get("/api/v1/members").json()["members"]}
    platform = user.platform_identity_ids()
    first = (NOW - timedelta(days=days - 1)).date()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    counted = [
        o for o in listed(user)
        if o["id"] not in platform and "created" in o and first.isoformat() <= o["created"] < now
    ]  # fmt: skip
    tlp_of = {o["id"]: max(TLP_BY_MARKING_ID[m] for m in o["object_marking_refs"])
              for o in counted}  # fmt: skip
    kinds, sectors, countries = Counter(), Counter(), Counter()
    broker = broker_identity(Settings().broker_name)
    for o in counted:
        member = directory.get(o["created_by_ref"]) if o["created_by_ref"] != broker else None
        if member is None:
            kinds["anonymous"] += 1
            sectors["anonymous"] += 1
            countries["anonymous"] += 1
            continue
        kinds[member["kind"]] += 1
        countries[member["country"] or "unspecified"] += 1
        for sector in member["sectors"] or ["unspecified"]:
            sectors[sector] += 1

    def ranked(counter: Counter, key: str) -> list[dict[str, Any]]:
        items = sorted(counter.items(), key=lambda kv: (kv[0] == "anonymous", -kv[1], kv[0]))
        return [{key: k, "objects": n} for k, n in items]

    def period(day: str) -> str:
        d = datetime.fromisoformat(day).date()
        return (d - timedelta(days=d.weekday()) if interval == "week" else d).isoformat()

    start = datetime.fromisoformat(period(first.isoformat())).date()
    step = 7 if interval == "week" else 1
    keys = []
    while start <= NOW.date():
        keys.append(start.isoformat())
        start += timedelta(days=step)
    series = {k: {"objects": 0, "reports": 0, "indicators": 0} for k in keys}
    for o in counted:
        point = series[period(o["created"][:10])]
        point["objects"] += 1
        if o["type"] in ("report", "indicator"):
            point[o["type"] + "s"] += 1

    holders = defaultdict(list)
    for o in counted:
        if o["type"] == "indicator":
            holders[re.search(r"'(.*)'", o["pattern"]).group(1)].append(o)
    top_values = sorted(
        ({"kind": "ipv4", "value": v, "objects": len(h), "noisy": False}
         for v, h in holders.items() if len(h) > 1),
        key=lambda t: t["value"],
    )  # fmt: skip
    visible = {o["id"]: o for o in listed(user)}
    reported: dict[str, dict[str, Counter]] = {"malware": Counter(), "attack-pattern": Counter()}
    reports = [o for o in counted if o["type"] == "report"]
    for rep in reports:
        for ref in rep["object_refs"]:
            if ref in visible and visible[ref]["type"] in reported:
                body = visible[ref]
                key = (body.get("external_references") or [{}])[0].get("external_id")
                reported[body["type"]][key or body["name"].casefold()] += 1

    member_names = {m["identity_id"]: m["name"] for m in directory.values()}
    newest = sorted(reports, key=lambda r: r["created"], reverse=True)[:10]
    # Per object, not per id: members' copies of one reference object each count.
    tlps = [max(TLP_BY_MARKING_ID[m] for m in o["object_marking_refs"]) for o in counted]
    by_tlp = Counter(t.label for t in tlps)
    got_tlp = max(tlps).label if tlps else None
    return {
        "tlp": got_tlp,
        "totals": {
            "objects": len(counted),
            "reports": len(reports),
            "indicators": sum(o["type"] == "indicator" for o in counted),
            "sightings": 0,
        },
        "by_tlp": [
            {"tlp": t, "objects": by_tlp[t]}
            for t in ("clear", "green", "amber", "amber+strict", "red")
        ],
        "by_type": ranked(Counter(o["type"] for o in counted), "type"),
        "by_member_kind": ranked(kinds, "kind"),
        "by_sector": ranked(sectors, "sector"),
        "by_country": ranked(countries, "country"),
        "shared_over_time": [{"period": k, **v} for k, v in series.items()],
        "top_values": top_values,
        "top_malware": sorted(reported["malware"].items()),
        "top_techniques": sorted(reported["attack-pattern"].items()),
        "newest_reports": [
            {
                "id": r["id"],
                "name": r["name"],
                "tlp": tlp_of[r["id"]].label,
                "created": r["created"].replace("Z", "000Z"),
                "created_by": member_names.get(r["created_by_ref"], Settings().broker_name),
            }
            for r in newest
        ],
        "sightings_over_time": [{"period": k, "seen": 0, "false_positives": 0} for k in series],
    }
