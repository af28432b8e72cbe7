"""Large lookups answered in part by a helper process: the same answers, under the same policy,
as one process gives, and all of it here when the helper is not there or fails."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.correlate import service
from shieldwall.correlate.helper import (
    HELPER_MIN_VALUES,
    HELPER_SHARE,
    LookupHelper,
    LookupSettings,
)
from shieldwall.db import Database
from shieldwall.settings import Settings
from tests.factories import World, indicator, report

LISTS = "public-dns-v4,rfc1918,tranco"
SHARED, ORG_ONLY = "203.0.113.5", "203.0.113.9"
# Held and not held, visible and not, listed and unlisted, of every shape the lists look at;
# repeated past the helper's minimum, so both parts hold each of them.
VALUES = [
    SHARED, ORG_ONLY, "8.8.8.8", "10.1.2.3", "google.com", "login.pages.dev", "example.invalid",
    "http://www.google.com/search?q=x", "https://10.0.0.1:8443/admin", "user@gmail.com",
    "2001:4860:4860::8888", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
]  # fmt: skip
MANY = VALUES * (HELPER_MIN_VALUES // len(VALUES) + 1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.getbasetemp() / "cache")  # the session's one build of LISTS


def _app(database_url: str, cache: str, helpers: int = 1) -> FastAPI:
    settings = Settings(
        database_url=database_url,
        warninglists=LISTS,
        validation_workers=0,
        cache_dir=cache,
        lookup_helpers=helpers,
    )
    return create_app(settings)


@pytest.fixture
def here_counts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many values each lookup answered in this process had (the helper has its own)."""
    counts: list[int] = []
    lookup = service.lookup

    def counted(db: Any, viewer: Any, items: Any, **kw: Any) -> list[dict]:
        counts.append(len(items))
        return lookup(db, viewer, items, **kw)

    monkeypatch.setattr(service, "lookup", counted)
    return counts


@pytest.fixture
def served(database_url: str, cache: str) -> Iterator[tuple[FastAPI, dict[str, Any]]]:
    """An app with a helper, and what one member may and may not see of another's intel."""
    app = _app(database_url, cache)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        alice, bob = world.user(world.member()), world.user(world.member())
        shared = indicator(SHARED, tlp="green", distribution="community")
        assert bob.share(shared, report([shared["id"]], tlp="green")).status_code == 201
        assert bob.share(indicator(ORG_ONLY, tlp="amber", distribution="org")).status_code == 201
        yield app, {"alice": alice, "bob": bob, "shared": shared["id"]}


def _ask(user: Any, values: list[str]) -> list[dict]:
    response = user.post("/api/v1/lookup", json={"values": values})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["value"] for r in results] == values  # every answer, in the order asked
    return results


def _expected(database_url: str, cache: str, user: Any, values: list[str]) -> list[dict]:
    """The answers of an app that answers everything in its own process."""
    with TestClient(_app(database_url, cache, helpers=0)) as client:
        user.client = client
        return _ask(user, values)


def test_the_helper_answers_its_part_as_this_process_would(
    served: tuple[FastAPI, dict[str, Any]],
    database_url: str,
    cache: str,
    here_counts: list[int],
) -> None:
    app, world = served
    alice = world["alice"]
    app.state.lookup_helper.warm_up(LookupSettings.of(app.state.settings))
    answers = _ask(alice, MANY)
    assert 0 < sum(here_counts) < len(MANY)  # this process answered only its part
    assert app.state.lookup_helper.share != HELPER_SHARE  # the next split follows the timings
    by_value = {a["value"]: a for a in answers}
    # What alice must NOT see first: bob's organisation-only indicator, in either part.
    assert all(not a["matches"] for a in answers if a["value"] == ORG_ONLY)
    assert by_value[ORG_ONLY]["seen_by_members"] == 0
    # What she may see, with its report, in either part.
    shared = [a for a in answers if a["value"] == SHARED]
    assert all([m["id"] for m in a["matches"]] == [world["shared"]] for a in shared)
    assert all(a["seen_in_reports"] == 1 for a in shared)
    assert {w["list"] for w in by_value["8.8.8.8"]["warnings"]} >= {"public-dns-v4"}
    assert {w["list"] for w in by_value["10.1.2.3"]["warnings"]} == {"rfc1918"}
    assert answers == _expected(database_url, cache, alice, MANY)


def test_a_dead_helper_is_answered_for_here_and_replaced(
    served: tuple[FastAPI, dict[str, Any]], here_counts: list[int]
) -> None:
    app, world = served
    helper: LookupHelper = app.state.lookup_helper
    helper.warm_up(LookupSettings.of(app.state.settings))
    expected = _ask(world["alice"], MANY)
    assert helper._pool is not None
    for pid in list(helper._pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    here_counts.clear()
    assert _ask(world["alice"], MANY) == expected
    assert sum(here_counts) == len(MANY)  # all of it answered here
    helper.warm_up(LookupSettings.of(app.state.settings))  # a new helper
    here_counts.clear()
    assert _ask(world["alice"], MANY) == expected
    assert sum(here_counts) < len(MANY)


def test_small_lookups_and_a_helper_not_yet_ready_are_answered_here(
    served: tuple[FastAPI, dict[str, Any]], here_counts: list[int]
) -> None:
    app, world = served
    helper: LookupHelper = app.state.lookup_helper
    few = MANY[: HELPER_MIN_VALUES - 1]
    _ask(world["alice"], few)
    assert helper._pool is None  # no helper started for them
    # The first large lookup starts the helper but does not wait for it.
    _ask(world["alice"], MANY)
    assert helper._pool is not None
    assert here_counts == [len(few), len(MANY)]


def test_no_helper_when_none_is_wanted(
    database_url: str, cache: str, here_counts: list[int]
) -> None:
    app = _app(database_url, cache, helpers=0)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        _ask(world.user(world.member()), MANY)
        _ask(world.user(world.member()), MANY)
        assert app.state.lookup_helper._pool is None
    assert here_counts == [len(MANY), len(MANY)]


def test_unreadable_values_in_either_part_are_all_named(
    served: tuple[FastAPI, dict[str, Any]],
) -> None:
    app, world = served
    helper: LookupHelper = app.state.lookup_helper
    helper.warm_up(LookupSettings.of(app.state.settings))
    pool = helper._pool
    expected = _ask(world["alice"], MANY)
    last = len(MANY) - 2  # in the helper's part
    for wrong in ([3, last], [last], [3]):
        values: list[Any] = list(MANY)
        for index in wrong:
            values[index] = {"kind": "ipv4", "value": f"not an address {index}"}
        response = world["alice"].post("/api/v1/lookup", json={"values": values})
        assert response.status_code == 200, response.text
        answer = response.json()
        # Named by their positions in the whole lookup, whichever part held them...
        assert [(u["index"], u["value"]) for u in answer["unreadable"]] == [
            (i, f"not an address {i}") for i in wrong
        ]
        # ...and the others answered as ever.
        assert answer["results"] == [a for i, a in enumerate(expected) if i not in wrong]
    assert helper._pool is pool  # a client's mistake is not the helper's failure


def test_the_split_follows_how_fast_each_side_answered(db: Any) -> None:
    helper = LookupHelper(db)
    assert helper.share == HELPER_SHARE
    for _ in range(30):  # the helper took twice as long per value: it should get a third
        helper._rebalance(6000, 0.12, 4000, 0.16)
    assert helper.share == pytest.approx(1 / 3, abs=0.01)
    for _ in range(30):  # however slow it is, it keeps a part, and this process too
        helper._rebalance(9000, 0.01, 1000, 10.0)
    assert helper.share == pytest.approx(0.1)


def test_no_helper_for_a_database_only_this_process_has() -> None:
    memory = Database("sqlite://")
    try:
        assert LookupHelper(memory).helpers == 0
    finally:
        memory.dispose()


def test_large_lookups_at_the_same_time_each_get_their_own_answers(
    served: tuple[FastAPI, dict[str, Any]],
) -> None:
    app, world = served
    app.state.lookup_helper.warm_up(LookupSettings.of(app.state.settings))
    expected = _ask(world["alice"], MANY)
    # Different values in each, so that answers crossing between them would show.
    others = [v for v in MANY if v != SHARED] + [SHARED]
    expected_others = _ask(world["alice"], others)
    with ThreadPoolExecutor(4) as pool:
        asked = [pool.submit(_ask, world["alice"], v) for v in (MANY, others, MANY, others)]
        answers = [future.result() for future in asked]
    assert answers == [expected, expected_others, expected, expected_others]
