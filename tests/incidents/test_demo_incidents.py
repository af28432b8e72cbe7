"""The demo holds SYNTHETIC incidents in every state, seeded through the real services, and
they obey the incident rule like any others."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from shieldwall.db import Database
from shieldwall.demo import DEMO_WARNINGLISTS, seed
from shieldwall.demo_data import ALLIANCE, GRID, build_demo_dataset
from shieldwall.incidents.config import STATUSES
from shieldwall.members import service
from shieldwall.settings import Settings


def _headers(db: Database, email: str) -> dict[str, str]:
    with db.write() as conn:
        key = service.issue_api_key(conn, service.user_by_email(conn, email)["id"]).key
    return {"Authorization": f"Bearer {key}"}


def _all(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/incidents", params=params, headers=headers).json()
        found += page["incidents"]
        if not (cursor := page["next"]):
            return found


def test_the_demo_has_incidents_in_every_state_seen_only_by_those_taking_part(
    app: Any, client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db: Database = app.state.db
    cache = str(tmp_path_factory.getbasetemp() / "cache")
    seed(db, Settings(database_url=str(db.url), warninglists=DEMO_WARNINGLISTS, cache_dir=cache))
    users = {u.member: u.email for u in build_demo_dataset().users if u.role == "analyst"}
    alliance = _headers(db, users[ALLIANCE])  # the demo's coordinator of every request
    incidents = _all(client, alliance)
    assert {i["status"] for i in incidents} == set(STATUSES)
    assert all(i["title"].startswith("SYNTHETIC") for i in incidents)
    states = {state for i in incidents for state in i["clocks"].values()}
    assert {"met", "breached", "running"} <= states
    assert any(i["paused"] for i in incidents) and any(i["escalated"] for i in incidents)
    assert any(len(i["countries"]) > 1 for i in incidents)
    board = client.get("/api/v1/incidents/dashboard", headers=alliance).json()
    assert board["marks"] and board["escalations"]
    figures = client.get("/api/v1/incidents/figures", headers=alliance).json()
    assert figures["incidents"] == len(incidents)
    # The grid operator sees its own requests and those it was tasked on, nothing else.
    grid = _all(client, _headers(db, users[GRID]))
    assert grid and len(grid) < len(incidents)
    for line in grid:
        assert line["your_roles"], line
    expired_or_declined = [
        r
        for i in incidents
        for r in client.get(f"/api/v1/incidents/{i['id']}", headers=alliance).json()["responders"]
        if r["state"] in ("declined", "expired")
    ]
    assert {r["state"] for r in expired_or_declined} == {"declined", "expired"}
