"""The whole flow as three members through the API: the requester files (sanitised, with a
preview), the coordinator chosen by the rule tasks the best-ranked responder, the responder
accepts and works (tasks, evidence, indicators shared back), the lead is handed over, and the
incident is resolved and closed, every step on the timeline, the change log and the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shieldwall.audit.tables import audit_log
from shieldwall.incidents.tables import incident_changes
from shieldwall.intel.tables import change_log
from tests.incidents.conftest import Cast, FakeClock


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_request_from_filing_to_closing(cast: Cast, clock: FakeClock, app: Any) -> None:
    requester, coordinator, responder = cast.requester.analyst, cast.cert.analyst, cast.lab.analyst
    draft = {
        "title": "SCADA gateway encrypted",
        "description": "Ransomware on scada01.corp.local; ask jaan.tamm@grid.example, "
        "+372 5555 1234.",
        "severity": "high",
        "tlp": "amber+strict",
        "countries": ["EE"],
        "sectors": ["Energy"],
        "services": ["substation telemetry"],
        "needs": ["forensics", "incident-response"],
        "languages": ["et"],
    }
    preview = _ok(requester.post("/api/v1/incidents/preview", json=draft))
    for victim in ("scada01.corp.local", "jaan.tamm@grid.example", "5555 1234"):
        assert victim not in preview["description"]
    assert {f["kind"] for f in preview["findings"]["description"]} >= {
        "email",
        "phone",
        "internal-hostname",
    }
    assert preview["coordinator"] == {
        "id": cast.cert.member_id,
        "name": "CERT-EE",
        "reason": "the requester's national CERT (EE)",
    }
    assert _ok(requester.get("/api/v1/incidents")) == {"incidents": [], "next": None}  # none yet

    incident = _ok(requester.post("/api/v1/incidents", json=draft), 201)
    url = f"/api/v1/incidents/{incident['id']}"
    assert incident["description"] == preview["description"]
    assert incident["findings"] == preview["findings"]
    assert incident["status"] == "filed" and incident["coordinator"]["id"] == cast.cert.member_id
    assert [c["state"] for c in incident["clocks"]] == ["running"] * 4

    # The coordinator sees the proposals, best fit first, with reasons, and tasks the first.
    clock.advance(minutes=20)
    proposals = _ok(coordinator.get(f"{url}/proposals"))["proposals"]
    assert [p["member_id"] for p in proposals] == [
        cast.lab.member_id,
        cast.malware.member_id,
        cast.outsider.member_id,
    ]
    assert proposals[0]["reasons"] == [
        "covers forensics, incident-response (2 of 2 needed)",
        "covers country EE",
        "covers sector Energy",
        "speaks et",
        "available now",
    ]
    assert "does not cover forensics" in proposals[1]["reasons"]
    tasking = _ok(coordinator.post(f"{url}/taskings", json={}), 201)
    assert tasking["member_id"] == cast.lab.member_id
    seen = _ok(responder.get(url))
    assert seen["status"] == "acknowledged" and seen["you_may"]["answer"] == [tasking["id"]]
    assert seen["clocks"][0]["state"] == "met" and seen["clocks"][0]["elapsed_seconds"] == 1200

    clock.advance(minutes=10)
    _ok(responder.post(f"{url}/taskings/{tasking['id']}/accept", json={"reason": "on our way"}))
    seen = _ok(requester.get(url))
    assert seen["status"] == "responding"
    assert seen["supporting"] == [{"id": cast.lab.member_id, "name": "Forensics Lab"}]
    assert seen["clocks"][1]["state"] == "met" and seen["clocks"][1]["elapsed_seconds"] == 1800

    # Work: a mandatory task, evidence with its custody, indicators shared back as intel.
    task = _ok(
        coordinator.post(
            f"{url}/tasks",
            json={
                "title": "Image the gateway",
                "owner_member_id": cast.lab.member_id,
                "owner_user_id": responder.user_id,
                "due_at": "2026-03-02T15:00:00Z",
                "mandatory": True,
            },
        ),
        201,
    )
    evidence = _ok(
        responder.post(
            f"{url}/evidence",
            json={
                "name": "gateway disk image",
                "hash": {"algorithm": "sha256", "value": "ab" * 32},
                "location": "lab vault 3",
                "size_bytes": 512_000_000,
            },
        ),
        201,
    )
    custody = _ok(
        responder.post(
            f"{url}/evidence/{evidence['id']}/custody",
            json={
                "action": "transferred",
                "to_member_id": cast.cert.member_id,
                "hash_seen": "cd" * 32,
                "note": "courier",
            },
        ),
        201,
    )
    assert custody["hash_matches"] is False
    shared = _ok(
        responder.post(
            f"{url}/intel",
            json={
                "indicators": [
                    {"value": "203.0.113.77", "tlp": "green", "distribution": "community"},
                    {"value": "evil.example", "tlp": "amber", "distribution": "org"},
                ]
            },
        ),
        201,
    )
    community, own = shared["shared"]
    assert community in cast.outsider.analyst.object_ids()  # intel, shared as asked
    assert own not in cast.outsider.analyst.object_ids()
    outsider_view = _ok(cast.outsider.analyst.get(f"/api/v1/objects/{community}"))["objects"][0]
    assert "SCADA" not in str(outsider_view)  # nothing of the incident travels with the intel
    assert {link["id"] for link in _ok(requester.get(url))["links"]} == {community}

    # Resolving waits for the mandatory task.
    resolve = coordinator.post(f"{url}/status", json={"status": "resolved"})
    assert resolve.status_code == 409 and resolve.json()["error"]["details"][0]["message"] == (
        "Image the gateway"
    )
    _ok(coordinator.post(f"{url}/status", json={"status": "contained", "reason": "isolated"}))
    _ok(responder.patch(f"{url}/tasks/{task['id']}", json={"status": "done"}))

    # The lead moves to the alliance centre; CERT-EE stays on.
    clock.advance(hours=2)
    _ok(
        coordinator.post(
            f"{url}/handover",
            json={"member_id": cast.alliance.member_id, "reason": "spreads to LV"},
        )
    )
    seen = _ok(cast.alliance.analyst.get(url))
    assert seen["coordinator"]["id"] == cast.alliance.member_id
    assert [lead["id"] for lead in seen["leads"]] == [cast.cert.member_id, cast.alliance.member_id]
    assert seen["leads"][0]["until"] == seen["leads"][1]["since"]
    assert _ok(coordinator.get(url))["your_roles"] == ["responder"]
    assert coordinator.post(f"{url}/status", json={"status": "resolved"}).status_code == 403
    assert seen["evidence"][0]["custody_intact"] is True
    assert [c["action"] for c in seen["evidence"][0]["custody"]] == ["collected", "transferred"]
    assert seen["evidence"][0]["holder"]["id"] == cast.cert.member_id

    clock.advance(hours=1)
    _ok(
        cast.alliance.analyst.post(
            f"{url}/close", json={"resolution": "resolved", "summary": "restored from backups"}
        )
    )
    seen = _ok(requester.get(url))
    assert seen["status"] == "closed" and seen["resolution"] == "resolved"
    assert [c["state"] for c in seen["clocks"]] == ["met", "met", "met", "met"]
    assert seen["you_may"] == {"act": False, "coordinate": False, "answer": []}
    assert requester.post(f"{url}/timeline", json={"text": "thanks"}).status_code == 409

    kinds = [e["kind"] for e in _ok(requester.get(f"{url}/timeline"))["entries"]]
    assert kinds == [
        "filed",
        "coordinator",
        "tasked",
        "status",
        "accepted",
        "status",
        "task",
        "evidence",
        "custody",
        "intel",
        "status",
        "task-done",
        "handover",
        "closed",
    ]
    entries = _ok(requester.get(f"{url}/timeline"))["entries"]
    assert entries[1]["by"] == "platform" and entries[0]["by"]["member"]["id"] == (
        cast.requester.member_id
    )
    assert "HASH MISMATCH" in entries[8]["text"]

    with app.state.db.read() as conn:
        actions = list(conn.scalars(select(audit_log.c.action)))
        announced = list(
            conn.scalars(
                select(incident_changes.c.kind)
                .where(incident_changes.c.incident_id == incident["id"])
                .order_by(incident_changes.c.seq, incident_changes.c.timeline_id)
            )
        )
        logged = list(conn.scalars(select(change_log.c.action)))
    assert announced == kinds  # every timeline entry is on the change log, for the stream
    assert logged.count("incident") == 11  # one change-log entry per accepted write
    for action in (
        "incident.file",
        "incident.task",
        "incident.accept",
        "incident.task-add",
        "incident.evidence",
        "incident.custody",
        "incident.share-intel",
        "incident.handover",
        "incident.close:resolved",
        "responder.declare",
    ):
        assert action in actions, action
