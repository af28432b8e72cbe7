"""What a new analyst's mistakes get back: every error of a bundle in one answer, properties
named as the API names them, misspelt parameters and types refused with the valid choices, and
a page smaller than asked for saying so."""

from __future__ import annotations

import pytest

from tests.factories import World, indicator, marked


def test_schema_errors_and_a_tlp_cap_come_back_together(world: World) -> None:
    analyst = world.user(world.member())
    broken = {**indicator(), "valid_from": "yesterday"}
    too_wide = marked(indicator("198.51.100.70"), tlp="red", distribution="community")
    response = analyst.share(broken, too_wide)
    assert response.status_code == 422
    details = {(d["index"], d["property"]) for d in response.json()["error"]["details"]}
    assert details == {(0, "valid_from"), (1, "object_marking_refs")}


def test_a_bad_sighting_type_is_reported_as_type(world: World) -> None:
    analyst = world.user(world.member())
    response = analyst.post(
        "/api/v1/sightings",
        json={"sightings": [{"value": "198.51.100.7", "type": "spotted"},
                            {"value": "198.51.100.8", "value_kind": "colour"}]},
    )  # fmt: skip
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(d["index"], d["property"]) for d in details] == [(0, "type"), (1, "value_kind")]
    assert "seen, false-positive, expired" in details[0]["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/objects", {"tpye": "indicator"}),
        ("/api/v1/objects", {"type": "indicator", "lable": "apt"}),
        ("/api/v1/search", {"q": "x", "colour": "red"}),
        ("/api/v1/members", {"kind": "industry"}),
    ],
)
def test_unknown_query_parameters_are_refused_naming_the_valid_ones(
    world: World, path: str, params: dict
) -> None:
    analyst = world.user(world.member())
    response = analyst.get(path, params=params)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "unknown query parameter" in message and "this route takes" in message


@pytest.mark.parametrize(
    ("path", "extra"), [("/api/v1/objects", {}), ("/api/v1/search", {"q": "x"})]
)
def test_types_that_are_not_stix_types_are_refused(world: World, path: str, extra: dict) -> None:
    analyst = world.user(world.member())
    response = analyst.get(path, params={"type": "indicators", **extra})
    assert response.status_code == 422
    assert "'indicators'" in response.json()["error"]["message"]
    assert "indicator" in response.json()["error"]["message"]
    assert analyst.get(path, params={"type": "x-custom-thing", **extra}).status_code == 200


def test_a_page_says_how_large_it_may_be(world: World) -> None:
    analyst = world.user(world.member())
    response = analyst.get("/api/v1/objects", params={"limit": 5000})
    assert response.status_code == 200
    assert response.headers["X-Shieldwall-Limit"] == "1000"
    assert analyst.get("/api/v1/objects", params={"limit": 7}).headers["X-Shieldwall-Limit"] == "7"
