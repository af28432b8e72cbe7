"""Who sees what through every read path of the API: the "may NOT see" cases first."""

from __future__ import annotations

import itertools

import pytest

from shieldwall.markings import TLP, Distribution, allows
from shieldwall.members.service import broker_identity
from shieldwall.policy import Role
from tests.factories import ApiUser, World, indicator, report

VALID = [(tlp, d) for tlp, d in itertools.product(TLP, Distribution) if allows(tlp, d)]


@pytest.fixture
def shared(world: World) -> dict:
    """Member A shares one indicator for every allowed TLP x distribution; B is in A's group,
    C is not in it; D is an admin of its own member."""
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    group = world.group([a, b])
    alice = world.user(a)
    stix_objects = {
        (tlp, d): indicator(
            f"203.0.113.{n}",
            tlp=tlp,
            distribution=d,
            group=group if d is Distribution.GROUP else None,
        )
        for n, (tlp, d) in enumerate(VALID)
    }
    response = alice.share(*stix_objects.values())
    assert response.status_code == 201, response.text
    objects = {key: obj["id"] for key, obj in stix_objects.items()}
    return {
        "objects": objects,
        "alice": alice,
        "bob": world.user(b, Role.READER),
        "carol": world.user(c, Role.READER),
        "admin": world.user(world.member(kind="alliance"), Role.ADMIN),
    }


def _expected(viewer: str) -> set[tuple[TLP, Distribution]]:
    if viewer == "alice":
        return set(VALID)
    # An instance admin reads what any member outside the group reads: no org, group or red.
    reach = {
        (t, d)
        for t, d in VALID
        if d in (Distribution.COMMUNITY, Distribution.FEDERATION, Distribution.ALL)
    }
    return reach | (
        {(t, d) for t, d in VALID if d is Distribution.GROUP} if viewer == "bob" else set()
    )


@pytest.mark.parametrize("viewer", ["carol", "bob", "alice", "admin"])
def test_lists_show_exactly_what_the_policy_allows(shared: dict, viewer: str) -> None:
    user: ApiUser = shared[viewer]
    expected = {shared["objects"][k] for k in _expected(viewer)}
    assert user.object_ids() == expected


@pytest.mark.parametrize("viewer", ["carol", "bob", "admin"])
def test_invisible_objects_are_404_exactly_like_unknown_ones(shared: dict, viewer: str) -> None:
    user: ApiUser = shared[viewer]
    unknown = user.get("/api/v1/objects/indicator--00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    for key, object_id in shared["objects"].items():
        response = user.get(f"/api/v1/objects/{object_id}")
        if key in _expected(viewer):
            assert response.status_code == 200
        else:
            assert response.status_code == 404
            assert response.json() == unknown.json()  # not a byte that tells them apart


def test_filters_never_reveal_invisible_objects(shared: dict) -> None:
    carol: ApiUser = shared["carol"]
    red_org = shared["objects"][(TLP.RED, Distribution.ORG)]
    assert carol.object_ids(id=red_org) == set()
    assert carol.object_ids(tlp="red") == set()
    assert carol.object_ids(q="203.0.113") == {shared["objects"][k] for k in _expected("carol")}
    assert carol.object_ids(versions="all") == {shared["objects"][k] for k in _expected("carol")}


def test_anonymous_contribution_shows_the_broker(world: World) -> None:
    industry, other = world.member(kind="industry"), world.member()
    contributor = world.user(industry)
    peer = world.user(other)
    admin = world.user(world.member(kind="alliance"), Role.ADMIN)
    ind = indicator(tlp="green", distribution="community", anonymous=True)
    rep = report([ind["id"]], tlp="green", distribution="community", anonymous=True)
    assert contributor.share(ind, rep).status_code == 201

    seen_by_peer = peer.get(f"/api/v1/objects/{rep['id']}").json()
    assert seen_by_peer["objects"][0]["created_by_ref"] == broker_identity(
        "Shieldwall community broker"
    )
    assert seen_by_peer["contributors"] == {}
    assert industry not in peer.get("/api/v1/objects", params={"type": "indicator,report"}).text

    for knows in (contributor, admin):
        assert knows.get(f"/api/v1/objects/{rep['id']}").json()["contributors"] == {
            rep["id"]: industry
        }
    # The objects of an anonymous report are anonymous too, so they cannot betray it.
    assert peer.get(f"/api/v1/objects/{ind['id']}").json()["objects"][0]["created_by_ref"] == (
        broker_identity("Shieldwall community broker")
    )
