"""GET /api/v1/objects: filters and a cursor that stays stable while new intel arrives."""

from __future__ import annotations

from tests.factories import STIX_TIME, World, indicator, report


def test_filters(world: World) -> None:
    analyst = world.user(world.member())
    a = indicator("198.51.100.10", tlp="green") | {
        "labels": ["c2", "botnet"],
        "description": "Beacon of the FOXTROT kit",
    }
    b = indicator("198.51.100.11", tlp="amber") | {"modified": "2026-03-01T00:00:00Z"}
    rep = report([a["id"]], name="SYNTHETIC Quarterly", tlp="clear")
    analyst.share(a, b, rep)
    assert analyst.object_ids(type="report") == {rep["id"]}
    assert analyst.object_ids(type="indicator,report") == {a["id"], b["id"], rep["id"]}
    assert analyst.object_ids(id=b["id"]) == {b["id"]}
    assert analyst.object_ids(tlp="green") == {a["id"]}
    assert analyst.object_ids(tlp=["green", "amber"]) == {a["id"], b["id"]}
    assert analyst.object_ids(label="c2") == {a["id"]}
    assert analyst.object_ids(label="c") == set()
    assert analyst.object_ids(q="foxtrot") == {a["id"]}
    assert analyst.object_ids(q="198.51.100.11") == {b["id"]}
    assert analyst.object_ids(q="100%") == set()
    assert analyst.object_ids(modified_since="2026-02-01T00:00:00Z") == {b["id"]}
    assert analyst.object_ids(modified_until=STIX_TIME) == {a["id"], rep["id"]}
    assert analyst.object_ids(added_after="2000-01-01T00:00:00Z") == {a["id"], b["id"], rep["id"]}
    assert analyst.object_ids(added_after="2100-01-01T00:00:00Z") == set()


def test_added_after_splits_two_writes(world: World) -> None:
    analyst = world.user(world.member())
    first = indicator("198.51.100.20")
    analyst.share(first)
    with world.db.read() as conn:
        from sqlalchemy import select

        from shieldwall.intel.tables import change_log

        at = conn.scalar(select(change_log.c.at).where(change_log.c.action == "ingest"))
    second = indicator("198.51.100.21")
    analyst.share(second)
    assert analyst.object_ids(added_after=at) == {second["id"]}


def test_cursor_pages_are_stable_while_intel_arrives(world: World) -> None:
    analyst = world.user(world.member())
    first_batch = [indicator(f"192.0.2.{n}") for n in range(25)]
    analyst.share(*first_batch)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"type": "indicator", "limit": 10, **({"cursor": cursor} if cursor else {})}
        data = analyst.get("/api/v1/objects", params=params).json()
        seen += [o["id"] for o in data["objects"]]
        pages += 1
        if pages == 1:
            analyst.share(indicator("192.0.2.200"))  # arrives mid-way: appended, never repeated
        cursor = data["next"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 26
    assert seen[:25] == [o["id"] for o in first_batch]


def test_bad_query_parameters_are_422(world: World) -> None:
    analyst = world.user(world.member())
    for params in (
        {"cursor": "garbage!"},
        {"tlp": "purple"},
        {"added_after": "yesterday"},
        {"versions": "some"},
        {"limit": 0},
    ):
        response = analyst.get("/api/v1/objects", params=params)
        assert response.status_code == 422, params
        assert "error" in response.json()


def test_definitions_are_served(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/v1/definitions").json()
    types = [o["type"] for o in data["objects"]]
    assert types.count("marking-definition") == 5 and "extension-definition" in types
