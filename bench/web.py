"""Web pages benchmark: the time to sign in and to render each page for the demo admin (the
dashboard, reports, search, members, the incident list, the newest incident and the
cross-border view), beside the dashboard's JSON twin, on the SYNTHETIC demo data set (SQLite,
in process, no socket).
Prints median milliseconds of 10 requests and the answer's size. A measurement, not a test.

    PYTHONPATH=src python bench/web.py
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.db import Database, migrate
from shieldwall.demo import DEMO_WARNINGLISTS, seed
from shieldwall.settings import Settings


def timed(fetch: Callable[[], Any], n: int = 10) -> tuple[float, int]:
    took = []
    for _ in range(n):
        start = time.perf_counter()
        response = fetch()
        took.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return statistics.median(took), len(response.content)


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
    migrate(url)
    settings = Settings(database_url=url, warninglists=DEMO_WARNINGLISTS, validation_workers=0)
    db = Database(url)
    login = seed(db, settings)
    db.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]  # type: ignore[index]
        start = time.perf_counter()
        signed = client.post(
            "/login", data={"email": login.email, "password": login.password, "csrf": token}
        )
        assert signed.status_code == 303, signed.text
        print(f"sign-in (argon2id check, session written): {time.perf_counter() - start:.3f} s")
        key = {"Authorization": f"Bearer {login.key}"}
        listed = re.search(r'href="(/incidents/[0-9a-f-]{36})"', client.get("/incidents").text)
        first_incident = listed[1] if listed else "/incidents"
        for name, fetch in (
            ("GET / (dashboard page)", lambda: client.get("/")),
            ("GET /api/v1/dashboard", lambda: client.get("/api/v1/dashboard", headers=key)),
            ("GET /reports", lambda: client.get("/reports")),
            ("GET /search?q=synthetic", lambda: client.get("/search?q=synthetic")),
            ("GET /members", lambda: client.get("/members")),
            ("GET /incidents", lambda: client.get("/incidents")),
            ("GET /incidents/{first}", lambda: client.get(first_incident)),
            ("GET /incidents/cross-border", lambda: client.get("/incidents/cross-border")),
        ):
            median, size = timed(fetch)
            print(f"{name:28} median {median * 1000:6.1f} ms  {size / 1024:6.1f} KB")


if __name__ == "__main__":
    main()
