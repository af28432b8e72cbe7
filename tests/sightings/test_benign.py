"""Warning lists at work: benign values are flagged, shown in lookups and never correlated."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.settings import Settings
from shieldwall.sightings.benign import parse_selection
from tests.factories import World, indicator

LISTS = "public-dns-v4,rfc1918,tranco"


@pytest.fixture
def listed(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    cache = str(tmp_path_factory.getbasetemp() / "cache")  # one build for the whole session
    settings = Settings(
        database_url=database_url, warninglists=LISTS, validation_workers=0, cache_dir=cache
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def pattern(p: str) -> dict:
    return {**indicator(), "pattern": p}


def test_benign_values_never_correlate_and_lookups_say_why(listed: World) -> None:
    a, b = listed.user(listed.member()), listed.user(listed.member())
    resolver_a, resolver_b = indicator("8.8.8.8"), indicator("8.8.8.8")
    evil_a = pattern("[domain-name:value = 'login.pages.dev']")
    evil_b = pattern("[domain-name:value = 'login.pages.dev']")
    top_a, top_b = (pattern("[domain-name:value = 'google.com']") for _ in range(2))
    for user, objs in ((a, (resolver_a, evil_a, top_a)), (b, (resolver_b, evil_b, top_b))):
        assert (
            user.share(*[{**o, "object_marking_refs": []} | _green(o) for o in objs]).status_code
            == 201
        )
    assert a.get(f"/api/v1/objects/{resolver_a['id']}/correlations").json()["matches"] == []
    assert a.get(f"/api/v1/objects/{top_a['id']}/correlations").json()["matches"] == []
    # a subdomain of a top site is not benign for all that: it still correlates
    matched = a.get(f"/api/v1/objects/{evil_a['id']}/correlations").json()["matches"]
    assert [m["id"] for m in matched] == [evil_b["id"]]
    looked = a.post("/api/v1/lookup", json={"values": ["8.8.8.8", "10.1.2.3"]}).json()["results"]
    assert {w["list"] for w in looked[0]["warnings"]} >= {"public-dns-v4"}
    # Held by both members, and benign: shown, flagged (as MISP flags such attributes), and
    # left out for a caller that asks.
    assert {m["id"] for m in looked[0]["matches"]} == {resolver_a["id"], resolver_b["id"]}
    assert all(m["warninglisted"] for m in looked[0]["matches"])
    assert [w["list"] for w in looked[1]["warnings"]] == ["rfc1918"]
    dropped = a.post(
        "/api/v1/lookup", json={"values": ["8.8.8.8"], "exclude_warninglisted": True}
    ).json()["results"]
    assert dropped[0]["matches"] == []


def _green(obj: dict) -> dict:
    from tests.factories import marked

    return marked(obj, tlp="green", distribution="community")


def test_the_selection_setting() -> None:
    assert parse_selection("none") == ()
    assert parse_selection("all") is None
    assert parse_selection("rfc1918,tranco") == ("rfc1918", "tranco")
    assert "rfc5735" not in (parse_selection("all,-rfc5735") or ())
    with pytest.raises(ValueError, match="unknown warning list"):
        parse_selection("all,-nope")
