"""On PostgreSQL a lookup reads what it needs of each object from the objects' primary key alone
(migration 0006), once housekeeping has vacuumed: under the same policy as reading the table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import shieldwall.db
import shieldwall.intel.tables
from shieldwall.correlate import matches
from tests.factories import World, indicator

SHARED, ORG_ONLY, GROUP_ONLY = "203.0.113.5", "203.0.113.9", "203.0.113.77"


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plan of every exact-match query a lookup runs, as PostgreSQL executed it."""
    seen: list[str] = []
    plain_rows = matches.plain_rows

    def explained(conn: Any, query: Any) -> list[tuple[Any, ...]]:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}", compiled.params)
        seen.append("\n".join(row[0] for row in cursor.fetchall()))
        return plain_rows(conn, query)

    monkeypatch.setattr(matches, "plain_rows", explained)
    return seen


def _matched(user: Any, values: list[str]) -> dict[str, list[str]]:
    response = user.post("/api/v1/lookup", json={"values": values})
    assert response.status_code == 200, response.text
    return {r["value"]: [m["id"] for m in r["matches"]] for r in response.json()["results"]}


def test_lookups_read_the_covering_key_and_see_only_what_the_policy_allows(
    world: World, plans: list[str]
) -> None:
    if world.db.is_sqlite:
        pytest.skip("SQLite's table is its primary key's b-tree already")
    owner, outsider, partner = world.member(), world.member(), world.member()
    bob, alice, carol = world.user(owner), world.user(outsider), world.user(partner)
    group = world.group([owner, partner])
    shared = indicator(SHARED, tlp="green", distribution="community")
    org_only = indicator(ORG_ONLY, tlp="amber", distribution="org")
    grouped = indicator(GROUP_ONLY, tlp="amber", distribution="group", group=group)
    assert bob.share(shared, org_only, grouped).status_code == 201
    # Enough other objects that the planner probes the matches' keys rather than walking the
    # whole table, as it does at any real size (the platform's identities alone tip a table of
    # a handful of rows).
    filler = [indicator(f"198.51.{n // 250}.{n % 250}") for n in range(500)]
    assert alice.share(*filler).status_code == 201
    values = [SHARED, ORG_ONLY, GROUP_ONLY]
    # Housekeeping's VACUUM marks the pages all-visible, as it does after large writes; a page
    # holding rows newer than a snapshot some connection still had open at that moment (on a
    # busy machine: a background thread's) stays unmarked until the next one, so up to three.
    for _ in range(3):
        plans.clear()
        world.db.wrote_many(shieldwall.db.VACUUM_AFTER_ROWS)
        assert world.db.housekeeping_done()
        # What an outsider must NOT see first: neither the organisation's nor the group's.
        assert _matched(alice, values) == {SHARED: [shared["id"]], ORG_ONLY: [], GROUP_ONLY: []}
        assert _matched(carol, values) == {
            SHARED: [shared["id"]], ORG_ONLY: [], GROUP_ONLY: [grouped["id"]],
        }  # fmt: skip
        assert _matched(bob, values) == {
            SHARED: [shared["id"]], ORG_ONLY: [org_only["id"]], GROUP_ONLY: [grouped["id"]],
        }  # fmt: skip
        if all("Heap Fetches: 0" in plan for plan in plans):
            break
    assert len(plans) == 3
    for plan in plans:
        assert "Index Only Scan using pk_objects on objects" in plan, plan
        assert "Heap Fetches: 0" in plan, plan


def test_the_objects_primary_key_carries_the_lookup_columns(world: World) -> None:
    if world.db.is_sqlite:
        pytest.skip("PostgreSQL's index")
    with world.db.read() as conn:
        included = conn.execute(
            text(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indexrelid = 'pk_objects'::regclass ORDER BY a.attname"
            )
        ).scalars()
        assert list(included) == sorted(("pk", *shieldwall.intel.tables.LOOKUP_COLUMNS))
