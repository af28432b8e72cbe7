"""Every incident page renders on the demo's SYNTHETIC incidents, which are in every state
(paused, escalated, closed, with evidence and handed-over leads): the coordinator opens each
one, the grid operator only its own and gets the 404 of an unknown incident for the rest."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from shieldwall.demo import DEMO_WARNINGLISTS, seed
from shieldwall.demo_data import ALLIANCE, GRID, build_demo_dataset
from shieldwall.members import passwords, service
from shieldwall.settings import Settings
from tests.web.signing_in import PASSWORD, browser, sign_in
from tests.web.test_accessibility import check

_INCIDENT_LINK = re.compile(r'href="/incidents/([0-9a-f-]{36})"')


def _web(app: Any, email: str) -> Any:
    with app.state.db.write() as conn:
        passwords.set_password(conn, service.user_by_email(conn, email)["id"], PASSWORD)
    web = browser(app)
    assert sign_in(web, email).status_code == 303
    return web


def _listed(web: Any) -> set[str]:
    found: set[str] = set()
    url: str | None = "/incidents"
    while url:
        page = web.get(url)
        assert page.status_code == 200, page.text
        found |= set(_INCIDENT_LINK.findall(page.text))
        more = re.search(r'<a href="(/incidents\?[^"]*cursor=[^"]+)">Next page</a>', page.text)
        url = more.group(1).replace("&amp;", "&") if more else None
    return found


@pytest.mark.sqlite_only  # the demo's seeding is the same on both; the pages are checked here
def test_every_demo_incident_page_renders_for_those_taking_part(  # type: ignore[no-untyped-def]
    app, client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = app.state.db
    cache = str(tmp_path_factory.getbasetemp() / "cache")
    seed(db, Settings(database_url=str(db.url), warninglists=DEMO_WARNINGLISTS, cache_dir=cache))
    users = {u.member: u.email for u in build_demo_dataset().users if u.role == "analyst"}
    grid = _web(app, users[GRID])
    alliance = _web(app, users[ALLIANCE])
    everything = _listed(alliance)
    own = _listed(grid)
    assert own and own < everything
    unknown = grid.get(f"/incidents/{uuid.uuid4()}")
    assert unknown.status_code == 404
    seen = set()
    for incident in sorted(everything):
        page = alliance.get(f"/incidents/{incident}")
        assert page.status_code == 200, (incident, page.text)
        seen |= {kind for kind in ("OVERDUE", "paused", "Closed", "custody") if kind in page.text}
        check(f"/incidents/{incident}", page.text)
        mine = grid.get(f"/incidents/{incident}")
        if incident in own:
            assert mine.status_code == 200
        else:
            assert (mine.status_code, mine.text) == (404, unknown.text)
    assert seen == {"OVERDUE", "paused", "Closed", "custody"}  # the demo shows every part
    board = alliance.get("/").text
    assert "Clocks running late or overdue" in board and "Incidents filed over time" in board
