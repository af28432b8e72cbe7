"""Warning lists matched in a helper process: the same answers as here, and here when it fails."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.correlate.observables import normalise
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.matcher import HELPER_MIN_VALUES, WarningMatcher
from shieldwall.sightings.warninglists import WarningLists
from tests.factories import World

LISTS = "public-dns-v4,rfc1918,tranco"
# Listed and unlisted values of every shape the lists look at, repeated past the helper's minimum.
VALUES = [
    "8.8.8.8", "10.1.2.3", "192.0.2.1", "google.com", "login.pages.dev", "example.invalid",
    "http://www.google.com/search?q=x", "https://10.0.0.1:8443/admin", "user@gmail.com",
    "2001:4860:4860::8888", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
]  # fmt: skip
ITEMS = [normalise("auto", v) for v in VALUES] * (HELPER_MIN_VALUES // len(VALUES) + 1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.getbasetemp() / "cache")  # the session's one build of LISTS


@pytest.fixture
def matcher(cache: str) -> Iterator[WarningMatcher]:
    matcher = WarningMatcher(LISTS, cache)
    yield matcher
    matcher.close()


def _here(cache: str) -> list:
    lists = warning_lists(LISTS, cache)
    assert lists is not None
    return [lists.match(item.kind, item.value) for item in ITEMS]


def test_the_helper_answers_as_matching_here_would(
    matcher: WarningMatcher, cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _here(cache)
    assert any(expected) and not all(expected)  # listed values and unlisted ones
    matcher.warm_up()

    def not_here(*_: object) -> None:
        raise AssertionError("matched in this process, not in the helper")

    monkeypatch.setattr(WarningLists, "match", not_here)  # the helper has its own copy
    assert matcher.start(ITEMS)() == expected


def test_a_dead_helper_is_answered_for_here_and_replaced(
    matcher: WarningMatcher, cache: str
) -> None:
    matcher.warm_up()
    assert matcher._pool is not None
    for pid in list(matcher._pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    assert matcher.start(ITEMS)() == _here(cache)
    matcher.warm_up()  # a new helper
    assert matcher.start(ITEMS)() == _here(cache)


def test_small_lookups_and_a_helper_not_yet_ready_are_matched_here(
    matcher: WarningMatcher, cache: str
) -> None:
    few = ITEMS[: HELPER_MIN_VALUES - 1]
    assert matcher.start(few)() == _here(cache)[: len(few)]
    assert matcher._pool is None  # no helper started for them
    # The first large lookup starts the helper but does not wait for it.
    assert matcher.start(ITEMS)() == _here(cache)


def test_no_helper_when_none_is_wanted_or_no_list_is_selected(cache: str) -> None:
    for matcher in (WarningMatcher(LISTS, cache, helpers=0), WarningMatcher("none", cache)):
        found = matcher.start(ITEMS)()
        assert matcher._pool is None
        assert found == (_here(cache) if matcher.helpers == 0 else [()] * len(ITEMS))


def test_a_large_lookup_through_the_api_gets_its_warnings_from_the_helper(
    database_url: str, cache: str
) -> None:
    settings = Settings(
        database_url=database_url, warninglists=LISTS, validation_workers=0, cache_dir=cache
    )
    app = create_app(settings)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        analyst = world.user(world.member())
        app.state.matcher.warm_up()
        response = analyst.post("/api/v1/lookup", json={"values": [i.value for i in ITEMS]})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
    by_value = {r["value"]: {w["list"] for w in r["warnings"]} for r in results}
    assert "public-dns-v4" in by_value["8.8.8.8"]
    assert by_value["10.1.2.3"] == {"rfc1918"}
    assert by_value["example.invalid"] == set()
    assert len(results) == len(ITEMS)
