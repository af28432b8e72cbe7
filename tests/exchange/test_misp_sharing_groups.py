"""MISP distribution 4 (a sharing group) in and out: a MISP sharing group that is one of the
importing member's sharing groups (by uuid, else by name) becomes that group; any other stays
with the member alone. On export our groups go out as MISP sharing groups that pymisp loads, and
nothing goes out wider than it is here.

Negative cases first: a MISP sharing group that is none of ours, and one whose name is a group
the importer is not in, reach nobody else; a group's event reaches none outside the group.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.exchange.test_misp_export import exported
from tests.exchange.test_misp_import import shared
from tests.factories import World

ATTRIBUTE = "a4000000-0000-4000-8000-000000000001"


def grouped_event(group: dict[str, Any], *, tlp: str = "amber") -> dict[str, Any]:
    """A MISP event shared with a sharing group, as MISP exports it (the group inline)."""
    event_uuid = str(uuid.uuid4())
    return {"Event": {
        "uuid": event_uuid, "info": "SYNTHETIC sharing-group event", "date": "2026-03-01",
        "timestamp": "1772323200", "distribution": "4", "sharing_group_id": "7",
        "SharingGroup": {"id": "7", **group}, "threat_level_id": "2", "analysis": "1",
        "Tag": [{"name": f"tlp:{tlp}"}],
        "Attribute": [
            {"uuid": ATTRIBUTE, "type": "ip-dst", "value": "198.51.100.77", "to_ids": True,
             "category": "Network activity", "distribution": "5", "timestamp": "1772323200"},
            {"uuid": str(uuid.uuid4()), "type": "domain", "value": "sg-only.example",
             "to_ids": True, "category": "Network activity", "distribution": "4",
             "sharing_group_id": "7", "timestamp": "1772323200"},
        ],
    }}  # fmt: skip


def test_a_misp_sharing_group_that_is_none_of_ours_reaches_nobody_else(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    world.group([a, b], name="Energy ISAC")
    event = grouped_event({"uuid": str(uuid.uuid4()), "name": "Some MISP community"})
    assert alice.post("/api/v1/imports/misp", json=event).status_code == 201
    assert shared(bob) == []
    (report,) = shared(alice, type="report")
    assert report["x_misp_distribution"] == "4" and report["x_misp_sharing_group"] == "7"
    (out,) = exported(alice)
    assert out["distribution"] == "0" and "SharingGroup" not in out
    assert {a["distribution"] for a in out["Attribute"]} <= {"0", "5"}


def test_a_group_of_that_name_the_importer_is_not_in_is_not_used(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    world.group([b, c], name="Energy ISAC")  # alice is not in it
    event = grouped_event({"uuid": str(uuid.uuid4()), "name": "Energy ISAC"})
    assert alice.post("/api/v1/imports/misp", json=event).status_code == 201
    assert shared(bob) == []


def test_a_misp_sharing_group_of_the_same_name_is_ours(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c)
    group = world.group([a, c], name="Energy ISAC")
    event = grouped_event({"uuid": str(uuid.uuid4()), "name": "Energy ISAC"}, tlp="red")
    response = alice.post("/api/v1/imports/misp", json=event)
    assert response.status_code == 201, response.text
    assert shared(bob) == [] and exported(bob) == []
    objects = shared(carol)
    assert {o.get("x_misp_value") for o in objects} >= {"198.51.100.77", "sg-only.example"}
    ext = next(iter(next(o for o in objects if o["type"] == "report")["extensions"].values()))
    assert ext["distribution"] == "group" and ext["sharing_group"] == group

    (out,) = exported(carol)  # loaded by pymisp
    assert out["distribution"] == "4" and out["SharingGroup"]["uuid"] == group
    assert out["SharingGroup"]["name"] == "Energy ISAC"
    assert {o["Organisation"]["uuid"] for o in out["SharingGroup"]["SharingGroupOrg"]} == {a, c}
    (domain,) = [x for x in out["Attribute"] if x["value"] == "sg-only.example"]
    assert domain["distribution"] == "4" and domain["SharingGroup"]["uuid"] == group

    # Back in, by another member of the group: the uuid names the group, whatever its name.
    again = copy.deepcopy({"Event": out})
    again["Event"]["SharingGroup"]["name"] = "renamed in MISP"
    assert carol.post("/api/v1/imports/misp", json=again).status_code == 201
    carols = shared(carol, type="report")  # alice's and carol's own copy
    assert len(carols) == 2
    for report in carols:
        (theirs,) = report["extensions"].values()
        assert theirs["distribution"] == "group" and theirs["sharing_group"] == group
    assert shared(bob) == []


def test_an_export_is_never_wider_than_what_is_stored(world: World) -> None:
    alice = world.user(world.member())
    event = grouped_event({"uuid": str(uuid.uuid4()), "name": "x"})
    event["Event"].update(distribution="3", sharing_group_id="0")
    del event["Event"]["SharingGroup"]
    event["Event"]["Attribute"][1].update(distribution="3", sharing_group_id="0")
    assert alice.post("/api/v1/imports/misp", json=event).status_code == 201
    (out,) = exported(alice)
    # amber may not go beyond `federation` here: MISP's "all communities" goes out as 2.
    assert out["distribution"] == "2"
    assert {a["value"]: a["distribution"] for a in out["Attribute"]} == {
        "198.51.100.77": "5", "sg-only.example": "2",
    }  # fmt: skip
