"""TAXII 2.1 §3.4-3.6 on the read endpoints: filters with the spec's defaults, date-added order
and headers, keyset paging with an opaque `next` bound to its query, and versions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shieldwall.app import create_app
from shieldwall.settings import Settings
from tests.factories import World, indicator, report
from tests.taxii.helpers import TIMESTAMP_6, Taxii

V2 = "2026-02-01T10:00:00.000Z"
V3 = "2026-03-01T10:00:00.123456Z"
STIX_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@pytest.fixture
def store(world: World) -> dict[str, Any]:
    """Alice's inbox: three writes; an indicator with three versions, the last in a write of
    its own; a report; three more indicators."""
    alice = Taxii(world, world.user(world.member("A")))
    inbox = alice.inbox()
    versioned = indicator("198.51.100.1")
    others = [indicator(f"198.51.100.{i}") for i in range(2, 5)]
    story = report([versioned["id"]])
    alice.add(inbox, versioned, {**versioned, "modified": V2}, story)
    alice.add(inbox, *others)
    alice.add(inbox, {**versioned, "modified": V3})
    manifest = alice.get(f"/collections/{inbox}/manifest/", {"match[version]": "all"}).json()
    return {
        "alice": alice,
        "inbox": inbox,
        "versioned": versioned["id"],
        "report": story["id"],
        "others": [o["id"] for o in others],
        "manifest": manifest["objects"],
    }


def _objects(alice: Taxii, inbox: str, **params: Any) -> list[dict[str, Any]]:
    response = alice.get(f"/collections/{inbox}/objects/", params)
    assert response.status_code == 200, response.text
    return response.json().get("objects", [])


def test_latest_versions_in_date_added_order_by_default(store: dict[str, Any]) -> None:
    alice, inbox = store["alice"], store["inbox"]
    got = [
        (o["id"], o.get("modified"))
        for o in _objects(alice, inbox, **{"match[type]": "indicator,report"})
    ]
    assert got == [
        (store["report"], "2026-01-15T10:00:00.000Z"),
        *[(i, "2026-01-15T10:00:00.000Z") for i in store["others"]],
        (store["versioned"], V3),
    ]
    added = [m["date_added"] for m in store["manifest"]]
    assert added == sorted(added) and all(TIMESTAMP_6.fullmatch(a) for a in added)
    assert all(TIMESTAMP_6.fullmatch(m["version"]) for m in store["manifest"])


def test_match_version_first_last_all_timestamps_and_combinations(store: dict[str, Any]) -> None:
    alice, inbox, versioned = store["alice"], store["inbox"], store["versioned"]

    def versions(value: str) -> list[str]:
        return [
            o["modified"]
            for o in _objects(alice, inbox, **{"match[id]": versioned, "match[version]": value})
        ]

    assert versions("last") == [V3]
    assert versions("first") == ["2026-01-15T10:00:00.000Z"]
    assert versions("all") == ["2026-01-15T10:00:00.000Z", V2, V3]
    assert versions("first,last") == ["2026-01-15T10:00:00.000Z", V3]
    assert versions("2026-02-01T10:00:00Z") == [V2]  # any precision names the same instant
    assert versions("2026-02-01T10:00:00.000000Z,last") == [V2, V3]
    assert versions("2026-02-02T10:00:00Z") == []
    by_object = alice.get(
        f"/collections/{inbox}/objects/{versioned}/", {"match[version]": "first"}
    ).json()["objects"]
    assert [o["modified"] for o in by_object] == ["2026-01-15T10:00:00.000Z"]
    assert [
        o["modified"]
        for o in alice.get(f"/collections/{inbox}/objects/{versioned}/").json()["objects"]
    ] == [V3]


def test_match_id_type_and_spec_version(store: dict[str, Any]) -> None:
    alice, inbox, others = store["alice"], store["inbox"], store["others"]
    got = {o["id"] for o in _objects(alice, inbox, **{"match[id]": f"{others[0]},{others[1]}"})}
    assert got == {others[0], others[1]}
    repeated = alice.get(
        f"/collections/{inbox}/objects/", [("match[id]", others[0]), ("match[id]", others[2])]
    ).json()
    assert {o["id"] for o in repeated["objects"]} == {others[0], others[2]}
    assert {o["type"] for o in _objects(alice, inbox, **{"match[type]": "report"})} == {"report"}
    assert _objects(alice, inbox, **{"match[type]": "malware"}) == []
    assert len(_objects(alice, inbox, **{"match[spec_version]": "2.1"})) == len(
        _objects(alice, inbox)
    )
    for endpoint in (
        "objects/",
        "manifest/",
        f"objects/{others[0]}/",
        f"objects/{others[0]}/versions/",
    ):
        response = alice.get(f"/collections/{inbox}/{endpoint}", {"match[spec_version]": "2.0"})
        assert response.status_code == 200 and response.content == b"{}", endpoint
        assert "X-TAXII-Date-Added-First" not in response.headers


def test_added_after_is_exclusive_and_headers_bound_each_page(store: dict[str, Any]) -> None:
    alice, inbox, manifest = store["alice"], store["inbox"], store["manifest"]
    second_write = next(m for m in manifest if m["id"] == store["others"][0])["date_added"]
    response = alice.get(f"/collections/{inbox}/objects/", {"added_after": second_write})
    assert [o["id"] for o in response.json()["objects"]] == [store["versioned"]]
    last = next(m for m in manifest if m["version"] == "2026-03-01T10:00:00.123456Z")
    assert response.headers["X-TAXII-Date-Added-First"] == last["date_added"]
    assert response.headers["X-TAXII-Date-Added-Last"] == last["date_added"]
    assert (
        alice.get(f"/collections/{inbox}/objects/", {"added_after": last["date_added"]}).content
        == b"{}"
    )
    # A microsecond before the second write: it and the third.
    before = datetime.fromisoformat(second_write) - timedelta(microseconds=1)
    ids = [o["id"] for o in _objects(alice, inbox, added_after=before.strftime(STIX_FORMAT))]
    assert ids == [*store["others"], store["versioned"]]
    for endpoint in (
        "objects/",
        "manifest/",
        f"objects/{store['versioned']}/",
        f"objects/{store['versioned']}/versions/",
    ):
        response = alice.get(f"/collections/{inbox}/{endpoint}")
        first, last_header = (
            response.headers["X-TAXII-Date-Added-First"],
            response.headers["X-TAXII-Date-Added-Last"],
        )
        assert TIMESTAMP_6.fullmatch(first) and TIMESTAMP_6.fullmatch(last_header)
        assert first <= last_header


def test_paging_with_next_and_more_on_objects_manifest_and_versions(store: dict[str, Any]) -> None:
    alice, inbox = store["alice"], store["inbox"]
    for endpoint, key, params in (
        ("objects/", "objects", {"match[version]": "all"}),
        ("manifest/", "objects", {"match[version]": "all"}),
        (f"objects/{store['versioned']}/versions/", "versions", {}),
        (f"objects/{store['versioned']}/", "objects", {"match[version]": "all"}),
    ):
        whole = alice.get(f"/collections/{inbox}/{endpoint}", params).json()
        assert whole["more"] is False and "next" not in whole
        pages, query = [], {**params, "limit": 2}
        while True:
            page = alice.get(f"/collections/{inbox}/{endpoint}", query).json()
            pages.append(page)
            if not page["more"]:
                break
            assert page["next"]
            query["next"] = page["next"]
        assert [item for p in pages for item in p[key]] == whole[key], endpoint
        assert all(len(p[key]) == 2 for p in pages[:-1]) and len(pages) > 1


def test_next_is_bound_to_its_query_and_survives_a_restart(
    store: dict[str, Any], database_url: str
) -> None:
    alice, inbox = store["alice"], store["inbox"]
    first = alice.get(f"/collections/{inbox}/objects/", {"limit": 2}).json()
    token = first["next"]
    for params in (
        {"match[type]": "report"},
        {"added_after": "2020-01-01T00:00:00Z"},
        {"match[version]": "all"},
    ):
        response = alice.get(
            f"/collections/{inbox}/objects/", {**params, "limit": 2, "next": token}
        )
        assert response.status_code == 400, params
    assert (
        alice.get(f"/collections/{inbox}/manifest/", {"limit": 2, "next": token}).status_code == 400
    )
    for forged in ("x", "cGs6OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "cGs6MQ", ""):
        response = alice.get(f"/collections/{inbox}/objects/", {"next": forged})
        assert response.status_code == 400, forged
        assert response.json()["http_status"] == "400"
    # Another process (a new app on the same database) continues the same query.
    from fastapi.testclient import TestClient

    other = create_app(
        Settings(database_url=database_url, warninglists="none", validation_workers=0)
    )
    with TestClient(other) as client:
        response = client.get(
            f"/taxii2/shieldwall/collections/{inbox}/objects/",
            params={"limit": 2, "next": token},
            headers=alice.headers,
        )
        assert response.status_code == 200
        second = response.json()["objects"]
    assert (
        second
        == alice.get(f"/collections/{inbox}/objects/", {"limit": 2, "next": token}).json()[
            "objects"
        ]
    )
    assert {o["id"] for o in second}.isdisjoint({o["id"] for o in first["objects"]})


def test_limit_is_a_positive_integer_capped_by_the_server(store: dict[str, Any]) -> None:
    alice, inbox = store["alice"], store["inbox"]
    for bad in ("0", "-1", "abc", "1.5", ""):
        assert alice.get(f"/collections/{inbox}/objects/", {"limit": bad}).status_code == 400
    assert len(_objects(alice, inbox, limit=10**30)) == len(_objects(alice, inbox))
    assert len(_objects(alice, inbox, limit=1)) == 1


def test_malformed_or_unknown_filters_are_400(store: dict[str, Any]) -> None:
    alice, inbox, versioned = store["alice"], store["inbox"], store["versioned"]
    objects, one = f"/collections/{inbox}/objects/", f"/collections/{inbox}/objects/{versioned}/"
    for path, params in (
        (objects, {"added_after": "yesterday"}),
        (objects, {"added_after": "2026-01-01"}),
        (objects, [("added_after", "2026-01-01T00:00:00Z")] * 2),
        (objects, {"match[id]": "not-an-id"}),
        (objects, {"match[id]": ""}),
        (objects, {"match[type]": "Indicator"}),
        (objects, {"match[type]": "indicator,"}),
        (objects, {"match[version]": "newest"}),
        (objects, {"match[spec_version]": "two"}),
        (objects, {"match[colour]": "red"}),
        (objects, {"tpye": "indicator"}),
        (one, {"match[type]": "indicator"}),
        (one, {"match[id]": versioned}),
        (f"{one}versions/", {"match[version]": "all"}),
        (f"/collections/{inbox}/", {"limit": "1"}),
    ):
        response = alice.get(path, params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["http_status"] == "400"
    assert alice.delete(one, {"limit": "1"}).status_code == 400


def test_an_empty_result_is_an_empty_object(store: dict[str, Any]) -> None:
    alice, inbox = store["alice"], store["inbox"]
    for endpoint in ("objects/", "manifest/"):
        response = alice.get(f"/collections/{inbox}/{endpoint}", {"match[type]": "malware"})
        assert response.status_code == 200 and response.content == b"{}"
        assert "X-TAXII-Date-Added-Last" not in response.headers


def test_delete_removes_every_version_unless_told_which(store: dict[str, Any]) -> None:
    alice, inbox, versioned = store["alice"], store["inbox"], store["versioned"]
    one = f"/collections/{inbox}/objects/{versioned}/"
    assert alice.delete(one, {"match[version]": "last"}).status_code == 200
    assert [o["modified"] for o in alice.get(one).json()["objects"]] == [V2]
    assert alice.get(f"{one}versions/").json()["versions"] == [
        "2026-01-15T10:00:00.000000Z",
        "2026-02-01T10:00:00.000000Z",
    ]
    assert alice.delete(one, {"match[version]": "2026-03-01T00:00:00Z"}).status_code == 404
    assert alice.delete(one).status_code == 200
    assert alice.get(one).status_code == 404
    assert alice.get(f"/collections/{inbox}/objects/", {"match[id]": versioned}).content == b"{}"
    assert alice.delete(one).status_code == 404
