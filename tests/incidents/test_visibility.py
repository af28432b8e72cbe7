"""Who sees an incident: only its requester, its coordinator and its tasked members, each at
its TLP. The "must NOT see" cases first: an untasked member, a member-admin of another member,
an instance admin, a responder that declined or went silent learn nothing of it, not through a
list, a count, a figure, a timeline page, a 404-vs-403 difference or an error message."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shieldwall.incidents import escalation
from tests.factories import ApiUser, indicator
from tests.incidents.conftest import Cast, FakeClock

TLPS = ("clear", "green", "amber", "amber+strict", "red")


def _probes(incident_id: str, sub_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route about one incident, with a body that is valid in shape."""
    base = f"/api/v1/incidents/{incident_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"severity": "low"}),
        ("GET", f"{base}/timeline", None),
        ("POST", f"{base}/timeline", {"text": "hello"}),
        ("GET", f"{base}/proposals", None),
        ("POST", f"{base}/taskings", {}),
        ("POST", f"{base}/taskings/{sub_id}/accept", {}),
        ("POST", f"{base}/taskings/{sub_id}/decline", {"reason": "busy"}),
        ("POST", f"{base}/taskings/{sub_id}/release", {"reason": "done"}),
        ("POST", f"{base}/acknowledge", None),
        ("POST", f"{base}/status", {"status": "contained"}),
        ("POST", f"{base}/resume", {}),
        ("POST", f"{base}/close", {"resolution": "withdrawn", "summary": "never mind"}),
        ("POST", f"{base}/handover", {"member_id": sub_id, "reason": "mine now"}),
        ("POST", f"{base}/tasks", {"title": "look"}),
        ("PATCH", f"{base}/tasks/{sub_id}", {"status": "done"}),
        (
            "POST",
            f"{base}/evidence",
            {"name": "disk", "hash": {"algorithm": "md5", "value": "0" * 32}, "location": "safe"},
        ),
        ("POST", f"{base}/evidence/{sub_id}/custody", {"action": "examined"}),
        ("POST", f"{base}/links", {"object_ids": [f"indicator--{uuid.uuid4()}"]}),
        ("DELETE", f"{base}/links/indicator--{uuid.uuid4()}", None),
        ("POST", f"{base}/intel", {"indicators": [{"value": "198.51.100.9"}]}),
    ]


def _answer(user: ApiUser, method: str, url: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    response = user.client.request(method, url, headers=user.headers, json=body)
    return response.status_code, response.json() if response.content else None


def assert_sees_nothing(
    cast: Cast, user: ApiUser, incident_id: str, sub_id: str, *, every_route: bool = True
) -> None:
    """Every route (or, not `every_route`, a read and a write) answers about `incident_id`
    exactly as about an incident that never existed, and no list, count or figure includes it."""
    unknown = str(uuid.uuid4())
    probes = list(zip(_probes(incident_id, sub_id), _probes(unknown, sub_id), strict=True))
    for (method, url, body), (_, unknown_url, _) in probes if every_route else probes[:2]:
        seen = _answer(user, method, url, body)
        assert seen == _answer(user, method, unknown_url, body), (method, url)
        assert seen[0] == 404, (method, url, seen)
    listed = user.get("/api/v1/incidents").json()
    assert incident_id not in {i["id"] for i in listed["incidents"]}
    if not every_route:
        return
    board = user.get("/api/v1/incidents/dashboard").json()
    assert incident_id not in {i["id"] for i in board["incidents"]}
    assert all(m["incident"]["id"] != incident_id for m in board["marks"])
    figures = user.get("/api/v1/incidents/figures", params={"by": "none"}).json()
    assert figures["incidents"] == len(listed["incidents"])  # what it sees, and nothing more
    crossing = user.get("/api/v1/incidents/cross-border").json()
    assert incident_id not in str(crossing)


def test_an_untasked_member_sees_nothing_at_any_tlp_or_role(cast: Cast) -> None:
    users = [*cast.outsider.users, *cast.malware.users, *cast.alliance.users, cast.instance_admin]
    for n, tlp in enumerate(TLPS):
        incident = cast.file(tlp=tlp, countries=["EE", "LV"])
        # The outsider is proposed (it declared a profile), which gives it no sight.
        proposals = cast.cert.analyst.get(f"/api/v1/incidents/{incident['id']}/proposals").json()
        assert cast.outsider.member_id in {p["member_id"] for p in proposals["proposals"]}
        # Every user tries a read and a write at every TLP; every route, two users a TLP.
        for index, user in enumerate(users):
            every_route = index // 2 == n
            assert_sees_nothing(
                cast, user, incident["id"], cast.lab.member_id, every_route=every_route
            )
    for user in cast.outsider.users:
        assert user.get("/api/v1/incidents").json() == {"incidents": [], "next": None}
        board = user.get("/api/v1/incidents/dashboard").json()
        assert board["open"] == 0 and board["marks"] == [] and board["incidents"] == []
        figures = user.get("/api/v1/incidents/figures", params={"by": "none"}).json()
        assert figures["incidents"] == 0 and figures["groups"] == []


def test_a_member_admin_of_another_member_cannot_task_or_read(cast: Cast) -> None:
    incident = cast.file()
    intruder = cast.malware.admin
    assert_sees_nothing(cast, intruder, incident["id"], cast.malware.member_id)
    # Tasking itself, or anyone, is just as unknown.
    url = f"/api/v1/incidents/{incident['id']}/taskings"
    response = intruder.post(url, json={"member_id": cast.malware.member_id})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no such incident"


def test_declined_expired_and_released_responders_lose_sight(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    url = f"/api/v1/incidents/{incident['id']}"
    lab = cast.cert.analyst.post(f"{url}/taskings", json={}).json()  # the lab, ranked first
    malware = cast.cert.analyst.post(
        f"{url}/taskings", json={"member_id": cast.malware.member_id}
    ).json()
    assert cast.lab.reader.get(url).status_code == 200  # tasked: it sees what it must decide on
    decline = cast.lab.analyst.post(f"{url}/taskings/{lab['id']}/decline", json={"reason": "busy"})
    assert decline.status_code == 200, decline.text
    assert_sees_nothing(cast, cast.lab.analyst, incident["id"], lab["id"])
    # Silence past the deadline (30 minutes for critical) ends the malware company's sight.
    clock.advance(minutes=31)
    escalation.run(app.state.db, app.state.incident_config, clock())
    assert_sees_nothing(cast, cast.malware.reader, incident["id"], malware["id"])


def test_each_participant_sees_it_at_its_tlp_and_readers_only_read(cast: Cast) -> None:
    for tlp in TLPS:
        incident = cast.file(tlp=tlp)
        url = f"/api/v1/incidents/{incident['id']}"
        tasking = cast.cert.admin.post(f"{url}/taskings", json={}).json()
        for party, roles in (
            (cast.requester, ["requester"]),
            (cast.cert, ["coordinator"]),
            (cast.lab, ["responder"]),
        ):
            for user in party.users:
                seen = user.get(url)
                assert seen.status_code == 200, seen.text
                assert seen.json()["tlp"] == tlp and seen.json()["your_roles"] == roles
                assert incident["id"] in {
                    i["id"] for i in user.get("/api/v1/incidents").json()["incidents"]
                }
            # A reader reads, and is told so when it writes: it sees the incident already.
            note = party.reader.post(f"{url}/timeline", json={"text": "I am only reading"})
            assert note.status_code == 403
        assert (
            cast.lab.reader.post(f"{url}/taskings/{tasking['id']}/accept", json={}).status_code
            == 403
        )
        assert (
            cast.lab.analyst.post(f"{url}/taskings/{tasking['id']}/accept", json={}).status_code
            == 200
        )


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_linked_intel_is_shown_only_as_far_as_the_intel_policy_allows(
    cast: Cast, role: str
) -> None:
    own = indicator("198.51.100.20", tlp="amber", distribution="org")  # the requester's only
    shared = indicator("198.51.100.21", tlp="green", distribution="community")
    assert cast.requester.analyst.share(own, shared).status_code == 201
    incident = cast.file(links=[own["id"], shared["id"]])
    assert {link["id"] for link in incident["links"]} == {own["id"], shared["id"]}
    url = f"/api/v1/incidents/{incident['id']}"
    coordinator = getattr(cast.cert, role)
    seen = coordinator.get(url).json()
    assert [link["id"] for link in seen["links"]] == [shared["id"]]
    entries = coordinator.get(f"{url}/timeline").json()["entries"]
    assert own["id"] not in str(entries) and shared["id"] in str(entries)
    # A link the coordinator cannot see is refused as an unknown id would be.
    unknown = f"indicator--{uuid.uuid4()}"
    refused = coordinator.post(f"{url}/links", json={"object_ids": [own["id"]]})
    other = coordinator.post(f"{url}/links", json={"object_ids": [unknown]})
    assert refused.status_code == other.status_code == 422
    assert refused.json()["error"]["message"] == other.json()["error"]["message"]
    assert own["id"] not in refused.text.replace(own["id"], "", 1)  # named once: the one it sent
    # ...and removing the link it cannot see is a 404, like a link that does not exist.
    assert coordinator.delete(f"{url}/links/{own['id']}").status_code == 404
    assert coordinator.delete(f"{url}/links/{unknown}").status_code == 404


def test_a_timeline_page_never_betrays_the_entries_left_out(cast: Cast) -> None:
    incident = cast.file()
    url = f"/api/v1/incidents/{incident['id']}"
    for n in range(4):
        secret = indicator(f"198.51.100.{30 + n}", tlp="red", distribution="org")
        assert cast.requester.analyst.share(secret).status_code == 201
        assert (
            cast.requester.analyst.post(
                f"{url}/links", json={"object_ids": [secret["id"]]}
            ).status_code
            == 201
        )
        assert (
            cast.requester.analyst.post(f"{url}/timeline", json={"text": f"note {n}"}).status_code
            == 201
        )
    everything = cast.requester.analyst.get(f"{url}/timeline").json()["entries"]
    seen_whole = cast.cert.analyst.get(f"{url}/timeline").json()["entries"]
    assert len(everything) == len(seen_whole) + 4
    pages, after = [], 0
    while True:
        page = cast.cert.analyst.get(f"{url}/timeline", params={"after": after, "limit": 2}).json()
        assert len(page["entries"]) == 2 or page["next"] is None  # full pages, however filtered
        pages += page["entries"]
        if page["next"] is None:
            break
        after = page["next"]
    assert pages == seen_whole
