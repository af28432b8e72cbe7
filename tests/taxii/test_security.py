"""Nobody learns through TAXII what the policy keeps from them: not in objects, manifests,
versions, counts, date-added headers, `more` flags, collections or status resources. The "may
not" cases come first; each is paired with the member who may."""

from __future__ import annotations

from typing import Any

import pytest

from shieldwall.policy import Role
from tests.factories import STIX_TIME, World, indicator, marked
from tests.taxii.helpers import TAXII, Taxii, create_collection

UNKNOWN = "indicator--00000000-0000-4000-8000-000000000000"

NEWER = "2026-02-01T10:00:00.000Z"


@pytest.fixture
def shared(world: World) -> dict[str, Any]:
    """A shares a community, an org, a group and a RED group object, and one object whose newer
    version is narrowed to org; B is in A's group, C is not; the org object is added last, so
    a date-added header that counted it would show."""
    admin = world.admin()  # first: its member's identity is an object too
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    group = world.group([a, b])
    alice = Taxii(world, world.user(a))
    community = indicator("198.51.100.1", tlp="green", distribution="community")
    grouped = indicator("198.51.100.2", tlp="green", distribution="group", group=group)
    red = indicator("198.51.100.3", tlp="red", distribution="group", group=group)
    narrowed = indicator("198.51.100.4", tlp="green", distribution="community")
    secret = indicator("198.51.100.5", tlp="amber", distribution="org")
    inbox = alice.inbox()
    alice.add(inbox, community, grouped, red, narrowed)
    alice.add(inbox, marked({**narrowed, "modified": NEWER}, tlp="red", distribution="org"))
    alice.add(inbox, secret)
    everything = create_collection(admin)
    return {
        "world": world,
        "alice": alice,
        "inbox": inbox,
        "everything": everything,
        "group": group,
        "group_collection": create_collection(admin, "Group", sharing_group=group),
        "bob": Taxii(world, world.user(b, Role.ANALYST)),
        "carol": Taxii(world, world.user(c, Role.ANALYST)),
        "ids": {
            "community": community["id"],
            "grouped": grouped["id"],
            "red": red["id"],
            "narrowed": narrowed["id"],
            "secret": secret["id"],
        },
    }


def _platform(user: Taxii, collection: str) -> set[str]:
    """The identities the platform writes, which everyone reads."""
    return {i for i in user.ids(collection, **{"match[type]": "identity"})}


def test_a_member_outside_the_group_reads_only_what_reaches_it(shared: dict[str, Any]) -> None:
    carol, ids, everything = shared["carol"], shared["ids"], shared["everything"]
    platform = _platform(carol, everything)
    for endpoint in ("objects", "manifest"):
        for version in ("last", "first", "all"):
            seen = set(carol.ids(everything, endpoint, **{"match[version]": version})) - platform
            assert seen == {ids["community"], ids["narrowed"]}, (endpoint, version)
    # The narrowed object's newer version is RED: carol reads its first version as the last.
    objects = carol.get(
        f"/collections/{everything}/objects/", params={"match[id]": ids["narrowed"]}
    ).json()["objects"]
    assert [o["modified"] for o in objects] == [STIX_TIME]
    versions = carol.get(f"/collections/{everything}/objects/{ids['narrowed']}/versions/")
    assert versions.json() == {"more": False, "versions": ["2026-01-15T10:00:00.000000Z"]}
    for hidden in ("grouped", "red", "secret"):
        for path in ("", "versions/"):
            response = carol.get(f"/collections/{everything}/objects/{ids[hidden]}/{path}")
            unknown = carol.get(f"/collections/{everything}/objects/{UNKNOWN}/{path}")
            assert response.status_code == unknown.status_code == 404
            assert response.json()["title"] == unknown.json()["title"]
        assert (
            carol.get(
                f"/collections/{everything}/objects/", params={"match[id]": ids[hidden]}
            ).content
            == b"{}"
        )


def test_the_group_member_reads_the_group_objects(shared: dict[str, Any]) -> None:
    bob, ids, everything = shared["bob"], shared["ids"], shared["everything"]
    seen = set(bob.ids(everything)) - _platform(bob, everything)
    assert seen == {ids["community"], ids["grouped"], ids["red"], ids["narrowed"]}


def test_counts_more_flags_and_date_added_headers_count_only_what_may_be_seen(
    shared: dict[str, Any],
) -> None:
    carol, alice, everything = shared["carol"], shared["alice"], shared["everything"]
    for endpoint in ("objects", "manifest"):
        visible = carol.get(f"/collections/{everything}/manifest/").json()["objects"]
        pages, query = [], {"limit": 1}
        while True:
            response = carol.get(f"/collections/{everything}/{endpoint}/", params=query)
            page = response.json()
            pages.append(response)
            if not page["more"]:
                break
            query["next"] = page["next"]
        assert len(pages) == len(visible), endpoint  # one visible object a page, no empty page
        last = pages[-1]
        assert last.headers["X-TAXII-Date-Added-Last"] == visible[-1]["date_added"]
        whole = carol.get(f"/collections/{everything}/{endpoint}/")
        assert whole.headers["X-TAXII-Date-Added-Last"] == visible[-1]["date_added"]
    # The secret object was added last: its member sees a later header than carol does.
    mine = alice.get(f"/collections/{everything}/manifest/").json()["objects"]
    assert mine[-1]["id"] == shared["ids"]["secret"]
    assert mine[-1]["date_added"] > visible[-1]["date_added"]
    # added_after just before the secret was added: carol's answer is empty, not a page of one
    # invisible object.
    after = carol.get(
        f"/collections/{everything}/objects/", params={"added_after": visible[-1]["date_added"]}
    )
    assert after.content == b"{}" and "X-TAXII-Date-Added-First" not in after.headers


def test_another_members_inbox_and_a_group_collection_are_not_found(
    shared: dict[str, Any],
) -> None:
    carol, bob, alice = shared["carol"], shared["bob"], shared["alice"]
    inbox, group_collection = shared["inbox"], shared["group_collection"]
    for user in (carol, bob):
        listed = {c["id"] for c in user.get("/collections/").json()["collections"]}
        assert inbox not in listed
        for path in ("", "objects/", "manifest/", f"objects/{shared['ids']['community']}/"):
            assert user.get(f"/collections/{inbox}/{path}").status_code == 404
        assert (
            user.post(f"/collections/{inbox}/objects/", {"objects": [indicator()]}).status_code
            == 404
        )
    assert group_collection not in {
        c["id"] for c in carol.get("/collections/").json()["collections"]
    }
    assert carol.get(f"/collections/{group_collection}/objects/").status_code == 404
    # ...and those who may see them do.
    assert group_collection in {c["id"] for c in bob.get("/collections/").json()["collections"]}
    seen = set(bob.ids(group_collection))
    assert seen == {shared["ids"]["grouped"], shared["ids"]["red"]}
    assert inbox in {c["id"] for c in alice.get("/collections/").json()["collections"]}


def test_status_resources_are_their_members_only(shared: dict[str, Any]) -> None:
    alice, world = shared["alice"], shared["world"]
    status = alice.add(shared["inbox"], indicator("198.51.100.9"))
    colleague = Taxii(world, world.user(alice.user.member_id, Role.READER))
    assert colleague.get(f"/status/{status['id']}/").json()["id"] == status["id"]
    for other in (shared["bob"], shared["carol"]):
        response = other.get(f"/status/{status['id']}/")
        assert response.status_code == 404
        assert response.json()["http_status"] == "404"


def test_only_the_sharing_member_may_delete(shared: dict[str, Any]) -> None:
    alice, bob, carol, world = shared["alice"], shared["bob"], shared["carol"], shared["world"]
    everything, ids = shared["everything"], shared["ids"]
    community = f"/collections/{everything}/objects/{ids['community']}/"
    assert carol.delete(community).status_code == 403  # visible, not hers
    assert bob.delete(f"/collections/{everything}/objects/{ids['grouped']}/").status_code == 403
    assert carol.delete(f"/collections/{everything}/objects/{ids['secret']}/").status_code == 404
    reader = Taxii(world, world.user(alice.user.member_id, Role.READER))
    assert reader.delete(community).status_code == 403
    assert carol.get(community).status_code == 200  # nothing was removed
    response = alice.delete(community)
    assert response.status_code == 200 and response.headers["content-type"] == TAXII
    assert carol.get(community).status_code == 404
