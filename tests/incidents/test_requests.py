"""What a client gets back for what it sends: the exact filing interface other tools rely on,
the right 4xx with the JSON error body for bad input (never a 500), and writes that are kept
whole or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from shieldwall.audit.tables import audit_log
from shieldwall.incidents.tables import incident_timeline, incidents
from shieldwall.intel.tables import change_log
from tests.factories import indicator
from tests.incidents.conftest import Cast


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["status"] == status and body["message"]
    return body["message"]


def _counts(app: Any) -> tuple[int, ...]:
    with app.state.db.read() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t))
            for t in (incidents, incident_timeline, audit_log, change_log)
        )


def test_the_filing_interface_other_tools_use(cast: Cast) -> None:
    body = {
        "title": "Wiper on HMI",
        "description": "Two HMIs wiped.",
        "severity": "critical",
        "tlp": "amber",
        "countries": ["ee", "LV"],
        "sectors": ["Energy"],
    }
    created = cast.requester.analyst.post("/api/v1/incidents", json=body)
    assert created.status_code == 201
    incident_id = created.json()["id"]
    listed = cast.requester.analyst.get("/api/v1/incidents").json()["incidents"]
    assert [i["id"] for i in listed] == [incident_id]
    shown = cast.requester.analyst.get(f"/api/v1/incidents/{incident_id}").json()
    assert (
        shown["title"],
        shown["severity"],
        shown["tlp"],
        shown["countries"],
        shown["sectors"],
    ) == ("Wiper on HMI", "critical", "amber", ["EE", "LV"], ["Energy"])
    assert shown["severity_meaning"].startswith("An essential service is down")
    assert _error(cast.requester.analyst.get("/api/v1/incidents/not-an-id"), 404) == (
        "no such incident"
    )
    spec = cast.requester.analyst.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}",
        "/api/v1/incidents/{incident_id}/taskings",
        "/api/v1/incidents/figures",
        "/api/v1/responders/{member_id}",
    ):
        assert path in spec["paths"], path
    assert "critical" in str(spec["components"]["schemas"]["IncidentIn"])


def test_bad_filings_are_422s_naming_the_field_and_store_nothing(cast: Cast, app: Any) -> None:
    good = {"title": "t", "description": "d", "severity": "low", "tlp": "green"}
    before = _counts(app)
    cases = {
        "severity": {"severity": "urgent"},
        "tlp": {"tlp": "purple"},
        "countries": {"countries": ["Estonia"]},
        "needs": {"needs": ["hacking-back"]},
        "languages": {"languages": ["eng"]},
        "title": {"title": "   "},
        "description": {"description": 5},
        "keep": {"sanitize": {"keep": ["everything"]}},
        "priority": {"priority": "p1"},  # not a field: a typo must not be ignored
        "links": {"links": [f"indicator--{'0' * 8}-0000-4000-8000-{'0' * 12}"]},
    }
    for field, change in cases.items():
        response = cast.requester.analyst.post("/api/v1/incidents", json={**good, **change})
        message = _error(response, 422)
        assert field in message or field in str(response.json()["error"]["details"]), field
    assert _error(cast.requester.analyst.post("/api/v1/incidents", content=b"{"), 422)
    assert _counts(app) == before  # nothing stored, audited or announced


def test_a_filing_with_one_link_the_filer_may_not_see_stores_nothing(cast: Cast, app: Any) -> None:
    mine = indicator("198.51.100.50", tlp="green", distribution="community")
    theirs = indicator("198.51.100.51", tlp="amber", distribution="org")
    assert cast.requester.analyst.share(mine).status_code == 201
    assert cast.lab.analyst.share(theirs).status_code == 201
    before = _counts(app)
    response = cast.requester.analyst.post(
        "/api/v1/incidents",
        json={
            "title": "t",
            "description": "d",
            "severity": "low",
            "tlp": "green",
            "links": [mine["id"], theirs["id"]],
        },
    )
    assert _error(response, 422) == "1 of the linked ids: no such object in the store"
    assert response.json()["error"]["details"] == [
        {"property": "links", "id": theirs["id"], "message": "no such object in the store"}
    ]
    assert _counts(app) == before


def test_readers_do_not_file_and_wrong_moves_are_conflicts(cast: Cast) -> None:
    assert _error(
        cast.requester.reader.post(
            "/api/v1/incidents",
            json={"title": "t", "description": "d", "severity": "low", "tlp": "green"},
        ),
        403,
    )
    incident = cast.file()
    url = f"/api/v1/incidents/{incident['id']}"
    coordinator, requester = cast.cert.analyst, cast.requester.analyst
    assert _error(coordinator.post(f"{url}/status", json={"status": "filed"}), 409) == (
        "an incident filed cannot become filed; it may become acknowledged, "
        "waiting-on-requester, responding, contained, resolved"
    )
    assert _error(coordinator.post(f"{url}/status", json={"status": "closed"}), 422)
    assert _error(coordinator.post(f"{url}/status", json={"status": "on-fire"}), 422)
    assert _error(requester.post(f"{url}/status", json={"status": "contained"}), 403) == (
        "only the coordinator may do this"
    )
    assert _error(coordinator.post(f"{url}/resume", json={}), 409)
    assert _error(coordinator.patch(url, json={"title": "mine now"}), 403) == (
        "only the requester changes title"
    )
    assert _error(coordinator.patch(url, json={}), 422) == "nothing to change"
    assert _error(
        requester.post(f"{url}/close", json={"resolution": "resolved", "summary": "done"}), 403
    )
    assert _error(
        coordinator.post(f"{url}/close", json={"resolution": "fixed", "summary": "done"}), 422
    )
    assert _error(
        coordinator.post(f"{url}/handover", json={"member_id": "nobody", "reason": "x"}), 404
    )
    assert _error(
        coordinator.post(f"{url}/handover", json={"member_id": cast.cert.member_id, "reason": "x"}),
        409,
    )
    assert _error(
        coordinator.post(f"{url}/taskings", json={"member_id": cast.requester.member_id}), 422
    )
    assert _error(coordinator.get(f"{url}/timeline", params={"after": -1}), 422)
    assert _error(coordinator.get("/api/v1/incidents", params={"status": "open"}), 422)
    assert _error(coordinator.get("/api/v1/incidents", params={"cursor": "garbage"}), 422)
    assert _error(coordinator.get("/api/v1/incidents", params={"colour": "red"}), 422)
    assert _error(coordinator.get("/api/v1/incidents/figures", params={"by": "planet"}), 422)
    assert _error(coordinator.get("/api/v1/incidents/figures", params={"since": "yesterday"}), 422)
    assert _error(
        coordinator.get("/api/v1/incidents/figures/series", params={"interval": "fortnight"}), 422
    )
    # The requester withdraws; afterwards nothing changes any more.
    assert (
        requester.post(
            f"{url}/close", json={"resolution": "withdrawn", "summary": "false alarm"}
        ).status_code
        == 200
    )
    assert _error(coordinator.post(f"{url}/taskings", json={}), 409) == "the incident is closed"
    assert _error(requester.patch(url, json={"severity": "low"}), 409)


def test_bad_work_items_are_422s(cast: Cast) -> None:
    incident = cast.file()
    url = f"/api/v1/incidents/{incident['id']}"
    user = cast.requester.analyst
    for body in (
        {"title": ""},
        {"title": "t", "due_at": "tomorrow"},
        {"title": "t", "due_at": "2026-03-02T10:00:00"},
        {"title": "t", "owner_member_id": cast.outsider.member_id},
        {"title": "t", "owner_user_id": cast.lab.analyst.user_id},
    ):
        _error(user.post(f"{url}/tasks", json=body), 422)
    # Only the coordinator gives tasks to another member taking part.
    assert _error(
        user.post(f"{url}/tasks", json={"title": "t", "owner_member_id": cast.cert.member_id}), 403
    )
    for body in (
        {"name": "x", "hash": {"algorithm": "sha256", "value": "12"}, "location": "l"},
        {"name": "x", "hash": {"algorithm": "crc32", "value": "1234"}, "location": "l"},
        {"name": "x", "hash": {"algorithm": "md5", "value": "g" * 32}, "location": "l"},
        {"name": "x", "hash": {"algorithm": "md5", "value": "a" * 32}, "location": " "},
        {"name": "", "hash": {"algorithm": "md5", "value": "a" * 32}, "location": "l"},
    ):
        _error(user.post(f"{url}/evidence", json=body), 422)
    evidence = user.post(
        f"{url}/evidence",
        json={"name": "pcap", "hash": {"algorithm": "md5", "value": "A" * 32}, "location": "nas"},
    )
    assert evidence.status_code == 201, evidence.text
    custody = f"{url}/evidence/{evidence.json()['id']}/custody"
    _error(user.post(custody, json={"action": "lost"}), 422)
    _error(user.post(custody, json={"action": "transferred"}), 422)
    _error(
        user.post(custody, json={"action": "examined", "to_member_id": cast.cert.member_id}), 422
    )
    _error(
        user.post(custody, json={"action": "transferred", "to_member_id": cast.lab.member_id}), 422
    )
    _error(cast.cert.analyst.post(f"{url}/evidence/nope/custody", json={"action": "examined"}), 404)
    # The holder is the requester; the coordinator may record custody too, others may not.
    assert cast.cert.analyst.post(custody, json={"action": "examined"}).status_code == 201
    _error(user.post(f"{url}/intel", json={"indicators": [{"value": "not a value at all"}]}), 422)
    _error(
        user.post(f"{url}/intel", json={"indicators": [{"value": "1.2.3.4", "kind": "ja3"}]}), 422
    )
    shared = user.post(
        f"{url}/intel",
        json={
            "indicators": [{"value": "198.51.100.60", "tlp": "red", "distribution": "community"}]
        },
    )
    assert _error(shared, 422).startswith("bundle rejected")
    _error(user.post(f"{url}/timeline", json={"text": " "}), 422)
    _error(user.patch(f"{url}/tasks/nope", json={"status": "done"}), 404)
