"""The SYNTHETIC demo makes the dashboard worth looking at: weeks of intel from every kind of
member, sectors and countries, correlations, malware families, techniques and sightings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shieldwall.db import Database
from shieldwall.demo import seed
from shieldwall.demo_data import build_demo_dataset
from shieldwall.members import service
from shieldwall.settings import Settings


@pytest.mark.sqlite_only
def test_the_demo_fills_every_chart(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    db: Database = app.state.db
    seed(db, Settings(database_url=str(db.url), warninglists="none", validation_workers=0))
    analyst = next(u for u in build_demo_dataset().users if u.email.startswith("analyst@grid"))
    with db.write() as conn:
        key = service.issue_api_key(conn, service.user_by_email(conn, analyst.email)["id"]).key
    got = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {key}"}).json()

    assert sum(p["reports"] > 0 for p in got["shared_over_time"]) >= 10  # weeks, not a day
    assert {k["kind"] for k in got["by_member_kind"]} >= {
        "alliance", "national-cert", "industry", "academia", "anonymous",
    }  # fmt: skip
    assert len(got["by_sector"]) >= 6 and len(got["by_country"]) >= 5
    assert sum(t["objects"] > 0 for t in got["by_tlp"]) >= 4
    assert got["top_values"] and all(v["objects"] >= 2 for v in got["top_values"])
    assert len(got["top_malware"]) >= 5 and got["top_malware"][0]["reports"] >= 2
    assert len(got["top_techniques"]) >= 5
    assert sum(p["seen"] > 0 for p in got["sightings_over_time"]) >= 5
    assert any(p["false_positives"] for p in got["sightings_over_time"])
    assert len(got["newest_reports"]) == 10
