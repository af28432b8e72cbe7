"""One lookup cannot exhaust the machine (issue 12): a value asked many times is looked up once,
and a range touches at most a bounded number of index rows, answered as too common to list past
it. Through the API on both databases; the statements counted with an engine event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from shieldwall.correlate import matches
from tests.factories import World, indicator


@contextmanager
def _statements(world: World) -> Iterator[list[str]]:
    """The SQL statements the database is sent meanwhile."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = world.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _range_queries(statements: list[str]) -> int:
    """Statements that look for addresses inside an asked range."""
    return sum(" BETWEEN " in s for s in statements)


def test_a_range_asked_many_times_is_looked_up_once(world: World) -> None:
    analyst = world.user(world.member())
    assert analyst.share(*(indicator(f"198.51.100.{i}") for i in range(1, 6))).status_code == 201
    asked = {"kind": "ipv4-cidr", "value": "198.51.100.0/24"}
    with _statements(world) as once:
        single = analyst.post("/api/v1/lookup", json={"values": [asked]}).json()
    with _statements(world) as repeated:
        many = analyst.post("/api/v1/lookup", json={"values": [asked] * 100}).json()
    assert _range_queries(once) == _range_queries(repeated) == 1
    assert len(many["results"]) == 100
    assert all(result == single["results"][0] for result in many["results"])
    assert len(single["results"][0]["matches"]) == 5


def test_exact_values_asked_many_times_answer_alike(world: World) -> None:
    analyst = world.user(world.member())
    shared = indicator("198.51.100.7")
    assert analyst.share(shared).status_code == 201
    values = ["198.51.100.7", "198.51.100.8"] * 50
    answer = analyst.post("/api/v1/lookup", json={"values": values}).json()
    assert [r["value"] for r in answer["results"]] == values
    assert all(r["matches"][0]["id"] == shared["id"] for r in answer["results"][::2])
    assert all(r["matches"] == [] for r in answer["results"][1::2])


def test_a_range_holding_more_than_the_bound_is_answered_as_too_common_to_list(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matches, "MAX_RANGE_ROWS", 4)
    analyst = world.user(world.member())
    assert analyst.share(*(indicator(f"198.51.100.{i}") for i in range(1, 6))).status_code == 201
    assert analyst.share(*(indicator(f"203.0.113.{i}") for i in range(1, 5))).status_code == 201
    wide = {"kind": "ipv4-cidr", "value": "198.51.100.0/24"}
    within = {"kind": "ipv4-cidr", "value": "203.0.113.0/24"}
    answer = analyst.post("/api/v1/lookup", json={"values": [wide, within]}).json()
    too_many, listed = answer["results"]
    assert too_many["matches"] == [] and too_many["noisy_values"] == ["ipv4-cidr:198.51.100.0/24"]
    assert len(listed["matches"]) == 4 and listed["noisy_values"] == []


def test_an_object_holding_a_wide_range_correlates_without_listing_all_of_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matches, "MAX_RANGE_ROWS", 4)
    analyst = world.user(world.member())
    assert analyst.share(*(indicator(f"198.51.100.{i}") for i in range(1, 6))).status_code == 201
    wide = {**indicator(), "pattern": "[ipv4-addr:value = '198.51.100.0/24']"}
    assert analyst.share(wide).status_code == 201
    answer = analyst.get(f"/api/v1/objects/{wide['id']}/correlations").json()
    assert answer["matches"] == []
    assert answer["noisy_values"] == ["ipv4-cidr:198.51.100.0/24"]
