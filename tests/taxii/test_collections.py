"""Admins define collections as saved filters over the store, through the API and the command
line; everyone reads through a collection only what the policy lets them see."""

from __future__ import annotations

import json
from pathlib import Path

from shieldwall.policy import Role
from tests.factories import World, indicator, marked, report
from tests.taxii.helpers import Taxii, create_collection
from tests.test_cli import run


def test_only_admins_define_collections(world: World) -> None:
    for role in (Role.MEMBER_ADMIN, Role.ANALYST, Role.READER):
        user = world.user(world.member(), role)
        response = user.post("/api/v1/taxii/collections", json={"title": "Mine"})
        assert response.status_code == 403
        assert user.get("/api/v1/taxii/collections").status_code == 403
    admin = world.admin()
    for body, status in (
        ({"title": ""}, 422),
        ({"title": "x", "selection": {"max_tlp": "purple"}}, 422),
        ({"title": "x", "selection": {"types": ["Not A Type"]}}, 422),
        ({"title": "x", "selection": {"colour": "red"}}, 422),
        ({"title": "x", "selection": {"min_score": 50}}, 422),
        ({"title": "x", "selection": {"sharing_group": "no-such-group"}}, 404),
    ):
        response = admin.post("/api/v1/taxii/collections", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["message"]
    assert admin.get("/api/v1/taxii/collections").json() == {"collections": []}


def test_a_collection_serves_its_selection_on_top_of_the_policy(world: World) -> None:
    admin = world.admin()
    cert = world.member("CERT", kind="national-cert")
    industry = world.member("Grid Co", kind="industry")
    alice, bob = Taxii(world, world.user(cert)), Taxii(world, world.user(industry))
    green = indicator("198.51.100.1", tlp="green", distribution="community")
    labelled = {**indicator("198.51.100.2", tlp="green"), "labels": ["phishing"]}
    amber = indicator("198.51.100.3", tlp="amber")
    secret = indicator("198.51.100.4", tlp="amber", distribution="org")
    alice.add(alice.inbox(), green, labelled, amber, secret)
    bob.add(bob.inbox(), indicator("198.51.100.5", tlp="green"), report([green["id"]]))
    green_certs = create_collection(admin, "CERT green", types=["indicator"], max_tlp="green",
                                    member_kinds=["national-cert"])  # fmt: skip
    phishing = create_collection(admin, "Phishing", labels=["phishing"])
    assert set(bob.ids(green_certs)) == {green["id"], labelled["id"]}
    assert set(bob.ids(phishing)) == {labelled["id"]}
    assert set(alice.ids(green_certs)) == {green["id"], labelled["id"]}
    listed = admin.get("/api/v1/taxii/collections").json()["collections"]
    assert [c["title"] for c in listed] == ["CERT green", "Phishing"]
    assert listed[0]["selection"]["max_tlp"] == "green"


def test_collections_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT", "--kind", "national-cert", database_url=database_url)
    run("member", "add", "Grid Co", "--kind", "industry", database_url=database_url)
    run("group", "add", "Energy ISAC", "--member", "CERT", "--member", "Grid Co",
        database_url=database_url)  # fmt: skip
    collection_id = run(
        "collection", "add", "Energy indicators", "--type", "indicator", "--type", "malware",
        "--max-tlp", "amber", "--label", "energy", "--group", "Energy ISAC", "--member-kind",
        "national-cert", database_url=database_url,
    ).stdout.strip()  # fmt: skip
    assert len(collection_id) == 36
    listed = json.loads(run("collection", "list", "--json", database_url=database_url).stdout)
    assert listed[0]["id"] == collection_id
    assert listed[0]["selection"] == {
        "types": ["indicator", "malware"], "max_tlp": "amber", "labels": ["energy"],
        "sharing_group": listed[0]["selection"]["sharing_group"],
        "member_kinds": ["national-cert"], "min_score": None, "max_age_days": None,
    }  # fmt: skip
    assert "Energy indicators" in run("collection", "list", database_url=database_url).stdout
    for args, message in (
        (["--group", "Nobody"], "no sharing group named 'Nobody'"),
        (["--max-tlp", "purple"], "purple"),
        (["--member-kind", "pirate"], "unknown member kind"),
        (["--type", "Bad Type"], "not a STIX type"),
    ):
        failed = run("collection", "add", "Bad", *args, database_url=database_url, check=False)
        assert failed.returncode == 1 and message in failed.stderr, (args, failed.stderr)
    assert len(json.loads(run("collection", "list", "--json",
                              database_url=database_url).stdout)) == 1  # fmt: skip


def test_marked_objects_keep_their_marking_through_a_collection(world: World) -> None:
    admin = world.admin()
    alice = Taxii(world, world.user(world.member("A")))
    shared = marked(indicator("198.51.100.9"), tlp="clear", distribution="all")
    alice.add(alice.inbox(), shared)
    everything = create_collection(admin)
    served = alice.get(f"/collections/{everything}/objects/{shared['id']}/").json()["objects"][0]
    assert served["object_marking_refs"] == shared["object_marking_refs"]
    assert served["extensions"] == shared["extensions"] | served["extensions"]
