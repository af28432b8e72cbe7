"""One id, several members' copies: an object's id is its first sharer's. A member that cannot
see an object may still send one with its id (refusing it would tell that the id is taken), but
whoever sees both copies is shown the first sharer's, never a later copy that claims the id with
an older or a newer `modified` (the "may NOT" cases first)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import World, indicator, report

EARLY, LATE = "2001-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z"


def impostor(original: dict[str, Any], modified: str) -> dict[str, Any]:
    """Another member's object under `original`'s id, dated `modified`."""
    fake = indicator("192.0.2.250", tlp="green", distribution="community")
    return {**fake, "id": original["id"], "name": "Spoofed", "created": modified,
            "modified": modified, "valid_from": modified}  # fmt: skip


@pytest.mark.parametrize("modified", [EARLY, LATE])
def test_a_later_copy_under_anothers_id_never_replaces_it_in_a_report_or_by_id(
    world: World, modified: str
) -> None:
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    group = world.group([a, c])
    alice, bob, carol = world.user(a), world.user(b), world.user(c)
    real = indicator("198.51.100.70", tlp="amber", distribution="group", group=group)
    real["name"] = "Real"
    story = report([real["id"]], name="Story", tlp="green", distribution="community")
    assert alice.share(real).status_code == 201
    assert alice.share(story).status_code == 201
    # Bob reads the report, learns the id it names, and sends his own object under it.
    assert real["id"] in bob.get(f"/api/v1/reports/{story['id']}").json()["report"]["object_refs"]
    assert bob.share(impostor(real, modified)).status_code == 201

    view = carol.get(f"/api/v1/reports/{story['id']}").json()
    assert [o["name"] for o in view["objects"]] == ["Real"]
    assert carol.get(f"/api/v1/objects/{real['id']}").json()["objects"][0]["name"] == "Real"
    # Bob sees his own copy, and nothing of Alice's.
    assert bob.get(f"/api/v1/objects/{real['id']}").json()["objects"][0]["name"] == "Spoofed"
