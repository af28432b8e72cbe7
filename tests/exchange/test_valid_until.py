"""objects.valid_until (migration 0023): what the value exports leave expired indicators out by.

Ingest fills it, normalised; the migration fills it for the rows stored before it; every value
export (blocklist, suricata, snort, rpz, text) reads it and no body; the CSV export filters by
it through intel's query (ObjectFilter.valid_at). Negative cases first: an expired
indicator, or one whose newer version narrows its validity into the past, is in no export.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from shieldwall.intel.tables import objects
from tests.exchange.test_rules import domain, exported, rules_of
from tests.factories import STIX_TIME, ApiUser, World, indicator
from tests.search.test_search import _alembic

PAST = "2026-02-01T00:00:00Z"  # after STIX_TIME (valid_from), before the tests run
assert STIX_TIME < PAST
FUTURE = "2999-01-01T00:00:00.5Z"


def blocked(user: ApiUser, kind: str = "ipv4") -> list[str]:
    response = user.get("/api/v1/exports/blocklist", params={"kind": kind})
    assert response.status_code == 200, response.text
    return response.text.splitlines()


def stored_ends(world: World, *shared: dict[str, Any]) -> list[str | None]:
    """The valid_until column of each object's latest version."""
    ids = [o["id"] for o in shared]
    with world.db.read() as conn:
        rows = conn.execute(
            select(objects.c.object_id, objects.c.valid_until).where(
                objects.c.object_id.in_(ids), objects.c.is_latest.is_(True)
            )
        ).all()
    ends = dict(rows)
    return [ends[i] for i in ids]


def test_expired_indicators_are_in_no_export(world: World) -> None:
    alice = world.user(world.member())
    expired = [
        {**indicator("198.51.100.40", tlp="green"), "valid_until": PAST},
        {**domain("expired.example", tlp="green"), "valid_until": PAST},
    ]
    lasting = [
        {**indicator("198.51.100.41", tlp="green"), "valid_until": FUTURE},
        {**domain("lasting.example", tlp="green"), "valid_until": FUTURE},
    ]
    assert alice.share(*expired, *lasting).status_code == 201
    assert blocked(alice) == ["198.51.100.41"]
    assert blocked(alice, "domain") == ["lasting.example"]
    for fmt in ("suricata", "snort", "rpz"):
        text = exported(alice, fmt)
        assert "expired" not in text and "198.51.100.40" not in text, fmt
        assert "lasting.example" in text, fmt
    assert "198.51.100.41" in exported(alice, "suricata")
    # The exports of indicators a tool acts on, of every kind, hold no expired one either.
    for fmt in ("csv", "text"):
        response = alice.get(f"/api/v1/exports/{fmt}")
        assert response.status_code == 200, response.text
        text = response.text.replace("[.]", ".")
        assert "expired.example" not in text and "198.51.100.40" not in text, fmt
        assert "lasting.example" in text and "198.51.100.41" in text, fmt


def test_a_new_version_narrowing_valid_until_takes_the_indicator_out(world: World) -> None:
    alice = world.user(world.member())
    narrowed = {**indicator("198.51.100.42", tlp="green"), "valid_until": FUTURE}
    widened = {**indicator("198.51.100.43", tlp="green"), "valid_until": PAST}
    assert alice.share(narrowed, widened).status_code == 201
    assert blocked(alice) == ["198.51.100.42"]
    later = "2026-03-01T00:00:00.000Z"
    assert (
        alice.share(
            {**narrowed, "modified": later, "valid_until": PAST},
            {**widened, "modified": later, "valid_until": FUTURE},
        ).status_code
        == 201
    )
    assert blocked(alice) == ["198.51.100.43"]
    (rule,) = rules_of(exported(alice, "suricata"))
    assert rule.count("198.51.100.43") == 2  # its msg and its header


def test_ingest_stores_valid_until_normalised(world: World) -> None:
    alice = world.user(world.member())
    shared = [
        {**indicator("198.51.100.44", tlp="green"), "valid_until": "2999-01-01T00:00:00Z"},
        {**indicator("198.51.100.45", tlp="green"), "valid_until": FUTURE},
        {**indicator("198.51.100.46", tlp="green"), "valid_until": "2999-01-01T00:00:00.1234567Z"},
        indicator("198.51.100.47", tlp="green"),
    ]
    assert alice.share(*shared).status_code == 201
    assert stored_ends(world, *shared) == [
        "2999-01-01T00:00:00.000000Z",
        "2999-01-01T00:00:00.500000Z",
        "2999-01-01T00:00:00.123456Z",
        None,
    ]


def test_exports_read_the_column_not_the_body(world: World) -> None:
    alice = world.user(world.member())
    body_says_lasting = {**indicator("198.51.100.48", tlp="green"), "valid_until": FUTURE}
    no_end = indicator("198.51.100.49", tlp="green")
    assert alice.share(body_says_lasting, no_end).status_code == 201
    assert blocked(alice) == ["198.51.100.48", "198.51.100.49"]
    with world.db.write() as conn:  # what the column says wins: it is what ingest wrote
        conn.execute(
            update(objects)
            .where(objects.c.object_id == no_end["id"])
            .values(valid_until="2026-02-01T00:00:00.000000Z")
        )
    assert blocked(alice) == ["198.51.100.48"]


def test_the_migration_fills_valid_until_of_rows_stored_before_it(
    world: World, database_url: str
) -> None:
    alice = world.user(world.member())
    shared = [
        {**indicator("198.51.100.50", tlp="green"), "valid_until": PAST},
        {**indicator("198.51.100.51", tlp="green"), "valid_until": FUTURE},
        indicator("198.51.100.52", tlp="green"),
        # a body naming valid_until only in its text is not taken for one that has it
        {**indicator("198.51.100.53", tlp="green"), "description": 'no "valid_until" here'},
    ]
    assert alice.share(*shared).status_code == 201
    world.db.dispose()
    _alembic(database_url, "downgrade", "0022")
    _alembic(database_url, "upgrade", "head")
    assert stored_ends(world, *shared) == [
        "2026-02-01T00:00:00.000000Z",
        "2999-01-01T00:00:00.500000Z",
        None,
        None,
    ]
    assert blocked(alice) == ["198.51.100.51", "198.51.100.52", "198.51.100.53"]
