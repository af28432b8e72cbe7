"""Inputs that reached a server error (issue 12), each through the real API on both databases:
the same input gets the same clean 4xx answer on SQLite and PostgreSQL, and stores nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, update

from shieldwall.intel.tables import objects
from tests.factories import World, indicator, report, stix_id

NUL = "\u0000"


def _assert_error(response: Any, status: int) -> dict[str, Any]:
    """The answer is `status` in the JSON error shape; its error part is returned."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    return error


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda o: o.update(name=f"bad{NUL}name"), "name"),
        (lambda o: o.update(description=f"{NUL}"), "description"),
        (lambda o: o.update(pattern=f"[ipv4-addr:value = '198.51.100.{NUL}']"), "pattern"),
        (lambda o: o.update(labels=["fine", f"x{NUL}"]), "labels[1]"),
        (lambda o: o.update(x_custom={"deep": [{"deeper": f"a{NUL}"}]}), "x_custom.deep[0].deeper"),
        (lambda o: o.update(x_custom={f"key{NUL}": 1}), "x_custom"),
        (lambda o: o.update(external_references=[{"source_name": "s", "url": f"u{NUL}"}]),
         "external_references[0].url"),
    ],
)  # fmt: skip
def test_a_nul_anywhere_in_a_bundle_is_refused_naming_the_property(
    world: World, change: Any, where: str
) -> None:
    """PostgreSQL cannot store NUL in text: refused everywhere, so both databases agree."""
    analyst = world.user(world.member())
    obj = indicator("198.51.100.9")
    change(obj)
    error = _assert_error(analyst.share(obj), 422)
    assert {(d["index"], d["property"]) for d in error["details"]} == {(0, where)}
    assert any("NUL" in d["message"] for d in error["details"])
    assert obj["id"] not in analyst.object_ids()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/objects", {"q": NUL}),
        ("/api/v1/objects", {"type": NUL}),
        ("/api/v1/objects", {"label": f"apt{NUL}"}),
        ("/api/v1/objects", {"id": f"indicator--{NUL}"}),
        ("/api/v1/objects", {"created_by": NUL}),
        ("/api/v1/search", {"q": f"word{NUL}"}),
        ("/api/v1/search", {"q": "198.51.100.7", "mode": "value", "kind": f"ipv4{NUL}"}),
        ("/api/v1/sightings", {"value": f"198.51.100.7{NUL}"}),
        ("/api/v1/exports/blocklist", {"kind": f"ipv4{NUL}"}),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_422_on_both_databases(
    world: World, path: str, params: dict[str, str]
) -> None:
    """On SQLite a NUL used to cut a LIKE pattern short (matching everything); on PostgreSQL it
    was a 500. Nothing stored can hold one, so it is refused, naming the parameter."""
    analyst = world.user(world.member())
    analyst.share(indicator("198.51.100.7"))
    error = _assert_error(analyst.get(path, params=params), 422)
    assert any(name in error["message"] for name in params), error
    assert "NUL" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/objects/indicator--{NUL}",
        f"/api/v1/objects/indicator--{NUL}/correlations",
        f"/api/v1/objects/indicator--{NUL}/score",
        f"/api/v1/reports/report--{NUL}",
        f"/api/v1/members/{NUL}",
        f"/api/v1/groups/{NUL}",
    ],
)
def test_a_nul_in_a_path_id_is_a_clean_4xx(world: World, path: str) -> None:
    analyst = world.user(world.member())
    response = analyst.get(path.replace(NUL, "%00"))
    assert response.status_code in (404, 422), response.text
    _assert_error(response, response.status_code)


def test_an_audit_position_past_any_integer_is_refused(world: World) -> None:
    admin = world.admin()
    error = _assert_error(
        admin.get("/api/v1/audit", params={"after": "465917865717468889088"}), 422
    )
    assert "after" in error["message"] or error["details"]
    assert admin.get("/api/v1/audit", params={"after": str(2**63 - 1)}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/objects", "/api/v1/search"])
@pytest.mark.parametrize("raw", ["pk:99999999999999999999999", "pk:-1", "pk:", "x", "pk:1:1"])
def test_a_forged_cursor_is_a_422(world: World, path: str, raw: str) -> None:
    analyst = world.user(world.member())
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    params = {"cursor": cursor, **({"q": "word"} if path.endswith("search") else {})}
    error = _assert_error(analyst.get(path, params=params), 422)
    assert "cursor" in error["message"]


@pytest.mark.parametrize("name", ["q", "label", "created_by"])
def test_a_very_long_filter_is_refused_not_a_server_error(world: World, name: str) -> None:
    """SQLite refused a LIKE pattern of 50,000 characters with an error of its own."""
    analyst = world.user(world.member())
    error = _assert_error(analyst.get("/api/v1/objects", params={name: "a" * 50_000}), 422)
    assert [d["property"] for d in error["details"]] == [f"query.{name}"]


def test_a_long_free_text_filter_within_the_limit_still_finds(world: World) -> None:
    analyst = world.user(world.member())
    obj = {**indicator("198.51.100.7"), "description": "x" * 900 + " needle"}
    assert analyst.share(obj).status_code == 201
    found = analyst.get("/api/v1/objects", params={"q": "x" * 500 + " needle"})
    assert [o["id"] for o in found.json()["objects"]] == [obj["id"]]


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"level": value}
    return value


@pytest.mark.parametrize("depth", [65, 254, 900])
def test_custom_properties_nested_too_deep_are_refused(world: World, depth: int) -> None:
    """The JSON reader takes 1,024 levels and the writer 254: the validator stops well before
    either, with a clear 422, rather than storing what cannot be written back."""
    analyst = world.user(world.member())
    obj = {**indicator(), "x_deep": _nested(depth)}
    error = _assert_error(analyst.share(obj), 422)
    assert [d["property"] for d in error["details"]] == ["x_deep"]
    assert "nest" in error["details"][0]["message"]


def test_custom_properties_nested_within_the_limit_are_kept(world: World) -> None:
    analyst = world.user(world.member())
    obj = {**indicator(), "x_deep": _nested(40)}
    assert analyst.share(obj).status_code == 201
    got = analyst.get(f"/api/v1/objects/{obj['id']}").json()["objects"][0]
    assert got["x_deep"] == obj["x_deep"]


def test_sanitize_with_an_unknown_kind_to_keep_is_a_422(world: World) -> None:
    reader = world.user(world.member(), "reader")
    error = _assert_error(reader.post("/api/v1/sanitize", json={"text": "", "keep": [""]}), 422)
    assert "keep" in error["message"] or error["details"]


def test_a_sighting_of_an_unknown_kind_is_a_422(world: World) -> None:
    analyst = world.user(world.member())
    sent = {"sightings": [{"value": "198.51.100.7", "value_kind": "colour"}]}
    _assert_error(analyst.post("/api/v1/sightings", json=sent), 422)


def test_an_unknown_object_id_of_any_shape_is_a_404(world: World) -> None:
    analyst = world.user(world.member())
    for object_id in (stix_id("indicator"), "x" * 5000, "indicator--", "%20"):
        response = analyst.get(f"/api/v1/objects/{object_id}")
        assert response.status_code in (404, 422), (object_id, response.text)


def test_a_leap_second_is_read_wherever_timestamps_are(world: World) -> None:
    """STIX timestamps may name second 60 (RFC 3339 §5.6); found by fuzzing the timestamp
    parser: stored, it made scores, lookups and blocklists of the indicator a 500."""
    analyst = world.user(world.member())
    leap = "2026-01-15T10:00:60.000Z"
    obj = {**indicator("198.51.100.7"), "modified": leap}
    assert analyst.share(obj).status_code == 201
    sighting = {"sightings": [{"value": "198.51.100.7", "seen_at": "2026-01-31T23:59:60Z"}]}
    assert analyst.post("/api/v1/sightings", json=sighting).status_code == 201
    score = analyst.get(f"/api/v1/objects/{obj['id']}/score", params={"at": "2026-02-28T23:59:60Z"})
    assert score.status_code == 200 and score.json()["score"] > 0
    looked_up = analyst.post("/api/v1/lookup", json={"values": ["198.51.100.7"]})
    assert looked_up.json()["results"][0]["matches"][0]["id"] == obj["id"]
    listed = analyst.get("/api/v1/exports/blocklist", params={"kind": "ipv4", "min_score": 0})
    assert listed.text == "198.51.100.7\n"


def test_objects_stored_with_a_nul_before_it_was_refused_still_read(world: World) -> None:
    """On PostgreSQL one such object made its blocklist, score and lookups a server error (its
    JSON could not be read there at all). Written into the table as an older server stored it."""
    analyst = world.user(world.member())
    shared = {**indicator("198.51.100.7"), "x_note": "fine"}
    container = report([shared["id"]], name="SYNTHETIC report")
    container["x_note"] = "fine"
    assert analyst.share(shared, container).status_code == 201
    with world.db.write() as conn:
        conn.execute(
            update(objects)
            .where(objects.c.object_id.in_([shared["id"], container["id"]]))
            .values(body=func.replace(objects.c.body, '"fine"', '"fi\\u0000ne"'))
        )
    sighting = {"sightings": [{"value": "198.51.100.7"}]}
    assert analyst.post("/api/v1/sightings", json=sighting).status_code == 201
    assert analyst.get(f"/api/v1/objects/{shared['id']}/score").status_code == 200
    listed = analyst.get("/api/v1/exports/blocklist", params={"kind": "ipv4", "min_score": 0})
    assert listed.status_code == 200 and listed.text == "198.51.100.7\n"
    answer = analyst.post("/api/v1/lookup", json={"values": ["198.51.100.7"]}).json()
    assert answer["reports"] == {container["id"]: {"type": "report", "name": "SYNTHETIC report"}}
